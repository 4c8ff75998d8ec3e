import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { reverseDiff } from '../../../src/core/agents/diffs';

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: cwd } });
}

function hasGit(): boolean {
  try {
    execFileSync('git', ['--version']);
    return true;
  } catch {
    return false;
  }
}

describe('agent diffs: reverseDiff', () => {
  it('swaps sides, lines and hunk ranges, removals first', () => {
    const d = [
      'diff --git a/t.py b/t.py',
      'index 1111111..2222222 100644',
      '--- a/t.py',
      '+++ b/t.py',
      '@@ -1,4 +1,3 @@',
      ' def f():',
      '-    assert f(1) == 2',
      '-    assert f(2) == 4',
      '+    assert f(1)',
      ' ',
      '',
    ].join('\n');
    const r = reverseDiff(d);
    assert.equal(
      r,
      [
        'diff --git a/t.py b/t.py',
        'index 2222222..1111111 100644',
        '--- a/t.py',
        '+++ b/t.py',
        '@@ -1,3 +1,4 @@',
        ' def f():',
        '-    assert f(1)',
        '+    assert f(1) == 2',
        '+    assert f(2) == 4',
        ' ',
        '',
      ].join('\n'),
    );
  });

  it('turns a deleted file into a new file, and a line starting with "--" stays a line', () => {
    const d = [
      'diff --git a/old.sql b/old.sql',
      'deleted file mode 100644',
      'index 3333333..0000000',
      '--- a/old.sql',
      '+++ /dev/null',
      '@@ -1,2 +0,0 @@',
      '--- a comment',
      '-select 1;',
      '',
    ].join('\n');
    const r = reverseDiff(d);
    assert.match(r, /new file mode 100644/);
    assert.match(r, /--- \/dev\/null\n\+\+\+ b\/old\.sql/);
    assert.match(r, /@@ -0,0 \+1,2 @@\n\+-- a comment\n\+select 1;/);
  });

  it('keeps "\\ No newline at end of file" with its line', () => {
    const d = ['--- a/x', '+++ b/x', '@@ -1 +1 @@', '-old', '\\ No newline at end of file', '+new', '\\ No newline at end of file', ''].join('\n');
    assert.equal(reverseDiff(d), ['--- a/x', '+++ b/x', '@@ -1 +1 @@', '-new', '\\ No newline at end of file', '+old', '\\ No newline at end of file', ''].join('\n'));
  });

  (hasGit() ? it : it.skip)('produces a diff git applies to undo the original', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-revdiff-'));
    try {
      git(dir, 'init', '-q');
      fs.mkdirSync(path.join(dir, 'tests'));
      fs.writeFileSync(path.join(dir, 'tests/test_a.py'), 'def test_one():\n    assert 1 == 1\n\n\ndef test_two():\n    assert 2 == 2\n');
      fs.writeFileSync(path.join(dir, 'tests/test_b.py'), 'def test_b():\n    assert True\n');
      git(dir, 'add', '-A');
      git(dir, '-c', 'user.email=a@b', '-c', 'user.name=a', 'commit', '-qm', 'x');
      const before = fs.readFileSync(path.join(dir, 'tests/test_a.py'), 'utf8');
      // The weakening: delete a test, loosen another, delete a file, add one.
      fs.writeFileSync(path.join(dir, 'tests/test_a.py'), 'def test_one():\n    assert True\n');
      fs.rmSync(path.join(dir, 'tests/test_b.py'));
      fs.writeFileSync(path.join(dir, 'tests/test_c.py'), 'x = 1');
      git(dir, 'add', '-A');
      const weaken = git(dir, 'diff', '--cached');
      git(dir, '-c', 'user.email=a@b', '-c', 'user.name=a', 'commit', '-qm', 'weaken');
      const rev = reverseDiff(weaken);
      fs.writeFileSync(path.join(dir, 'rev.diff'), rev);
      git(dir, 'apply', 'rev.diff');
      assert.equal(fs.readFileSync(path.join(dir, 'tests/test_a.py'), 'utf8'), before);
      assert.ok(fs.existsSync(path.join(dir, 'tests/test_b.py')));
      assert.ok(!fs.existsSync(path.join(dir, 'tests/test_c.py')));
      // Reversing twice gives a diff that applies again the other way.
      fs.writeFileSync(path.join(dir, 'again.diff'), reverseDiff(rev));
      git(dir, 'apply', 'again.diff');
      assert.equal(fs.readFileSync(path.join(dir, 'tests/test_a.py'), 'utf8'), 'def test_one():\n    assert True\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
