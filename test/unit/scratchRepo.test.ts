/**
 * Model-written diffs are never applied outside a private scratch folder:
 * hostile diffs (absolute paths, .., .git/, symbolic links, renames out of
 * the tree) are refused, and nothing outside the scratch folder changes.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hostileDiffReason, withScratchRepo } from '../../src/core/judge/scratchRepo';
import { buildHigherOrder } from '../../src/core/selfplay/higherOrder';
import { reversedDiffs } from '../../src/core/report/export';
import type { ArtifactFiles } from '../../src/core/artifact/artifact';
import { hashTree } from '../helpers/docker';

const CODE = 'def f():\n    return 1\n';
const TEST = 'from m import f\n\ndef test_f():\n    assert f() == 1\n\ndef test_g():\n    assert True\n';

const BUG = `diff --git a/m.py b/m.py
--- a/m.py
+++ b/m.py
@@ -1,2 +1,2 @@
 def f():
-    return 1
+    return 2
`;
const WEAKEN = `diff --git a/test_m.py b/test_m.py
--- a/test_m.py
+++ b/test_m.py
@@ -1,7 +1,4 @@
 from m import f
 
-def test_f():
-    assert f() == 1
-
 def test_g():
     assert True
`;

function newFile(p: string, body = 'owned\n'): string {
  return `diff --git a/${p} b/${p}
new file mode 100644
--- /dev/null
+++ b/${p}
@@ -0,0 +1 @@
+${body.trimEnd()}
`;
}

/** Hostile diffs, each with what it tries. */
function hostile(victim: string): Array<[string, string]> {
  return [
    ['an absolute path', `--- /dev/null\n+++ ${victim}/abs.txt\n@@ -0,0 +1 @@\n+owned\n`],
    ['an absolute path in a git header', `diff --git ${victim}/x ${victim}/x\nnew file mode 100644\n--- /dev/null\n+++ ${victim}/x\n@@ -0,0 +1 @@\n+owned\n`],
    ['.. out of the tree', newFile(`../../../../../../..${victim}/dotdot.txt`)],
    ['.. in the middle', newFile(`pkg/../../escape.txt`)],
    ['a git hook', newFile('.git/hooks/post-commit', '#!/bin/sh\\ntouch /tmp/ssr-owned')],
    ['a nested .git', newFile('sub/.git/config')],
    ['a rename out of the tree', `diff --git a/m.py b/m.py\nsimilarity index 100%\nrename from m.py\nrename to ../../../../../..${victim}/renamed.py\n`],
    ['a quoted path with ..', `diff --git "a/x" "b/../../esc\\t.txt"\nnew file mode 100644\n--- /dev/null\n+++ "b/../../esc\\t.txt"\n@@ -0,0 +1 @@\n+owned\n`],
    [
      'a symbolic link, then a write through it',
      `diff --git a/link b/link\nnew file mode 120000\n--- /dev/null\n+++ b/link\n@@ -0,0 +1 @@\n+${victim}\n\\ No newline at end of file\n` + newFile('link/through.txt'),
    ],
    ['a symbolic link made by a mode change', `diff --git a/m.py b/m.py\nold mode 100644\nnew mode 120000\n`],
  ];
}

describe('model-written diffs on the host (scratchRepo.ts, higherOrder.ts, export.ts)', () => {
  let root: string;
  let repo: string;
  let victim: string;
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-hostile-'));
    repo = path.join(root, 'repo');
    victim = path.join(root, 'victim');
    fs.mkdirSync(repo);
    fs.mkdirSync(victim);
    fs.writeFileSync(path.join(repo, 'm.py'), CODE);
    fs.writeFileSync(path.join(repo, 'test_m.py'), TEST);
    fs.writeFileSync(path.join(victim, 'keep.txt'), 'untouched\n');
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('refuses every hostile diff before git sees it', () => {
    for (const [what, diff] of hostile(victim)) {
      assert.ok(hostileDiffReason(diff), `${what} must be refused`);
    }
    assert.equal(hostileDiffReason(BUG), undefined);
    assert.equal(hostileDiffReason(WEAKEN), undefined);
  });

  it('applying them changes nothing outside the scratch folder, and leaves no scratch folder behind', async () => {
    const before = [hashTree(repo), hashTree(victim)];
    const tmpBefore = new Set(fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('ssr-scratch-')));
    for (const [what, diff] of hostile(victim)) {
      await withScratchRepo(repo, async (s) => {
        await assert.rejects(s.apply(diff, 'patch'), /refused/, what);
        // The scratch tree is a private folder made by mkdtemp.
        assert.equal(fs.statSync(path.dirname(s.tree)).mode & 0o077, 0, 'only the owner can enter the scratch folder');
      });
    }
    assert.deepEqual([hashTree(repo), hashTree(victim)], before);
    assert.ok(!fs.existsSync('/tmp/ssr-owned'));
    const tmpAfter = fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('ssr-scratch-') && !tmpBefore.has(n));
    assert.deepEqual(tmpAfter, [], 'scratch folders are removed');
  });

  it('refuses a write through a symbolic link that the repository itself holds', async () => {
    fs.symlinkSync(victim, path.join(repo, 'data'));
    try {
      const before = hashTree(victim);
      await withScratchRepo(repo, async (s) => {
        await assert.rejects(s.apply(newFile('data/planted.txt'), 'patch'), /symbolic link data/);
      });
      assert.equal(hashTree(victim), before);
      assert.ok(!fs.existsSync(path.join(victim, 'planted.txt')));
    } finally {
      fs.rmSync(path.join(repo, 'data'));
    }
  });

  it('higher-order bugs and the export refuse hostile diffs and still work on honest ones', async () => {
    const artifact: ArtifactFiles = { testScript: 'pytest\n', testParser: 'print("{}")\n', testFiles: ['test_m.py'], bugInjectDiff: BUG, testWeakenDiff: WEAKEN };
    const before = [hashTree(repo), hashTree(victim)];
    for (const [what, diff] of hostile(victim)) {
      await assert.rejects(
        buildHigherOrder({ repoDir: repo, artifact, patch: diff, evaluation: { solved: false, applied: true } }),
        (err: Error) => /refused|touches|not a|leaves|absolute|\.git/.test(err.message),
        what,
      );
      await assert.rejects(reversedDiffs(repo, { ...artifact, bugInjectDiff: diff }), /refused/, what);
    }
    assert.deepEqual([hashTree(repo), hashTree(victim)], before);
    const partial = `diff --git a/m.py b/m.py
--- a/m.py
+++ b/m.py
@@ -1,2 +1,3 @@
 def f():
+    x = 0
     return 2
`;
    const ho = await buildHigherOrder({ repoDir: repo, artifact, patch: partial, evaluation: { solved: false, applied: true } });
    assert.match(ho.bugInjectDiff, /\+    x = 0/);
    assert.match(ho.bugInjectDiff, /\+    return 2/);
    assert.equal(ho.meta?.order, 2);
    const { patch, testPatch } = await reversedDiffs(repo, artifact);
    assert.match(patch, /-    return 2\n\+    return 1/);
    assert.match(testPatch, /\+def test_f\(\):/);
  });
});
