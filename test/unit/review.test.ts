/**
 * src/core/artifact/review.ts: the before/after contents of each file a diff touches,
 * on the fixture artifacts' real diffs against the pyledger fixture, and the
 * chained state readers the step diffs need.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { applyFilePatch, diffPaths, filePatches, readerAfter, reviewDiff, type FileReader } from '../../src/core/artifact/review';
import { repoFileReader } from '../../src/core/selfplay/actions';
import { ARTIFACTS, PYLEDGER } from '../helpers/paths';

const read = (name: string, file: string) => fs.readFileSync(path.join(ARTIFACTS, name, file), 'utf8');
const mem = (files: Record<string, string>): FileReader => (p) => files[p];

describe('review: inline diff review', () => {
  it('gives original and patched content for each file of a real bug_inject.diff', () => {
    const diff = read('valid-removal', 'bug_inject.diff');
    const files = reviewDiff(diff, repoFileReader(PYLEDGER));
    assert.deepEqual(files.map((f) => f.path).sort(), ['pyledger/ledger.py', 'pyledger/money.py']);
    for (const f of files) {
      assert.equal(f.status, 'modified');
      assert.equal(f.error, undefined);
      assert.equal(f.original, fs.readFileSync(path.join(PYLEDGER, f.path), 'utf8'));
      assert.notEqual(f.patched, f.original);
    }
    const money = files.find((f) => f.path === 'pyledger/money.py')!;
    assert.match(money.patched!, /return \[\]/);
  });

  it('reports files a diff does not apply to instead of guessing', () => {
    const diff = read('bad-diff-does-not-apply', 'bug_inject.diff');
    const files = reviewDiff(diff, repoFileReader(PYLEDGER));
    assert.ok(files.length > 0);
    assert.ok(files.some((f) => f.patched === undefined && /does not apply/.test(f.error ?? '')));
  });

  it('handles added, deleted and missing files', () => {
    const diff = [
      'diff --git a/new.txt b/new.txt',
      'new file mode 100644',
      '--- /dev/null',
      '+++ b/new.txt',
      '@@ -0,0 +1,2 @@',
      '+hello',
      '+world',
      'diff --git a/old.txt b/old.txt',
      'deleted file mode 100644',
      '--- a/old.txt',
      '+++ /dev/null',
      '@@ -1 +0,0 @@',
      '-bye',
      'diff --git a/gone.txt b/gone.txt',
      '--- a/gone.txt',
      '+++ b/gone.txt',
      '@@ -1 +1 @@',
      '-a',
      '+b',
      '',
    ].join('\n');
    const files = reviewDiff(diff, mem({ 'old.txt': 'bye\n' }));
    const byPath = Object.fromEntries(files.map((f) => [f.path, f]));
    assert.equal(byPath['new.txt'].status, 'added');
    assert.equal(byPath['new.txt'].original, '');
    assert.equal(byPath['new.txt'].patched, 'hello\nworld\n');
    assert.equal(byPath['old.txt'].status, 'deleted');
    assert.equal(byPath['old.txt'].patched, '');
    assert.match(byPath['gone.txt'].error!, /does not exist/);
    assert.deepEqual(diffPaths(diff), ['new.txt', 'old.txt', 'gone.txt']);
  });

  it('chains diffs: the state after the bug and the weakening, then a fix on top', () => {
    const bug = read('valid-removal', 'bug_inject.diff');
    const weaken = read('valid-removal', 'test_weaken.diff');
    const base = repoFileReader(PYLEDGER);
    const buggy = readerAfter(base, [bug, weaken]);
    assert.match(buggy('pyledger/money.py')!, /return \[\]/);
    assert.notEqual(buggy('tests/test_money.py'), base('tests/test_money.py'));
    // Reversing the bug on the buggy state gives the original back.
    const patch = filePatches(bug).find((p) => p.newFileName?.endsWith('money.py'))!;
    const reversed = { ...patch, hunks: patch.hunks.map((h) => ({ ...h, oldStart: h.newStart, oldLines: h.newLines, newStart: h.oldStart, newLines: h.oldLines, lines: h.lines.map((l) => (l[0] === '+' ? '-' + l.slice(1) : l[0] === '-' ? '+' + l.slice(1) : l)) })) };
    assert.equal(applyFilePatch(buggy('pyledger/money.py')!, reversed), base('pyledger/money.py'));
  });

  it('a reader outside the repository reads nothing', () => {
    const r = repoFileReader(PYLEDGER);
    assert.equal(r('../../package.json'), undefined);
    assert.equal(r('/etc/passwd'), undefined);
    assert.ok(r('pyproject.toml'));
  });

  it('text that is not a diff gives no files and no throw', () => {
    assert.deepEqual(reviewDiff('', mem({})), []);
    assert.doesNotThrow(() => reviewDiff('this is prose, not a diff', mem({})));
  });
});
