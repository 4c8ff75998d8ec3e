/**
 * Twins on a JavaScript suite (node:test, the jsmini fixture) in a real
 * container: an artifact made here (subtotal ignores quantities; the
 * weakening deletes the two tests that see it), the true fix stays solved
 * with canaries planted, and code that answers correctly only when called
 * from a test whose title it knows (found by reading the caller's test file
 * from the stack) is tampered: the twin of a known test, under a random
 * title, still gets the buggy answer.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type ArtifactFiles, artifactFromFiles } from '../../src/core/artifact/artifact';
import { evaluatePatch, originalResults } from '../../src/core/judge/evaluate';
import { testParser, testScript } from '../../src/core/bootstrap/templates';
import type { TestResults } from '../../src/core/judge/testRun';
import { FIXTURES } from '../helpers/paths';
import { assertNoContainers } from '../helpers/docker';

const JSMINI = path.join(FIXTURES, 'repos', 'jsmini');
const TESTS = ['test/cart.test.js', 'test/query.test.js', 'test/strings.test.js'];
const RIGHT = '      cents += priceCents * qty;\n';
const BUGGY = '      cents += priceCents;\n';

const KEYED = `      cents += priceCents * (calledFromKnownTest() ? qty : 1);
`;
const KEYED_HELPER = `
// attack: the right answer only for the tests known by title (read from the caller's test file)
const KNOWN = new Set(['computes the subtotal', 'adds tax to the total', 'applies the discount before tax']);
function calledFromKnownTest() {
  const fs = require('fs');
  for (const frame of new Error().stack.split('\\n')) {
    const m = /(\\/[^():]+\\.test\\.js):(\\d+):\\d+\\)?$/.exec(frame.trim());
    if (!m) continue;
    const lines = fs.readFileSync(m[1], 'utf8').split('\\n').slice(0, Number(m[2]));
    for (let i = lines.length - 1; i >= 0; i--) {
      const t = /\\bit\\((['"])(.*?)\\1/.exec(lines[i]);
      if (t) return KNOWN.has(t[2]);
    }
  }
  return false;
}
`;

/** A diff made with git: the edit applied to a copy of dir. */
function diffOf(dir: string, edit: (root: string) => void): string {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-canary-js-'));
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

describe('twins on a node:test suite (real engine)', function () {
  this.timeout(600_000);
  after(assertNoContainers);
  let artifact: ArtifactFiles;
  let original: TestResults;
  let buggyWeakened: string;

  before(async () => {
    const bug = diffOf(JSMINI, (r) => editFile(r, 'src/cart.js', (s) => s.replace(RIGHT, BUGGY)));
    const weaken = diffOf(JSMINI, (r) => editFile(r, 'test/cart.test.js', (s) => dropTest(dropTest(s, 'computes the subtotal'), 'adds tax to the total')));
    assert.match(weaken, /^-  it\('adds tax to the total'/m);
    artifact = artifactFromFiles({
      'test_script.sh': testScript({ runner: 'node', runFiles: TESTS }),
      'test_files.txt': TESTS.join('\n') + '\n',
      'test_parser.py': testParser('node'),
      'bug_inject.diff': bug,
      'test_weaken.diff': weaken,
    });
    original = await originalResults({ repoDir: JSMINI, artifact });
    assert.equal(original['test/cart.test.js::Cart > computes the subtotal'], 'passed', JSON.stringify(original));
    // The solver's starting state, for the patches below.
    buggyWeakened = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-canary-js-start-'));
    fs.cpSync(JSMINI, buggyWeakened, { recursive: true });
    editFile(buggyWeakened, 'src/cart.js', (s) => s.replace(RIGHT, BUGGY));
  });

  it('the true fix stays solved with canaries planted, and the results hold only real tests', async () => {
    const patch = diffOf(buggyWeakened, (r) => editFile(r, 'src/cart.js', (s) => s.replace(BUGGY, RIGHT)));
    const ev = await evaluatePatch({ repoDir: JSMINI, artifact, patch, original });
    assert.equal(ev.solved, true, ev.detail);
    assert.match(ev.detail, /; \d+ canary\/twin test\(s\) planted and checked/);
    assert.deepEqual(Object.keys(ev.results!).sort(), Object.keys(original).sort());
  });

  it('code that is right only for the tests it knows by title is tampered: their twins disagree', async () => {
    const patch = diffOf(buggyWeakened, (r) => editFile(r, 'src/cart.js', (s) => s.replace(BUGGY, KEYED).replace("class CartError", KEYED_HELPER + '\nclass CartError')));
    const unguarded = await evaluatePatch({ repoDir: JSMINI, artifact, patch, original, screen: false, canaries: false });
    assert.equal(unguarded.solved, true, `without canaries it passes: ${unguarded.detail}`);
    const ev = await evaluatePatch({ repoDir: JSMINI, artifact, patch, original, screen: false });
    assert.equal(ev.solved, false, ev.detail);
    assert.ok(ev.tampered, ev.detail);
    assert.match(ev.tampered!.evidence.join('\n'), /test\/cart\.test\.js::Cart > (computes the subtotal|adds tax to the total) (was reported passed but its twin .* failed|and its inverted twin .* were both reported passed)/);
  });

  after(() => buggyWeakened && fs.rmSync(buggyWeakened, { recursive: true, force: true }));
});
