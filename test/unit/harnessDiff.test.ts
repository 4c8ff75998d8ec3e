import * as assert from 'node:assert/strict';
import { addedOrChanged, codeLoadingChanges, codeLoadingReason, harnessDiffTampering } from '../../src/core/judge/harnessDiff';
import { binaryHunks } from '../../src/core/artifact/binaryHunks';
import { binaryPatchProblem, looksBinary } from '../../src/core/judge/binaryPatch';
import { structuralProblems, type ArtifactFiles } from '../../src/core/artifact/artifact';
import { tamperFindings } from '../../src/core/judge/harness';
import { patchProblem } from '../../src/core/judge/evaluate';
import { unquoteGitPath, writtenPaths } from '../../src/core/artifact/gitPaths';

/** A git diff that adds one text file. */
const addText = (p: string, body: string) =>
  `diff --git a/${p} b/${p}\nnew file mode 100644\nindex 0000000..1111111\n--- /dev/null\n+++ b/${p}\n@@ -0,0 +1 @@\n+${body}\n`;
const changeText = (p: string) => `diff --git a/${p} b/${p}\nindex 1111111..2222222 100644\n--- a/${p}\n+++ b/${p}\n@@ -1 +1 @@\n-a\n+b\n`;
const deleteText = (p: string) => `diff --git a/${p} b/${p}\ndeleted file mode 100644\nindex 1111111..0000000\n--- a/${p}\n+++ /dev/null\n@@ -1 +0,0 @@\n-a\n`;
/** A git binary patch that adds a file (the data is a literal, as `git diff --binary` writes it). */
const addBinary = (p: string) =>
  `diff --git a/${p} b/${p}\nnew file mode 100644\nindex 0000000000000000000000000000000000000000..e69de29bb2d1d6434b8b29ae775ad8c2e48c5391\nGIT binary patch\nliteral 4\nLcmZQzWMT#Y01f~L\n\nliteral 0\nHcmV?d00001\n\n`;
const binaryDiffer = (p: string) => `diff --git a/${p} b/${p}\nnew file mode 100644\nindex 0000000..e69de29\nBinary files /dev/null and b/${p} differ\n`;

describe('the file-level harness diff: files that load code into the test process', () => {
  it('names package metadata, compiled and native files, package-manager and start-up configuration', () => {
    for (const p of [
      'foo-1.0.dist-info/entry_points.txt', 'foo-1.0.dist-info/METADATA', 'src/foo.egg-info/entry_points.txt', 'foo.egg-link', 'entry_points.txt',
      'x.pth', 'lib/site/y.pth', '__editable___foo_finder.py', 'sitecustomize.py', 'pkg/usercustomize.py',
      'pyledger/__pycache__/money.cpython-311.pyc', 'money.pyc', 'pkg/__pycache__/x.txt', 'ext.so', 'libx.so.1', 'ext.pyd', 'addon.node', 'm.wasm', 'l.dylib',
      '.npmrc', 'pkg/.npmrc', '.yarnrc', '.yarnrc.yml', 'pnpm-workspace.yaml', '.pnpmfile.cjs', 'bunfig.toml', '.pnp.cjs', '.yarn/plugins/p.cjs',
    ]) {
      assert.ok(codeLoadingReason(p), p);
    }
  });

  it('leaves code, documentation and ordinary configuration alone', () => {
    for (const p of ['pyledger/money.py', 'README.md', 'setup.py', 'pyproject.toml', 'package.json', 'conftest.py', 'tests/test_a.py', 'src/node.ts', 'docs/so.md', 'a.pyi', 'nodes/x.js']) {
      assert.equal(codeLoadingReason(p), undefined, p);
    }
  });

  it('counts files added or changed, never deleted ones', () => {
    const patch = addText('x.pth', 'import os') + changeText('.npmrc') + deleteText('old.pth') + changeText('pyledger/money.py');
    assert.deepEqual(addedOrChanged(patch), ['x.pth', '.npmrc', 'pyledger/money.py']);
    assert.deepEqual(codeLoadingChanges(patch).map((c) => c.path), ['x.pth', '.npmrc']);
  });

  it('makes a Tampered verdict with each path named as evidence, whatever the text screen says', async () => {
    // A pytest11 plugin declared in package metadata: the text screen sees nothing in it.
    const patch = addText('flip-1.0.dist-info/entry_points.txt', '[pytest11]') + addText('flip-1.0.dist-info/METADATA', 'Name: flip');
    assert.deepEqual(await tamperFindings(patch, async () => undefined), []);
    const t = harnessDiffTampering(patch)!;
    assert.match(t.reason, /file-level harness diff/);
    assert.deepEqual(t.evidence.map((e) => e.split(':')[0]), ['flip-1.0.dist-info/entry_points.txt', 'flip-1.0.dist-info/METADATA']);
    assert.equal(harnessDiffTampering(changeText('pyledger/money.py')), undefined);
  });

  it('a packaging file that declares a pytest11 plugin counts; other packaging changes do not', () => {
    const plugin = 'diff --git a/pyproject.toml b/pyproject.toml\nindex 1111111..2222222 100644\n--- a/pyproject.toml\n+++ b/pyproject.toml\n@@ -1 +1,3 @@\n [project]\n+[project.entry-points.pytest11]\n+flip = "pkg.flip"\n';
    assert.deepEqual(codeLoadingChanges(plugin).map((c) => [c.path, /pytest11/.test(c.why)]), [['pyproject.toml', true]]);
    const deps = 'diff --git a/setup.cfg b/setup.cfg\nindex 1111111..2222222 100644\n--- a/setup.cfg\n+++ b/setup.cfg\n@@ -1 +1,2 @@\n [options]\n+install_requires = attrs\n';
    assert.deepEqual(codeLoadingChanges(deps), []);
    // Only in packaging files: a document that mentions pytest11 is not a plugin.
    assert.deepEqual(codeLoadingChanges(addText('docs/plugins.md', 'register under pytest11')), []);
  });

  it('sees a binary file by its git header alone (no ---/+++ lines)', () => {
    assert.deepEqual(codeLoadingChanges(addBinary('pyledger/__pycache__/money.cpython-311.pyc')).map((c) => c.path), ['pyledger/__pycache__/money.cpython-311.pyc']);
  });
});

describe('the paths a diff writes to, as git writes them', () => {
  it('decodes C-quoted names: a non-ASCII .pth or a binary .pyc with no +++ line is still seen', () => {
    assert.equal(unquoteGitPath('"b/\\303\\251.pth"'), 'b/é.pth');
    assert.equal(unquoteGitPath('"b/a\\tb \\"c\\".py"'), 'b/a\tb "c".py');
    const quotedBinary = 'diff --git "a/pkg/\\303\\251.pyc" "b/pkg/\\303\\251.pyc"\nnew file mode 100644\nindex 0000000..e69de29\nGIT binary patch\nliteral 0\nHcmV?d00001\n\n';
    assert.deepEqual(codeLoadingChanges(quotedBinary).map((c) => c.path), ['pkg/é.pyc']);
    assert.deepEqual(binaryHunks(quotedBinary), [{ path: 'pkg/é.pyc', kind: 'git-binary-patch' }]);
    const spaced = 'diff --git a/my dir/x.so b/my dir/x.so\nnew file mode 100755\nindex 0000000..e69de29\nGIT binary patch\nliteral 0\nHcmV?d00001\n\n';
    assert.deepEqual(codeLoadingChanges(spaced).map((c) => c.path), ['my dir/x.so']);
  });

  it('a rename or copy into a code-loading name counts; case does not hide one; a link named like a metadata folder counts', () => {
    const rename = 'diff --git a/notes.txt b/evil.pth\nsimilarity index 100%\nrename from notes.txt\nrename to evil.pth\n';
    assert.deepEqual(codeLoadingChanges(rename).map((c) => c.path), ['evil.pth']);
    const copy = 'diff --git a/a.py b/sitecustomize.py\nsimilarity index 100%\ncopy from a.py\ncopy to sitecustomize.py\n';
    assert.deepEqual(codeLoadingChanges(copy).map((c) => c.path), ['sitecustomize.py']);
    assert.ok(codeLoadingReason('Flip-1.0.DIST-INFO/entry_points.txt'));
    assert.ok(codeLoadingReason('X.PTH'));
    const link = 'diff --git a/flip.dist-info b/flip.dist-info\nnew file mode 120000\nindex 0000000..1111111\n--- /dev/null\n+++ b/flip.dist-info\n@@ -0,0 +1 @@\n+docs\n\\ No newline at end of file\n';
    assert.deepEqual(codeLoadingChanges(link).map((c) => c.path), ['flip.dist-info']);
  });

  it('an added line that starts with "++" inside a hunk is not a file name', () => {
    const patch = 'diff --git a/README.md b/README.md\nindex 1111111..2222222 100644\n--- a/README.md\n+++ b/README.md\n@@ -1 +1,2 @@\n a\n+++ b/x.pth\n';
    assert.deepEqual(writtenPaths(patch), ['README.md']);
    assert.deepEqual(codeLoadingChanges(patch), []);
  });
});

describe('binary hunks', () => {
  it('finds GIT binary patch data and "Binary files ... differ" lines, per file', () => {
    assert.deepEqual(binaryHunks(addText('a.py', 'x') + addBinary('logo.png') + binaryDiffer('data.bin')), [
      { path: 'logo.png', kind: 'git-binary-patch' },
      { path: 'data.bin', kind: 'binary-differ' },
    ]);
    assert.deepEqual(binaryHunks(addText('a.py', 'Binary files are fine to mention')), []);
  });

  it('a solver patch: refused unless the repository already keeps that kind of file as binary data', async () => {
    const original = { tracked: ['docs/logo.png', 'notes.txt', 'src/a.py'], isBinary: async (p: string) => p.endsWith('.png') };
    assert.equal(await binaryPatchProblem(addBinary('docs/new.png'), original), undefined);
    assert.match((await binaryPatchProblem(addBinary('data.bin'), original))!, /^not solved: the patch has a binary hunk for data\.bin \(GIT binary patch\)/);
    // A text file kind the repository has does not make binary content acceptable.
    assert.match((await binaryPatchProblem(addBinary('more.txt'), original))!, /binary hunk for more\.txt/);
    // "Binary files ... differ" carries no data: always refused.
    assert.match((await binaryPatchProblem(binaryDiffer('docs/other.png'), original))!, /no data/);
    assert.equal(await binaryPatchProblem(addText('a.py', 'x'), original), undefined);
    assert.equal(looksBinary('\x89PNG\r\n\x1a\n\0\0\0\rIHDR'), true);
    assert.equal(looksBinary('plain text'), false);
  });

  it('an artifact whose bug_inject.diff or test_weaken.diff has a binary hunk is invalid, with the file named', () => {
    const base: ArtifactFiles = { testScript: 'pytest', testParser: 'print(1)', testFiles: ['tests/test_a.py'], bugInjectDiff: changeText('src/a.py'), testWeakenDiff: changeText('tests/test_a.py') };
    assert.deepEqual(structuralProblems(base), []);
    const bug = structuralProblems({ ...base, bugInjectDiff: changeText('src/a.py') + addBinary('src/a.cpython-311.pyc') });
    assert.equal(bug.length, 1);
    assert.equal(bug[0].file, 'bug_inject.diff');
    assert.match(bug[0].message, /bug_inject\.diff has a binary hunk for src\/a\.cpython-311\.pyc \(GIT binary patch\)/);
    const weaken = structuralProblems({ ...base, testWeakenDiff: changeText('tests/test_a.py') + binaryDiffer('tests/data.bin') });
    assert.equal(weaken[0].file, 'test_weaken.diff');
    assert.match(weaken[0].message, /test_weaken\.diff has a binary hunk for tests\/data\.bin/);
  });
});

describe('patchProblem sees quoted names too', () => {
  it('a binary hunk whose quoted name climbs out of the repository is refused before anything runs', () => {
    const climb = 'diff --git "a/../\\303\\251.so" "b/../\\303\\251.so"\nnew file mode 100644\nindex 0000000..e69de29\nGIT binary patch\nliteral 0\nHcmV?d00001\n\n';
    assert.match(patchProblem(climb)!, /^the patch touches/);
  });
});
