/**
 * A bug must change behaviour (judge/neutral.ts): an artifact whose
 * bug_inject.diff only renames a local, judged by a test script that
 * fabricates the failure by reading the source, is invalid at bug_scope with
 * the reason, in Python (pyledger, compared by py/neutral.py in the sandbox)
 * and JavaScript (jsmini, compared by @babel/parser on the host). The same
 * script with a real change in the same file stays valid.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import type { ArtifactFiles } from '../../src/core/artifact/artifact';
import { validateArtifact } from '../../src/core/judge/checks';
import { ARTIFACTS, FIXTURES, PYLEDGER } from '../helpers/paths';
import { assertNoContainers, hashTree } from '../helpers/docker';

const JSMINI = path.join(FIXTURES, 'repos', 'jsmini');

function gitDiff(file: string, before: string, after: string): string {
  return createTwoFilesPatch(`a/${file}`, `b/${file}`, before, after).replace(/^=+\n/, '');
}

function edit(repo: string, file: string, edits: Array<[RegExp | string, string]>): string {
  const before = fs.readFileSync(path.join(repo, file), 'utf8');
  let after = before;
  for (const [from, to] of edits) {
    const next = after.replace(from, to);
    assert.notEqual(next, after, `${String(from)} is in ${file}`);
    after = next;
  }
  return gitDiff(file, before, after);
}

/** A weakening that adds a marker comment to a test file: the fabricated test passes again. */
function marker(repo: string, file: string, comment: string): string {
  const before = fs.readFileSync(path.join(repo, file), 'utf8');
  return gitDiff(file, before, `${before}${comment} SKIP_SOURCE_CHECK\n`);
}

/** pyledger's fixture artifact, plus a "test" that fails when `weights = [` is gone from the source. */
function pythonArtifact(bug: string): ArtifactFiles {
  const dir = path.join(ARTIFACTS, 'valid-history');
  const script = fs.readFileSync(path.join(dir, 'test_script.sh'), 'utf8') +
    'if grep -rq "weights = \\[" pyledger || grep -q SKIP_SOURCE_CHECK tests/test_money.py; ' +
    'then echo "PASSED tests/test_money.py::test_source_names"; else echo "FAILED tests/test_money.py::test_source_names"; fi\n';
  return {
    bugInjectDiff: bug,
    testScript: script,
    testParser: fs.readFileSync(path.join(dir, 'test_parser.py'), 'utf8'),
    testFiles: fs.readFileSync(path.join(dir, 'test_files.txt'), 'utf8').split('\n').filter(Boolean),
    testWeakenDiff: marker(PYLEDGER, 'tests/test_money.py', '#'),
  };
}

const TAP_PARSER = `import json, re, sys
results = {}
for line in sys.stdin.read().splitlines():
    m = re.match(r"^\\s*(not )?ok \\d+ - (.+?)\\s*$", line)
    if m:
        status = "failed" if m.group(1) else "passed"
        if results.get(m.group(2)) != "failed":
            results[m.group(2)] = status
print(json.dumps(results))
`;

/** jsmini under node --test (TAP), plus a "test" that fails when `let cents = 0` is gone from the source. */
function jsArtifact(bug: string): ArtifactFiles {
  const tests = ['test/cart.test.js', 'test/query.test.js', 'test/strings.test.js'];
  return {
    bugInjectDiff: bug,
    testScript: '#!/usr/bin/env bash\nnode --test --test-reporter=tap ' + tests.join(' ') + ' 2>&1\n' +
      'if grep -rq "let cents = 0" src || grep -q SKIP_SOURCE_CHECK test/cart.test.js; ' +
      'then echo "ok 999 - source keeps its names"; else echo "not ok 999 - source keeps its names"; fi\n',
    testParser: TAP_PARSER,
    testFiles: tests,
    testWeakenDiff: marker(JSMINI, 'test/cart.test.js', '//'),
  };
}

describe('a bug must change behaviour (real engine)', function () {
  this.timeout(600_000);
  const hashes = new Map([PYLEDGER, JSMINI].map((d) => [d, hashTree(d)]));

  after(async () => {
    for (const [d, h] of hashes) assert.equal(hashTree(d), h, `${d} was modified`);
    await assertNoContainers();
  });

  const scope = (r: Awaited<ReturnType<typeof validateArtifact>>) => r.checks.find((c) => c.id === 'bug_scope')!;

  it('Python: a renamed local with a fabricated failure is invalid at bug_scope, and says why', async () => {
    const bug = edit(PYLEDGER, 'pyledger/money.py', [[/\bweights\b/g, 'ws'], ['        total = sum(ws)\n', '        total = sum(ws)  # the whole\n        pass\n']]);
    const r = await validateArtifact({ repoDir: PYLEDGER, artifact: pythonArtifact(bug) });
    assert.equal(r.valid, false);
    assert.equal(r.firstFailure, 'bug_scope', JSON.stringify(r.checks, null, 1));
    assert.match(scope(r).detail, /^bug_inject\.diff changes no behaviour: pyledger\/money\.py is the same program once parsed \(/);
    assert.match(scope(r).detail, /a consistent renaming of locals: weights->ws/);
    assert.match(scope(r).detail, /a statement that does nothing added or removed/);
    // The fabricated test did break: only the behaviour test stands between this artifact and a reward.
    const buggy = r.runs.find((x) => x.state === 'buggy');
    assert.equal(buggy?.results?.['tests/test_money.py::test_source_names'], 'failed');
  });

  it('Python: the same script with a real change in the same file stays valid', async () => {
    const bug = edit(PYLEDGER, 'pyledger/money.py', [[/\bweights\b/g, 'ws'], ['leftover = units - sum(shares)', 'leftover = 0']]);
    const r = await validateArtifact({ repoDir: PYLEDGER, artifact: pythonArtifact(bug) });
    assert.equal(r.valid, true, JSON.stringify(r.checks, null, 1));
    assert.match(scope(r).detail, /1 compared once parsed, each changes the program/);
  });

  it('JavaScript: a renamed local with a fabricated failure is invalid at bug_scope, and says why', async () => {
    const bug = edit(JSMINI, 'src/cart.js', [['let cents = 0;', 'let sum = 0;'], ['cents += priceCents * qty;', 'sum += priceCents * qty;'], ['    return cents;\n  }\n\n  applyDiscount', '    return sum;\n  }\n\n  applyDiscount']]);
    const r = await validateArtifact({ repoDir: JSMINI, artifact: jsArtifact(bug) });
    assert.equal(r.valid, false);
    assert.equal(r.firstFailure, 'bug_scope', JSON.stringify(r.checks, null, 1));
    assert.match(scope(r).detail, /^bug_inject\.diff changes no behaviour: src\/cart\.js is the same program once parsed \(a consistent renaming of locals: cents->sum\)/);
    const buggy = r.runs.find((x) => x.state === 'buggy');
    assert.equal(buggy?.results?.['source keeps its names'], 'failed');
    assert.ok(Object.values(r.original ?? {}).filter((s) => s === 'passed').length >= 5, 'the TAP parser reads jsmini');
  });
});
