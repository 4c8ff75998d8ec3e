/**
 * The Python programs shipped into sandboxes as several modules (bootstrap's
 * ssr_boot.py, the judge's neutral.py): every module of the folder is shipped,
 * and the shipped set, written alone into one folder, runs under `python3 -I`
 * (which leaves the script's folder off sys.path) without leaving bytecode.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HELPER_FILES } from '../../src/core/bootstrap/helperSource';
import { NEUTRAL_FILES } from '../../src/core/judge/neutral';

const ROOT = path.resolve(__dirname, '../..');

/** The shipped files written alone into a fresh folder; its path. */
function shipped(files: ReadonlyArray<readonly [string, string]>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-pymods-'));
  for (const [name, source] of files) fs.writeFileSync(path.join(dir, name), source);
  return dir;
}

function run(script: string, args: string[], input: unknown): Record<string, unknown> {
  const out = execFileSync('python3', ['-I', script, ...args], { input: JSON.stringify(input), cwd: os.tmpdir(), encoding: 'utf8' });
  return JSON.parse(out) as Record<string, unknown>;
}

describe('Python programs shipped as modules', () => {
  it('ships every ssr_boot module of bootstrap/py, as it is on disk', () => {
    const dir = path.join(ROOT, 'src/core/bootstrap/py');
    const onDisk = fs.readdirSync(dir).filter((f) => /^ssr_boot.*\.py$/.test(f)).sort();
    assert.deepEqual(HELPER_FILES.map(([n]) => n).sort(), onDisk);
    assert.equal(HELPER_FILES[0][0], 'ssr_boot.py');
    for (const [name, source] of HELPER_FILES) assert.equal(source, fs.readFileSync(path.join(dir, name), 'utf8'), name);
  });

  it('ships every neutral module of judge/py, as it is on disk', () => {
    const dir = path.join(ROOT, 'src/core/judge/py');
    const onDisk = fs.readdirSync(dir).filter((f) => /^neutral.*\.py$/.test(f)).sort();
    assert.deepEqual(NEUTRAL_FILES.map(([n]) => n).sort(), onDisk);
    for (const [name, source] of NEUTRAL_FILES) assert.equal(source, fs.readFileSync(path.join(dir, name), 'utf8'), name);
  });

  it('the bootstrap helper runs from its folder alone under python3 -I', () => {
    const dir = shipped(HELPER_FILES);
    try {
      const out = run(path.join(dir, 'ssr_boot.py'), ['targets'], {
        root: path.join(ROOT, 'test/fixtures/repos/pymini'),
        language: 'python',
        testFiles: [],
      });
      assert.equal(out.error, undefined, String(out.trace));
      assert.ok(Array.isArray(out.targets) && out.targets.length > 0);
      assert.deepEqual(fs.readdirSync(dir).sort(), HELPER_FILES.map(([n]) => n).sort(), 'no __pycache__ left behind');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the behaviour-neutral test runs from its folder alone under python3 -I', () => {
    const dir = shipped(NEUTRAL_FILES);
    try {
      const before = 'def f(a):\n    b = a + 1\n    return b\n';
      const files = [
        { path: 'm.py', before, after: '# a comment\ndef f(a):\n    c = a + 1\n    return c\n' },
        { path: 'n.py', before, after: 'def f(a):\n    b = a - 1\n    return b\n' },
      ];
      const out = run(path.join(dir, 'neutral.py'), [], { files }) as { results: { neutral: boolean; reasons: string[] }[] };
      assert.deepEqual(out.results.map((r) => r.neutral), [true, false]);
      assert.deepEqual(out.results[0].reasons, ['a consistent renaming of locals: b->c']);
      assert.deepEqual(fs.readdirSync(dir).sort(), NEUTRAL_FILES.map(([n]) => n).sort(), 'no __pycache__ left behind');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
