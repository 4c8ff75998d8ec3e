/**
 * No function over 60 lines and no file over 400 in src/, media/ and
 * runtime/ (issue 21), TypeScript, JavaScript and Python alike; tests and
 * fixtures are exempt. No allow-list: scripts/sizes.cjs --check lists what
 * is over and fails. A small tree that breaks each limit shows the check bites.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const SIZES = path.join(ROOT, 'scripts/sizes.cjs');

function sizes(root: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [SIZES, '--check', '--root', root], { encoding: 'utf8', maxBuffer: 16 << 20 });
  return { status: r.status, out: r.stdout + r.stderr };
}

function lines(n: number, line: string): string {
  return Array.from({ length: n }, (_, i) => line.replace('N', String(i))).join('\n');
}

describe('structure: sizes', function () {
  this.timeout(120_000);

  it('src/, media/ and runtime/ hold no function over 60 lines and no file over 400', () => {
    const r = sizes(ROOT);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /functions over 60 lines: 0\nfiles over 400 lines: 0/);
  });

  it('the check bites: a long TypeScript function, a long Python function and a long file are each listed; tests are exempt', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-sizes-'));
    try {
      const write = (p: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
        fs.writeFileSync(path.join(dir, p), text);
      };
      write('src/core/long.ts', `export function long(): number {\n  let x = 0;\n${lines(60, '  x += N;')}\n  return x;\n}\n`);
      write('runtime/pkg/long.py', `def long():\n    x = 0\n${lines(60, '    x += N')}\n    return x\n`);
      write('media/big.js', lines(401, 'var vN = N;'));
      write('src/core/short.ts', 'export const ok = 1;\n');
      write('test/unit/huge.test.ts', lines(500, 'const cN = N;'));
      write('runtime/tests/test_huge.py', `def test_long():\n${lines(80, '    assert N == N')}\n`);
      spawnSync('git', ['init', '-q'], { cwd: dir });
      spawnSync('git', ['add', '-A'], { cwd: dir });
      const r = sizes(dir);
      assert.equal(r.status, 1, r.out);
      assert.match(r.out, /functions over 60 lines: 2\n/);
      assert.match(r.out, /long {2}src\/core\/long\.ts:1/);
      assert.match(r.out, /long {2}runtime\/pkg\/long\.py:1/);
      assert.match(r.out, /files over 400 lines: 1\n\s+401 {2}media\/big\.js/);
      assert.doesNotMatch(r.out, /huge|short/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
