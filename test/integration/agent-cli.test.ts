/**
 * `ssr inject`, `ssr solve` and `ssr show` as a user runs them (a child
 * process per command, replay policy, real sandbox).
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { listSandboxes } from '../../src/core/sandbox';
import { copyFixture } from '../helpers/fixtures';

const ROOT = path.resolve(__dirname, '../..');
const FIXTURES = path.join(ROOT, 'test/fixtures');
const TEXT_LOADER = path.join(ROOT, 'scripts', 'text-loader.cjs');
const REPO = path.join(FIXTURES, 'repos/pyledger');
const TRAJ = path.join(FIXTURES, 'trajectories');

/** The three command modules on a bare program (src/cli.ts wires them for real). */
const PROGRAM = `
const { Command } = require('commander');
const p = new Command('ssr').exitOverride();
for (const m of ['inject', 'solve', 'show']) require(${JSON.stringify(ROOT)} + '/src/cli/commands/' + m).register(p);
p.parseAsync(['node', 'ssr', ...process.argv.slice(1)]).catch(() => { process.exitCode = 2; });
`;

const children: number[] = [];

function ssr(args: string[], opts: { cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', '--require', TEXT_LOADER, '-e', PROGRAM, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid) children.push(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('ssr inject / solve / show (CLI)', function () {
  this.timeout(300_000);
  let tmp: string;
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-agent-cli-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  afterEach(async () => {
    // Every container a child ssr process started must be gone once it exited.
    for (const pid of children.splice(0)) {
      assert.deepEqual(await listSandboxes({ 'ssr.owner.pid': String(pid) }), [], `ssr process ${pid} left a container`);
    }
  });

  it('inject --json: a valid artifact exits 0 and writes the trajectory and the artifact', async () => {
    const out = path.join(tmp, 'inject-valid');
    const r = await ssr(['inject', '--repo', REPO, '--policy', 'replay', '--trajectory', path.join(TRAJ, 'inject-valid.json'), '--strategy', 'removal', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const j = JSON.parse(r.stdout);
    assert.equal(j.valid, true);
    assert.equal(j.status, 'submitted');
    assert.equal(j.strategy, 'removal');
    assert.equal(j.reward, null);
    assert.equal(j.checks.length, 7);
    assert.deepEqual(fs.readdirSync(path.join(out, 'artifact')).sort(), ['bug_inject.diff', 'ssr.json', 'test_files.txt', 'test_parser.py', 'test_script.sh', 'test_weaken.diff']);
    assert.ok(fs.existsSync(path.join(out, 'trajectory.json')));
    assert.ok(fs.existsSync(path.join(out, 'validation.json')));
  });

  it('inject: an invalid artifact exits 1 and prints the verdicts; the default output goes to <repo>/.ssr/ only', async () => {
    const repo = path.join(tmp, 'repo');
    copyFixture(REPO, repo);
    const git = (...a: string[]) => execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...a], { cwd: repo, encoding: 'utf8' });
    git('init', '-q');
    git('add', '-A');
    git('commit', '-qm', 'init');
    const r = await ssr(['inject', '--repo', repo, '--policy', 'replay', '--trajectory', path.join(TRAJ, 'inject-invalid.json'), '--strategy', 'direct']);
    assert.equal(r.code, 1, r.stderr + r.stdout);
    assert.match(r.stdout, /FAIL\s+bug_breaks_tests/);
    assert.match(r.stdout, /INVALID \(first failing check: bug_breaks_tests\)/);
    assert.match(r.stdout, /r_inject = -1/);
    const episodes = fs.readdirSync(path.join(repo, '.ssr', 'episodes'));
    assert.equal(episodes.length, 1);
    assert.ok(fs.existsSync(path.join(repo, '.ssr', 'episodes', episodes[0], 'trajectory.json')));
    assert.match(fs.readFileSync(path.join(repo, '.git', 'info', 'exclude'), 'utf8'), /^\.ssr\/$/m);
    assert.equal(git('status', '--porcelain'), '', 'the repository was changed');
  });

  it('inject: bad flags exit 2 with a message', async () => {
    const r = await ssr(['inject', '--repo', REPO, '--strategy', 'sneaky', '--policy', 'replay', '--trajectory', path.join(TRAJ, 'inject-valid.json')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--strategy must be one of removal, history, direct, mix/);
    const r2 = await ssr(['inject', '--repo', path.join(tmp, 'nope'), '--policy', 'replay', '--trajectory', path.join(TRAJ, 'inject-valid.json')]);
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /no such folder/);
  });

  it('solve: two attempts that do not solve exit 1 and report the solve rate', async () => {
    const out = path.join(tmp, 'solve');
    const r = await ssr([
      'solve', '--repo', REPO, '--artifact', path.join(FIXTURES, 'artifacts/valid-removal'),
      '--policy', 'replay', '--trajectory', path.join(TRAJ, 'solve-fail.json'), '--attempts', '2', '--out', out, '--json',
    ]);
    assert.equal(r.code, 1, r.stderr + r.stdout);
    const j = JSON.parse(r.stdout);
    assert.equal(j.attempts.length, 2);
    assert.ok(j.attempts.every((a: { solved: boolean; reward: number }) => a.solved === false && a.reward === -1));
    assert.equal(j.solveRate, 0);
    assert.equal(j.injectorReward, -0.8);
    for (const k of [0, 1]) {
      assert.ok(fs.existsSync(path.join(out, `attempt-${k}`, 'trajectory.json')));
      assert.ok(fs.existsSync(path.join(out, `attempt-${k}`, 'patch.diff')));
      assert.ok(fs.existsSync(path.join(out, `attempt-${k}`, 'evaluation.json')));
    }
  });

  it('solve: a fixing attempt exits 0', async () => {
    const r = await ssr([
      'solve', '--repo', REPO, '--artifact', path.join(FIXTURES, 'artifacts/valid-removal'),
      '--policy', 'replay', '--trajectory', path.join(TRAJ, 'solve-fix.json'), '--out', path.join(tmp, 'solve-fix'),
    ]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /attempt 1\/1 {2}SOLVED {2}r_solve 1/);
  });

  it('show: prints every step off a terminal, one step with --step, JSON with --json', async () => {
    const file = path.join(tmp, 'inject-valid', 'trajectory.json');
    const all = await ssr(['show', file]);
    assert.equal(all.code, 0, all.stderr);
    assert.ok(!all.stdout.includes('\x1b['), 'no colour off a terminal');
    assert.match(all.stdout, /injector \(removal\)/);
    assert.match(all.stdout, /outcome: valid/);
    assert.equal((all.stdout.match(/── step \d+\/17 /g) ?? []).length, 17);
    assert.match(all.stdout, /── step 9\/17 · edit · exit 0 · [\d.]+ s ──\nI remove the distribution[\s\S]*edit \/repo\/pyledger\/money\.py[\s\S]*diff made by this step:\ndiff --git a\/pyledger\/money\.py/);
    const one = await ssr(['show', file, '--step', '3']);
    assert.equal((one.stdout.match(/── step /g) ?? []).length, 1);
    assert.match(one.stdout, /── step 3\/17 · bash · exit 0/);
    assert.match(one.stdout, /\$ python3 -m pytest -q -p no:cacheprovider tests/);
    const json = await ssr(['show', file, '--step', '17', '--json']);
    assert.equal(JSON.parse(json.stdout).tool, 'submit');
    const bad = path.join(tmp, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ format: 'something-else' }));
    const r = await ssr(['show', bad]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /is not an SSR trajectory: its format is "something-else"/);
    const range = await ssr(['show', file, '--step', '99']);
    assert.equal(range.code, 2);
    assert.match(range.stderr, /the trajectory has 17 step\(s\)/);
  });
});
