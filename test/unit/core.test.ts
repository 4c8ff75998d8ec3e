import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  artifactFromFiles,
  artifactId,
  changedFiles,
  loadArtifact,
  parseDiff,
  readArtifact,
  structuralProblems,
  unsafePathReason,
  writeArtifact,
} from '../../src/core/artifact/artifact';
import { injectorReward, solveRate, solverReward } from '../../src/core/judge/rewards';
import { parseParserOutput } from '../../src/core/judge/testRun';
import { joinCapped } from '../../src/core/sandbox';
import { patchProblem } from '../../src/core/judge/evaluate';

const DIFF = `diff --git a/pkg/a.py b/pkg/a.py
index 1111111..2222222 100644
--- a/pkg/a.py
+++ b/pkg/a.py
@@ -1,3 +1,3 @@
 def f():
-    return 1
+    return 0
 x = 1
diff --git a/pkg/new.py b/pkg/new.py
new file mode 100644
--- /dev/null
+++ b/pkg/new.py
@@ -0,0 +1 @@
+y = 2
diff --git a/old.py b/old.py
deleted file mode 100644
--- a/old.py
+++ /dev/null
@@ -1 +0,0 @@
-z = 3
`;

describe('artifact', () => {
  it('parses git diffs: modified, added and deleted files', () => {
    const d = parseDiff(DIFF);
    assert.equal(d.error, undefined);
    assert.deepEqual(changedFiles(d).sort(), ['old.py', 'pkg/a.py', 'pkg/new.py']);
  });

  it('counts git headers without hunks (renames, mode changes)', () => {
    const d = parseDiff('diff --git a/x.sh b/x.sh\nold mode 100644\nnew mode 100755\n');
    assert.deepEqual(changedFiles(d), ['x.sh']);
  });

  it('rejects text that is not a diff, and an empty diff where one is required', () => {
    assert.match(parseDiff('hello, I fixed it').error ?? '', /not a unified diff/);
    const a = artifactFromFiles({ 'test_script.sh': 'pytest', 'test_files.txt': 'tests/t.py', 'test_parser.py': 'x', 'bug_inject.diff': '', 'test_weaken.diff': DIFF });
    assert.ok(structuralProblems(a).some((p) => p.file === 'bug_inject.diff' && /empty/.test(p.message)));
  });

  it('refuses absolute paths, .. and .git', () => {
    assert.match(unsafePathReason('/etc/passwd')!, /absolute/);
    assert.match(unsafePathReason('a/../../b')!, /leaves the repository/);
    assert.match(unsafePathReason('.git/config')!, /inside .git/);
    assert.equal(unsafePathReason('src/a.py'), undefined);
    const esc = DIFF.replace(/pkg\/a\.py/g, '../outside.py');
    const a = artifactFromFiles({ 'test_script.sh': 's', 'test_files.txt': 't.py', 'test_parser.py': 'p', 'bug_inject.diff': esc, 'test_weaken.diff': DIFF });
    assert.ok(structuralProblems(a).some((p) => p.file === 'bug_inject.diff' && /leaves the repository/.test(p.message)));
  });

  it('round-trips through a folder and reports missing files instead of crashing', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-art-'));
    const a = artifactFromFiles(
      { 'test_script.sh': '#!/bin/bash\npytest\n', 'test_files.txt': '# comment\n./tests/a.py\ntests/b.py\n', 'test_parser.py': 'print("{}")\n', 'bug_inject.diff': DIFF, 'test_weaken.diff': '' },
      { order: 1, source: 'unit' },
    );
    assert.deepEqual(a.testFiles, ['tests/a.py', 'tests/b.py']);
    await writeArtifact(dir, a);
    const back = await readArtifact(dir);
    assert.deepEqual(back, a);
    assert.equal(artifactId(back), artifactId(a));
    assert.equal(fs.statSync(path.join(dir, 'test_script.sh')).mode & 0o111, 0o111);
    fs.rmSync(path.join(dir, 'test_parser.py'));
    const { problems } = await loadArtifact(dir);
    assert.deepEqual(problems, [{ file: 'test_parser.py', message: 'test_parser.py is missing from the artifact' }]);
    await assert.rejects(readArtifact(dir), /test_parser.py is missing/);
    await assert.rejects(loadArtifact(path.join(dir, 'nope')), /does not exist/);
    fs.rmSync(dir, { recursive: true });
  });

  it('changes the id when any file changes', () => {
    const base = { 'test_script.sh': 's', 'test_files.txt': 't.py', 'test_parser.py': 'p', 'bug_inject.diff': DIFF, 'test_weaken.diff': '' };
    assert.notEqual(artifactId(artifactFromFiles(base)), artifactId(artifactFromFiles({ ...base, 'test_parser.py': 'q' })));
  });
});

describe('predicted patches', () => {
  it('accepts a diff and says why anything else is not a patch', () => {
    assert.equal(patchProblem(DIFF), undefined);
    assert.match(patchProblem('')!, /empty/);
    assert.match(patchProblem('I think the bug is in a.py')!, /not a unified diff/);
    assert.match(patchProblem(DIFF.replace(/pkg\/a\.py/g, '.git/hooks/pre-commit'))!, /inside .git/);
  });
});

describe('rewards (the paper\'s formulas)', () => {
  it('solver: +1 / -1', () => {
    assert.equal(solverReward(true), 1);
    assert.equal(solverReward(false), -1);
  });
  it('injector: -1 invalid, -alpha at s = 0 or 1, 1 - (1 + alpha) s otherwise', () => {
    assert.equal(injectorReward(false), -1);
    assert.equal(injectorReward(true, 0), -0.8);
    assert.equal(injectorReward(true, 1), -0.8);
    assert.ok(Math.abs(injectorReward(true, 0.25) - (1 - 1.8 * 0.25)) < 1e-12);
    assert.ok(Math.abs(injectorReward(true, 0.5) - 0.1) < 1e-12);
    assert.ok(Math.abs(injectorReward(true, 0.125, 0.5) - (1 - 1.5 * 0.125)) < 1e-12);
    assert.throws(() => injectorReward(true), /solve rate/);
    assert.throws(() => injectorReward(true, 1.5), /outside/);
  });
  it('solve rate of a group', () => {
    assert.equal(solveRate([true, false, false, true]), 0.5);
    assert.ok(Number.isNaN(solveRate([])));
  });
});

describe('parser output', () => {
  it('takes one JSON object of passed/failed', () => {
    assert.deepEqual(parseParserOutput('{"a": "passed", "b": "failed"}\n').results, { a: 'passed', b: 'failed' });
  });
  it('tolerates chatter before the object', () => {
    assert.deepEqual(parseParserOutput('warming up\n{"a": "passed"}\n').results, { a: 'passed' });
  });
  it('says what is wrong otherwise', () => {
    assert.match(parseParserOutput('').error!, /printed nothing/);
    assert.match(parseParserOutput('not json').error!, /did not print a JSON object/);
    assert.match(parseParserOutput('[1,2]').error!, /not an object/);
    assert.match(parseParserOutput('{"a": "skipped"}').error!, /other than "passed"\/"failed".*"a": "skipped"/);
  });
});

describe('output capping', () => {
  it('keeps head and tail and says how much was cut', () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    assert.deepEqual(joinCapped(b64('abc'), b64(''), 3), { text: 'abc', truncated: false });
    const j = joinCapped(b64('head'), b64('tail'), 1000);
    assert.equal(j.truncated, true);
    assert.match(j.text, /^head\n\[\.\.\. 992 bytes of output cut by SSR \.\.\.\]\ntail$/);
  });
});
