import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readTrajectory, writeTrajectory } from '../../../src/core/selfplay/episodes';
import { resolveArtifactPaths } from '../../../src/core/agents/submit';
import { TRAJECTORY_FORMAT, type Trajectory } from '../../../src/core/base/trajectory';
import { UsageError } from '../../../src/core/base/errors';

const T: Trajectory = {
  format: TRAJECTORY_FORMAT,
  id: 'inj-test',
  role: 'injector',
  strategy: 'removal',
  policy: { kind: 'replay' },
  task: { repo: '/r' },
  messages: [
    { role: 'system', content: 's' },
    { role: 'user', content: 'u' },
  ],
  steps: [],
  tokens: [],
  status: 'max_turns',
  timings: { startedAt: new Date(0).toISOString() },
};

describe('trajectory files', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-traj-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes and reads back a trajectory', async () => {
    const p = path.join(dir, 'sub', 'trajectory.json');
    await writeTrajectory(p, T);
    assert.deepEqual(await readTrajectory(p), T);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'sub')), ['trajectory.json']);
  });

  it('rejects bad files with a clear message', async () => {
    const cases: Array<[string, RegExp]> = [
      ['{not json', /not valid JSON/],
      ['[1,2]', /not a JSON object/],
      [JSON.stringify({ ...T, format: undefined }), /no "format" field/],
      [JSON.stringify({ ...T, format: 'ssr-trajectory/9' }), /expected "ssr-trajectory\/1"/],
      [JSON.stringify({ ...T, role: 'judge' }), /role/],
      [JSON.stringify({ ...T, messages: [{ role: 'user' }] }), /message 0/],
      [JSON.stringify({ ...T, steps: [{ index: 0 }] }), /step 0/],
    ];
    for (const [text, re] of cases) {
      const p = path.join(dir, 'bad.json');
      fs.writeFileSync(p, text);
      await assert.rejects(readTrajectory(p), (err: unknown) => err instanceof UsageError && re.test((err as Error).message));
    }
    await assert.rejects(readTrajectory(path.join(dir, 'missing.json')), /no such file/);
  });
});

describe('injector submit: which files', () => {
  const resolve = (p: string) => (p.startsWith('/') ? p : `/repo/${p}`);
  it('uses the default folders when nothing is named', () => {
    const r = resolveArtifactPaths({ paths: [] }, resolve, ['/artifact', '/repo']);
    assert.ok(r.ok);
    assert.deepEqual(r.candidates['test_script.sh'], ['/artifact/test_script.sh', '/repo/test_script.sh']);
  });
  it('takes a folder', () => {
    const r = resolveArtifactPaths({ paths: ['out'] }, resolve, []);
    assert.ok(r.ok);
    assert.deepEqual(r.candidates['bug_inject.diff'], ['/repo/out/bug_inject.diff']);
  });
  it('maps five paths by name in any order, or by position', () => {
    const named = resolveArtifactPaths(
      { paths: ['/a/test_weaken.diff', '/a/bug_inject.diff', '/a/test_parser.py', '/a/test_files.txt', '/a/test_script.sh'] },
      resolve,
      [],
    );
    assert.ok(named.ok);
    assert.deepEqual(named.candidates['test_script.sh'], ['/a/test_script.sh']);
    const byOrder = resolveArtifactPaths({ paths: ['s.sh', 'f.txt', 'p.py', 'b.diff', 'w.diff'] }, resolve, []);
    assert.ok(byOrder.ok);
    assert.deepEqual(byOrder.candidates['test_weaken.diff'], ['/repo/w.diff']);
  });
  it('rejects one file or a wrong count', () => {
    const one = resolveArtifactPaths({ paths: ['test_script.sh'] }, resolve, []);
    assert.ok(!one.ok);
    assert.match(one.error, /names one file/);
    const three = resolveArtifactPaths({ paths: ['a', 'b', 'c'] }, resolve, []);
    assert.ok(!three.ok);
    assert.match(three.error, /you gave 3/);
  });
});
