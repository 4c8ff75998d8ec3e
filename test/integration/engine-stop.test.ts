/**
 * A broken sandbox is never the policy's fault: a real engine (a private
 * dockerd, never the machine's main one) is stopped in the middle of a
 * session. The CLI exits 2 with what happened and the resume command, the
 * run records no reward, failed check or lost round for the interrupted
 * work, and after the engine is back `--resume` finishes the session to the
 * same state as an uninterrupted run, with nothing duplicated.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SessionEvent, SessionFile } from '../../src/core/selfplay/session';
import { JsonlFile, type BugRecord } from '../../src/core/runs/store';
import type { TrajectoryRecord } from '../../src/core/base/trajectory';
import { DEFAULT_IMAGE } from '../../src/core/sandbox/docker';
import { CLI, PYLEDGER, ROOT, TEXT_LOADER } from '../helpers/paths';
import { assertNoContainers, hashTree } from '../helpers/docker';
import { runCli } from '../helpers/cli';
import { PrivateEngine } from '../helpers/privateEngine';

const tmp = (p: string) => fs.mkdtempSync(path.join(os.tmpdir(), p));

describe('self-play: the engine stops mid-session (a private real engine)', function () {
  this.timeout(1_200_000);
  let engine: PrivateEngine;
  const dirs: string[] = [];
  const repoHash = hashTree(PYLEDGER);

  before(async () => {
    engine = PrivateEngine.create();
    await engine.start();
    engine.loadImage(DEFAULT_IMAGE);
  });

  after(async () => {
    try {
      if (engine) {
        // Nothing of ours is left in the private engine either.
        const left = await engine.client().listContainers({ all: true }).catch(() => []);
        assert.deepEqual(left.map((c) => c.Id.slice(0, 12)), [], 'containers left in the private engine');
      }
    } finally {
      await engine?.destroy();
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    }
    assert.ok(!fs.existsSync(engine.dir), 'the private engine folder is removed');
    assert.equal(hashTree(PYLEDGER), repoHash, 'the repository was modified');
    await assertNoContainers();
  });

  const replayFile = path.join(tmp('ssr-replay-'), 'noop.json');
  dirs.push(path.dirname(replayFile));
  // A solver that changes a file and submits: every attempt is judged (not solved, r_solve = -1).
  fs.writeFileSync(replayFile, JSON.stringify(["<tool: bash>\necho '# looked at it' >> README.md\n</tool>", '<tool: submit>\n</tool>']));
  const policy = ['--policy', 'replay', '--trajectory', replayFile];
  const args = (out: string) => ['selfplay', '--repo', PYLEDGER, '--rounds', '3', '--attempts', '2', '--concurrency', '2', '--seed', '11', '--no-higher-order', ...policy, '--out', out, '--json'];

  function summarize(out: string) {
    const bugs = fs.readdirSync(path.join(out, 'bugs')).filter((n) => !n.includes('.tmp-')).sort().map((id) => {
      const b = JSON.parse(fs.readFileSync(path.join(out, 'bugs', id, 'bug.json'), 'utf8')) as BugRecord;
      return { id: b.id, order: b.order, valid: b.valid, attempts: b.attempts, solved: b.solved, rInject: b.rInject, status: b.status };
    });
    const { records, bad } = JsonlFile.read<TrajectoryRecord>(path.join(out, 'trajectories.jsonl'));
    const session = JSON.parse(fs.readFileSync(path.join(out, 'session.json'), 'utf8')) as SessionFile;
    return { bugs, ids: records.map((r) => r.id).sort(), rewards: records.map((r) => `${r.id}:${r.reward}`).sort(), bad, counters: session.counters, status: session.status, rounds: session.rounds };
  }

  it('pauses with exit 2 and records nothing for the interrupted work; --resume finishes it exactly', async () => {
    // The same session, uninterrupted, on the private engine: what the interrupted one must end as.
    const a = tmp('ssr-engine-a-');
    dirs.push(a);
    const ra = await runCli(args(a), { DOCKER_HOST: engine.host });
    assert.equal(ra.code, 0, ra.stderr);
    const want = summarize(a);
    assert.equal(want.status, 'finished');
    assert.equal(Object.keys(want.rounds).length, 3);
    assert.ok(want.ids.length >= 4, `attempts were judged: ${JSON.stringify(want)}`);

    // Stop the engine when the third solver attempt has started: mid-session, sandboxes running.
    const b = tmp('ssr-engine-b-');
    dirs.push(b);
    const child = spawn(process.execPath, ['--import', 'tsx', '--require', TEXT_LOADER, CLI, ...args(b)], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', DOCKER_HOST: engine.host },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stderr!.on('data', (c) => (stderr += c));
    child.stdout!.on('data', (c) => (stdout += c));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    const events = path.join(b, 'events.jsonl');
    const reached = await new Promise<boolean>((resolve) => {
      const t = setInterval(() => {
        const text = fs.existsSync(events) ? fs.readFileSync(events, 'utf8') : '';
        if ((text.match(/"type":"attempt-started"/g) ?? []).length >= 3) {
          clearInterval(t);
          resolve(true);
        } else if (child.exitCode !== null) {
          clearInterval(t);
          resolve(false);
        }
      }, 50);
    });
    assert.ok(reached, `the session ended before its third attempt: ${stderr}`);
    await engine.stop('SIGTERM');
    const code = await exited;

    assert.equal(code, 2, `exit code (stderr: ${stderr})`);
    assert.match(stderr, /paused: .*(engine|sandbox)/);
    assert.ok(stderr.includes(`resume with: ssr selfplay --resume ${b} --policy replay --trajectory ${replayFile}`), stderr);
    assert.doesNotMatch(stderr + stdout, /^\s+at .+:\d+:\d+\)?$/m, 'no stack trace');
    assert.doesNotMatch(stderr, /unexpected error/);
    const mid = summarize(b);
    assert.equal(mid.status, 'interrupted');
    const session = JSON.parse(fs.readFileSync(path.join(b, 'session.json'), 'utf8')) as SessionFile;
    assert.match(session.note!, /resume with: ssr selfplay --resume/);
    const ev = JsonlFile.read<SessionEvent>(events).records;
    assert.ok(ev.some((e) => e.type === 'interrupted'), 'an interrupted event');
    assert.ok(!ev.some((e) => e.type === 'proposal-failed'), 'no round became a no-proposal');
    assert.ok(Object.values(mid.rounds).every((r) => r.status === 'done'), JSON.stringify(mid.rounds));
    assert.ok(Object.keys(mid.rounds).length < 3, 'the interrupted round is not recorded as done');
    // Everything recorded so far is exactly what the uninterrupted run recorded: no reward, verdict or record of the interrupted work.
    for (const id of mid.ids) assert.ok(want.ids.includes(id), `record ${id} is not one of the uninterrupted run's`);
    for (const r of mid.rewards) assert.ok(want.rewards.includes(r), `reward ${r} differs from the uninterrupted run`);
    for (const bug of mid.bugs) {
      const same = want.bugs.find((x) => x.id === bug.id);
      assert.ok(same, `bug ${bug.id} is not one of the uninterrupted run's`);
      assert.notEqual(bug.valid, false, `bug ${bug.id} was judged invalid while the engine stopped`);
      if (bug.status === 'done') assert.deepEqual(bug, same);
      else assert.equal(bug.rInject, undefined, `bug ${bug.id} got r_inject while the engine stopped`);
    }
    for (const bug of mid.bugs) {
      const attempts = path.join(b, 'bugs', bug.id, 'attempts');
      for (const n of fs.existsSync(attempts) ? fs.readdirSync(attempts) : []) {
        const marker = path.join(attempts, n, 'evaluation.json');
        if (fs.existsSync(marker)) {
          const m = JSON.parse(fs.readFileSync(marker, 'utf8')) as { reward?: number };
          assert.ok(want.rewards.includes(`${bug.id}-s${n}:${m.reward}`), `attempt ${bug.id}/${n} has a marker the uninterrupted run does not`);
        }
      }
    }

    // The engine comes back; resuming redoes exactly the interrupted work.
    await engine.start();
    const rb = await runCli(['selfplay', '--resume', b, ...policy, '--json'], { DOCKER_HOST: engine.host });
    assert.equal(rb.code, 0, rb.stderr);
    const got = summarize(b);
    assert.deepEqual(got.bad, [], 'no torn line in trajectories.jsonl');
    assert.equal(got.status, 'finished');
    assert.deepEqual(got.bugs, want.bugs);
    assert.deepEqual(got.ids, want.ids);
    assert.equal(new Set(got.ids).size, got.ids.length, 'no record twice');
    assert.deepEqual(got.rewards, want.rewards);
    assert.deepEqual(got.counters, want.counters);
    assert.deepEqual(Object.keys(got.rounds).sort(), ['0', '1', '2']);
    assert.ok(Object.values(got.rounds).every((r) => r.status === 'done'));
    const after = JsonlFile.read<SessionEvent>(events).records;
    assert.ok(after.some((e) => e.type === 'session-started' && e.resumed));
  });
});
