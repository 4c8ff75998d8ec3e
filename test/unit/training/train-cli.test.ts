/**
 * `ssr train` killed with SIGKILL mid-run, then run again with the same --out: it resumes from its last
 * checkpoint (weights, optimizer state, step, data cursor) and ends at the same step count as an
 * uninterrupted run. The Python trainer notices its driver is gone and stops instead of training on.
 */
import { strict as assert } from 'node:assert';
import { spawn, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLI, ROOT, TEXT_LOADER } from '../../helpers/paths';
import { runCli } from '../../helpers/cli';
import { ensureTinyModel, runPython } from '../policy/tinyModel';

const until = async (cond: () => boolean): Promise<void> => {
  while (!cond()) await new Promise((r) => setTimeout(r, 100));
};

function trainerRunning(out: string): boolean {
  const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  return ps.split('\n').some((l) => l.includes('ssr_runtime.train') && l.includes(out));
}

describe('ssr train: kill -9, then run again', function () {
  this.timeout(600_000);

  it('resumes from the checkpoint and ends with the same step count', async () => {
    const built = ensureTinyModel();
    assert.ok(built.dir, `the tiny model is needed: ${built.reason}`);
    const run = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-killtrain-'));
    runPython(['-m', 'ssr_runtime.synthetic', '--model', built.dir, '--run', run]);
    const out = path.join(run, 'out');
    const args = ['train', '--run', run, '--model', built.dir, '--out', out, '--device', 'cpu', '--steps', '8', '--lr', '1e-3', '--checkpoint-every', '1', '--json'];
    const child = spawn(process.execPath, ['--import', 'tsx', '--require', TEXT_LOADER, CLI, ...args], { cwd: ROOT, stdio: 'ignore' });
    const latest = path.join(out, 'checkpoints', 'latest.json');
    const step = () => (fs.existsSync(latest) ? (JSON.parse(fs.readFileSync(latest, 'utf8')) as { step: number }).step : 0);
    await until(() => step() >= 2);
    process.kill(child.pid!, 'SIGKILL');
    await new Promise((r) => child.once('exit', r));
    await until(() => !trainerRunning(out)); // the orphaned trainer stops at its next step
    const killedAt = step();
    assert.ok(killedAt >= 2 && killedAt < 8, `killed at ${killedAt}`);
    assert.ok(!fs.existsSync(path.join(out, 'model')));

    const again = await runCli(args);
    assert.equal(again.code, 0, again.stderr.slice(-2000));
    const s = JSON.parse(again.stdout);
    assert.equal(s.resumedFrom, killedAt);
    assert.equal(s.steps, 8);
    assert.equal(s.final.step, 8);
    assert.ok(fs.existsSync(path.join(out, 'model', 'config.json')));
  });
});
