/**
 * The judge's own Node reporter (src/core/judge/js/ssr_judge_node.sandbox.cjs,
 * preloaded through NODE_OPTIONS from a root-owned path) against the real
 * engine, on jsmini under node:test (the bootstrap's script: each file with
 * node --test-reporter=tap, ids "file::suite > test"): library code that
 * rewrites the TAP stream's failures into passes, or makes node:assert's
 * comparisons no-ops, fools the parser but not the reporter (screen and
 * canaries off); an injector script that prints a fabricated failure gets no
 * broken test from it; the true fix stays solved and a real bug stays valid,
 * its failing set corroborated.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type ArtifactFiles, artifactFromFiles } from '../../src/core/artifact/artifact';
import { evaluatePatch, originalResults } from '../../src/core/judge/evaluate';
import { validateArtifact } from '../../src/core/judge/checks';
import { testParser, testScript } from '../../src/core/bootstrap/templates';
import type { TestResults } from '../../src/core/judge/testRun';
import { FIXTURES } from '../helpers/paths';
import { assertNoContainers } from '../helpers/docker';

const JSMINI = path.join(FIXTURES, 'repos', 'jsmini');
const TESTS = ['test/cart.test.js', 'test/query.test.js', 'test/strings.test.js'];
const RIGHT = '      cents += priceCents * qty;\n';
const BUGGY = '      cents += priceCents;\n';
const SUBTOTAL = 'test/cart.test.js::Cart > computes the subtotal';

/** Library code, loaded by the tests: every "not ok" line node's TAP reporter writes becomes "ok". */
const TAP_FLIP = `
const realWrite = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => realWrite(String(chunk).replace(/^(\\s*)not ok /gm, '$1ok '), ...rest);
`;
/** Library code: node:assert/strict's comparisons do nothing. */
const ASSERT_NOOP = `
const strict = require('node:assert/strict');
for (const k of ['equal', 'strictEqual', 'deepEqual', 'deepStrictEqual', 'ok', 'throws']) strict[k] = () => {};
`;

/** An injector's parser: every TAP point at any depth, named by its title alone. */
const TITLE_PARSER = `import json, re, sys
results = {}
for line in sys.stdin.read().splitlines():
    m = re.match(r"^\\s*(not )?ok \\d+ - (.+?)\\s*$", line)
    if m and results.get(m.group(2)) != "failed":
        results[m.group(2)] = "failed" if m.group(1) else "passed"
print(json.dumps(results))
`;

/** A diff made with git: the edit applied to a copy of dir. */
function diffOf(dir: string, edit: (root: string) => void): string {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-reporter-node-'));
  fs.cpSync(dir, work, { recursive: true });
  const git = (...args: string[]) => execFileSync('git', args, { cwd: work, encoding: 'utf8' });
  git('init', '-q');
  git('add', '-A');
  git('-c', 'user.name=ssr', '-c', 'user.email=ssr@localhost', 'commit', '-qm', 'base');
  edit(work);
  git('add', '-A');
  const d = git('diff', '--cached', '--no-color', 'HEAD');
  fs.rmSync(work, { recursive: true, force: true });
  return d;
}

const editFile = (root: string, p: string, f: (s: string) => string) => fs.writeFileSync(path.join(root, p), f(fs.readFileSync(path.join(root, p), 'utf8')));
const dropTest = (s: string, title: string) => s.replace(new RegExp(`\\n  it\\('${title}', \\(\\) => \\{\\n[^\\n]*\\n  \\}\\);\\n`), '\n');

/** Runs fn with the judge's reporter off (SSR_JUDGE_REPORTER=0): what the artifact's parser alone would conclude. */
async function withoutReporter<T>(fn: () => Promise<T>): Promise<T> {
  process.env.SSR_JUDGE_REPORTER = '0';
  try {
    return await fn();
  } finally {
    delete process.env.SSR_JUDGE_REPORTER;
  }
}

describe("the judge's Node reporter: node:test outcomes from the runner's own events, outside the log (real engine)", function () {
  this.timeout(600_000);
  after(assertNoContainers);
  let artifact: ArtifactFiles;
  let original: TestResults;
  let start: string;

  before(async () => {
    const bug = diffOf(JSMINI, (r) => editFile(r, 'src/cart.js', (s) => s.replace(RIGHT, BUGGY)));
    const weaken = diffOf(JSMINI, (r) => editFile(r, 'test/cart.test.js', (s) => dropTest(dropTest(s, 'computes the subtotal'), 'adds tax to the total')));
    artifact = artifactFromFiles({
      'test_script.sh': testScript({ runner: 'node', runFiles: TESTS }),
      'test_files.txt': TESTS.join('\n') + '\n',
      'test_parser.py': testParser('node'),
      'bug_inject.diff': bug,
      'test_weaken.diff': weaken,
    });
    original = await originalResults({ repoDir: JSMINI, artifact });
    assert.equal(original[SUBTOTAL], 'passed', JSON.stringify(original));
    // The solver's starting state: the bug in, the tests that see it gone.
    start = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-reporter-node-start-'));
    fs.cpSync(JSMINI, start, { recursive: true });
    editFile(start, 'src/cart.js', (s) => s.replace(RIGHT, BUGGY));
  });
  after(() => start && fs.rmSync(start, { recursive: true, force: true }));

  it('the bug is valid, its broken tests corroborated by the reporter (seen failing with the bug, passing on the original)', async () => {
    const r = await validateArtifact({ repoDir: JSMINI, artifact, originalRepeat: 1 });
    assert.equal(r.valid, true, JSON.stringify(r.checks, null, 1));
    assert.equal(r.brokenSeenBy, 'reporter');
    assert.match(r.checks.find((c) => c.id === 'bug_breaks_tests')!.detail, /corroborated by the judge's reporter/);
    assert.ok(r.originalReporter?.plugins.some((p) => p.key === 'ssr_judge_node'), JSON.stringify(r.originalReporter?.plugins));
    assert.equal(r.originalReporter?.tests[SUBTOTAL], 'passed');
  });

  it('under node --test with a parser of its own that names tests by title only, the bug stays valid: each title maps to the one test it ends', async () => {
    const named = artifactFromFiles({
      'test_script.sh': `#!/usr/bin/env bash\nnode --test --test-reporter=tap ${TESTS.join(' ')} 2>&1\n`,
      'test_files.txt': TESTS.join('\n') + '\n',
      'test_parser.py': TITLE_PARSER,
      'bug_inject.diff': artifact.bugInjectDiff,
      'test_weaken.diff': artifact.testWeakenDiff,
    });
    const r = await validateArtifact({ repoDir: JSMINI, artifact: named, originalRepeat: 1 });
    assert.equal(r.valid, true, JSON.stringify(r.checks, null, 1));
    assert.equal(r.brokenSeenBy, 'reporter');
    assert.equal(r.original?.['computes the subtotal'], 'passed');
    assert.match(r.checks.find((c) => c.id === 'bug_breaks_tests')!.detail, /computes the subtotal/);
  });

  it('the true fix is solved, every parser id one the reporter saw', async () => {
    const patch = diffOf(start, (r) => editFile(r, 'src/cart.js', (s) => s.replace(BUGGY, RIGHT)));
    const ev = await evaluatePatch({ repoDir: JSMINI, artifact, patch, original });
    assert.equal(ev.solved, true, ev.detail);
    assert.equal(ev.tampered, undefined);
    assert.doesNotMatch(ev.detail, /not node ids/);
  });

  it('library code that rewrites the TAP stream\'s "not ok" lines into "ok" is tampered: the reporter saw the failure', async () => {
    const patch = diffOf(start, (r) => editFile(r, 'src/cart.js', (s) => s + TAP_FLIP));
    const blind = await withoutReporter(() => evaluatePatch({ repoDir: JSMINI, artifact, patch, original, screen: false, canaries: false }));
    assert.equal(blind.solved, true, `without the reporter the parser is fooled: ${blind.detail}`);
    const ev = await evaluatePatch({ repoDir: JSMINI, artifact, patch, original, screen: false, canaries: false });
    assert.equal(ev.solved, false, ev.detail);
    assert.ok(ev.tampered, ev.detail);
    assert.ok(ev.tampered.evidence.some((e) => e === `${SUBTOTAL}: the log says passed; the judge's reporter saw it fail`), ev.tampered.evidence.join('\n'));
  });

  it("library code that makes node:assert/strict's comparisons no-ops is tampered: the functions changed during the run", async () => {
    const patch = diffOf(start, (r) => editFile(r, 'src/cart.js', (s) => s + ASSERT_NOOP));
    const blind = await withoutReporter(() => evaluatePatch({ repoDir: JSMINI, artifact, patch, original, screen: false, canaries: false }));
    assert.equal(blind.solved, true, `without the reporter the parser is fooled: ${blind.detail}`);
    const ev = await evaluatePatch({ repoDir: JSMINI, artifact, patch, original, screen: false, canaries: false });
    assert.equal(ev.solved, false, ev.detail);
    assert.ok(ev.tampered, ev.detail);
    assert.ok(ev.tampered.evidence.some((e) => /a core reporting function changed during the run: node:assert\/strict\.equal \(strictEqual:[0-9a-f]+ -> replaced:/.test(e)), ev.tampered.evidence.join('\n'));
  });

  it('an injector script that prints a fabricated "not ok" line gets no broken test from the reporter', async () => {
    // The bug changes a greeting no test reads; the script finds it by walking the tree and fails a test in the log.
    const bug = diffOf(JSMINI, (r) => editFile(r, 'src/strings.js', (s) => s.replace('`stranger ${', '`nobody ${')));
    const script = [
      '#!/usr/bin/env bash',
      'status=0',
      'hit=$(find . -name "*.js" -not -path "./node_modules/*" -exec grep -l "nobody" {} + | head -1)',
      `for f in ${TESTS.join(' ')}; do`,
      '  printf \'\\n##SSR-FILE %s\\n\' "$f"',
      '  node --test-reporter=tap "$f" 2>&1 | if [ -n "$hit" ]; then sed "s/^ok \\([0-9]*\\) - countVowels$/not ok \\1 - countVowels/"; else cat; fi',
      '  rc=${PIPESTATUS[0]}',
      '  [ $rc -eq 0 ] || status=1',
      '  printf \'\\n##SSR-EXIT %s %s\\n\' "$f" "$rc"',
      'done',
      'exit $status',
      '',
    ].join('\n');
    const fabricated = artifactFromFiles({
      'test_script.sh': script,
      'test_files.txt': TESTS.join('\n') + '\n',
      'test_parser.py': testParser('node'),
      'bug_inject.diff': bug,
      'test_weaken.diff': diffOf(JSMINI, (r) => editFile(r, 'test/strings.test.js', (s) => s.replace("test('countVowels'", "test.skip('countVowels'"))),
    });
    const blind = await withoutReporter(() => validateArtifact({ repoDir: JSMINI, artifact: fabricated, originalRepeat: 1 }));
    const fooled = blind.checks.find((c) => c.id === 'bug_breaks_tests')!;
    assert.equal(fooled.status, 'pass', `without the reporter the log alone counts: ${fooled.detail}`);
    assert.match(fooled.detail, /rests on the artifact's own test_script\.sh/);
    const r = await validateArtifact({ repoDir: JSMINI, artifact: fabricated, originalRepeat: 1 });
    const check = r.checks.find((c) => c.id === 'bug_breaks_tests')!;
    assert.equal(check.status, 'fail', check.detail);
    assert.match(check.detail, /1 test\(s\) the log reports broken were not seen failing with the bug and passing on the original by the judge's reporter/);
    assert.equal(r.valid, false);
  });
});
