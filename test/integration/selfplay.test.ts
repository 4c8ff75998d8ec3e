/**
 * Self-play sessions against the real engine: the bootstrap proposer with a
 * scripted (replayed) solver, rewards per the paper, higher-order bugs, the
 * event order, kill -9 and resume, concurrency, and bad input.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { proposeBug } from '../../src/core/bootstrap';
import { parseDiff, changedFiles, loadArtifact } from '../../src/core/artifact/artifact';
import { injectorReward } from '../../src/core/judge/rewards';
import { validateArtifact, type ValidationReport } from '../../src/core/judge/checks';
import { DEFAULT_CONFIG, type SelfPlayConfig, SelfPlaySession, type SessionEvent, type SessionFile } from '../../src/core/selfplay/session';
import { makePlayers } from '../../src/core/selfplay/players';
import { ReplayPolicy } from '../../src/core/policy';
import { JsonlFile, RunStore, type BugRecord } from '../../src/core/runs/store';
import type { TrajectoryRecord } from '../../src/core/base/trajectory';
import { FIXTURES, PYLEDGER, ROOT, CLI, TEXT_LOADER } from '../helpers/paths';
import { assertNoContainers, hashTree, ourSandboxes } from '../helpers/docker';
import { runCli } from '../helpers/cli';
import { copyFixture } from '../helpers/fixtures';

const tmp = (p: string) => fs.mkdtempSync(path.join(os.tmpdir(), p));

/** A solver that reverts the bug (all of it, or one file of it) through the bash tool, then submits. */
function scriptedSolver(bugDiff: string, onlyFile?: string): ReplayPolicy {
  const include = onlyFile ? ` --include='${onlyFile}'` : '';
  return new ReplayPolicy({
    messages: [
      `Reverting.\n\n<tool: bash>\ncat > /tmp/bug.diff <<'SSR_EOF'\n${bugDiff.endsWith('\n') ? bugDiff : bugDiff + '\n'}SSR_EOF\ngit apply -R${include} /tmp/bug.diff && echo reverted\n</tool>`,
      '<tool: submit>\n</tool>',
    ],
  });
}

function config(repoDir: string, over: Partial<SelfPlayConfig> = {}): SelfPlayConfig {
  return { ...DEFAULT_CONFIG, repoDir, rounds: 1, attempts: 4, concurrency: 2, seed: 3, ...over };
}

describe('self-play session: bootstrap proposer + scripted solver (real engine)', function () {
  this.timeout(900_000);
  const repoHash = hashTree(PYLEDGER);
  let result: SessionFile;
  let store: RunStore;
  const events: SessionEvent[] = [];
  const out = tmp('ssr-sp-');
  let maxSandboxes = 0;

  before(async () => {
    const base = makePlayers({});
    const players = {
      ...base,
      // A multi-file bug, so a partial fix exists and leaves a higher-order bug.
      bootstrap: async (o: Parameters<NonNullable<typeof base.bootstrap>>[0]) => {
        const p = await proposeBug({ repoDir: o.repoDir, image: o.image, seed: o.seed, seen: o.seen, strategy: 'multi', signal: o.signal });
        return { key: p.key, strategy: p.strategy, artifact: p.artifact, notes: p.notes, runs: p.runs };
      },
      // Attempts 0 and 1 fix the bug; 2 and 3 fix only its first file.
      policy: async (_role: 'injector' | 'solver', ctx: { bugId?: string; attempt?: number }) => {
        const { artifact } = await loadArtifact(path.join(out, 'bugs', ctx.bugId!, 'artifact'));
        const first = changedFiles(parseDiff(artifact.bugInjectDiff))[0];
        return scriptedSolver(artifact.bugInjectDiff, (ctx.attempt ?? 0) >= 2 ? first : undefined);
      },
    };
    const session = await SelfPlaySession.create(config(PYLEDGER), players, { out, onEvent: (e) => events.push(e) });
    store = session.store;
    const poll = setInterval(async () => {
      maxSandboxes = Math.max(maxSandboxes, (await ourSandboxes()).length);
    }, 100);
    try {
      result = await session.run();
    } finally {
      clearInterval(poll);
    }
  });

  after(async () => {
    assert.equal(hashTree(PYLEDGER), repoHash, 'the repository was modified');
    await assertNoContainers();
  });

  it('finishes with a valid first-order bug and its higher-order bugs', async () => {
    assert.equal(result.status, 'finished', result.note);
    const bugs = await store.listBugs();
    const first = bugs.filter((b) => b.order === 1);
    assert.equal(first.length, 1);
    assert.equal(first[0].valid, true);
    const ho = bugs.filter((b) => b.order === 2);
    assert.ok(ho.length >= 1, 'a failed attempt became a higher-order bug');
    for (const b of ho) {
      assert.equal(b.parent, first[0].id);
      assert.ok(b.parentAttempt === 2 || b.parentAttempt === 3);
    }
  });

  it("validation takes the proposer's own runs of the buggy and weakened states, and they are what a fresh validation finds", async () => {
    const [bug] = (await store.listBugs()).filter((b) => b.order === 1);
    const report = JSON.parse(fs.readFileSync(path.join(store.bugDir(bug.id), 'validation.json'), 'utf8')) as ValidationReport;
    const byState = new Map(report.runs.map((r) => [r.state, r]));
    assert.equal(byState.get('buggy')?.cached, true, 'the buggy state was run again');
    assert.equal(byState.get('weakened')?.cached, true, 'the weakened state was run again');
    // The original: the proposer's run is one repetition, validation made the other.
    assert.equal(byState.get('original')?.repetitions, 2);
    // The proposer's runs keep what the judge's reporter saw: its broken tests are corroborated, not the script's word alone.
    assert.equal(report.brokenSeenBy, 'reporter', report.checks.find((c) => c.id === 'bug_breaks_tests')?.detail);
    // The restore states of a multi-file bug still run.
    for (const r of report.runs.filter((x) => x.state.startsWith('restore:'))) assert.notEqual(r.cached, true);
    // A validation with nothing cached reaches the same verdicts from the same results.
    const { artifact } = await loadArtifact(path.join(store.bugDir(bug.id), 'artifact'));
    const fresh = await validateArtifact({ repoDir: PYLEDGER, artifact, concurrency: 2 });
    assert.deepEqual(fresh.checks.map((c) => [c.id, c.status]), report.checks.map((c) => [c.id, c.status]));
    for (const state of ['original', 'buggy', 'weakened']) {
      assert.deepEqual(fresh.runs.find((r) => r.state === state)?.results, byState.get(state)?.results, state);
    }
    assert.deepEqual(fresh.hiddenTests, report.hiddenTests);
    assert.deepEqual(fresh.oracleFailing, report.oracleFailing);
  });

  it('rewards per the paper: r_solve +-1 per attempt, r_inject = 1 - 1.8 s', async () => {
    const [bug] = (await store.listBugs()).filter((b) => b.order === 1);
    assert.equal(bug.attempts, 4);
    assert.equal(bug.solved, 2);
    assert.equal(bug.solveRate, 0.5);
    assert.ok(Math.abs(bug.rInject! - injectorReward(true, 0.5)) < 1e-12);
    assert.ok(Math.abs(bug.rInject! - 0.1) < 1e-12);
    const { records, bad } = JsonlFile.read<TrajectoryRecord>(path.join(out, 'trajectories.jsonl'));
    assert.deepEqual(bad, []);
    const mine = records.filter((r) => r.bugId === bug.id);
    assert.equal(mine.length, 4);
    for (const r of mine) {
      assert.equal(r.role, 'solver');
      assert.equal(r.group, `solve:${bug.id}`);
      assert.equal(r.reward, (r.attempt ?? 0) < 2 ? 1 : -1);
      assert.ok(fs.existsSync(path.join(out, r.path)));
    }
    assert.equal(new Set(records.map((r) => r.id)).size, records.length, 'no duplicate records');
  });

  it('stores every attempt: trajectory, patch and evaluation', async () => {
    const [bug] = (await store.listBugs()).filter((b) => b.order === 1);
    for (let n = 0; n < 4; n++) {
      const dir = path.join(out, 'bugs', bug.id, 'attempts', String(n));
      for (const f of ['trajectory.json', 'pred_patch.diff', 'evaluation.json']) assert.ok(fs.existsSync(path.join(dir, f)), `${n}/${f}`);
      const ev = JSON.parse(fs.readFileSync(path.join(dir, 'evaluation.json'), 'utf8'));
      assert.equal(ev.solved, n < 2);
    }
    assert.ok(fs.existsSync(path.join(out, 'bugs', bug.id, 'validation.json')));
    for (const f of ['test_script.sh', 'test_files.txt', 'test_parser.py', 'bug_inject.diff', 'test_weaken.diff']) {
      assert.ok(fs.existsSync(path.join(out, 'bugs', bug.id, 'artifact', f)));
    }
  });

  it('emits events in order', () => {
    const types = events.map((e) => e.type);
    assert.equal(types[0], 'session-started');
    assert.equal(types[types.length - 1], 'session-finished');
    const idx = (pred: (e: SessionEvent) => boolean) => events.findIndex(pred);
    const bugId = (events.find((e) => e.type === 'proposal') as Extract<SessionEvent, { type: 'proposal' }>).bugId;
    const order = [
      idx((e) => e.type === 'round-started'),
      idx((e) => e.type === 'proposal'),
      idx((e) => e.type === 'check' && e.bugId === bugId),
      idx((e) => e.type === 'validated' && e.bugId === bugId),
      idx((e) => e.type === 'attempt-started' && e.bugId === bugId),
      idx((e) => e.type === 'attempt-finished' && e.bugId === bugId),
      idx((e) => e.type === 'reward' && e.bugId === bugId),
      idx((e) => e.type === 'higher-order' && e.parent === bugId),
    ];
    for (let i = 0; i < order.length; i++) assert.ok(order[i] >= 0, `event ${i} present`);
    for (let i = 1; i < order.length; i++) assert.ok(order[i - 1] < order[i], `event ${i - 1} before ${i}: ${order}`);
    // Progress: the bootstrap proposer's steps, then validation's planned runs, each started and finished before the verdict.
    assert.ok(idx((e) => e.type === 'proposing') < order[1], 'the proposer said what it did before its proposal');
    const planned = events.find((e) => e.type === 'runs-planned' && e.bugId === bugId) as Extract<SessionEvent, { type: 'runs-planned' }>;
    // The proposer's own runs of the buggy and weakened states are reused (runCache.ts): cached, not run again.
    assert.ok(planned && [...planned.states, ...(planned.cached ?? [])].includes('buggy'), `validation announced its runs: ${JSON.stringify(planned)}`);
    const finished = events.filter((e, i) => e.type === 'run-finished' && e.bugId === bugId && i < order[3]);
    assert.equal(finished.length, planned.states.length, 'every planned run finished before the verdict');
    // The file log holds the same stream.
    const logged = JsonlFile.read<SessionEvent>(path.join(out, 'events.jsonl')).records.map((e) => e.type);
    assert.deepEqual(logged, types);
  });

  it('runs two sandboxes at once with concurrency 2', () => {
    assert.ok(maxSandboxes >= 2, `at most ${maxSandboxes} sandbox(es) seen at once`);
    const [bug] = events.filter((e) => e.type === 'proposal') as Array<Extract<SessionEvent, { type: 'proposal' }>>;
    const started = events.map((e, i) => ({ e, i })).filter(({ e }) => e.type === 'attempt-started' && e.bugId === bug.bugId);
    const firstDone = events.findIndex((e) => e.type === 'attempt-finished' && e.bugId === bug.bugId);
    assert.ok(started.length >= 2 && started[1].i < firstDone, 'the second attempt started before the first finished');
  });

  it('keeps metrics in session.json', () => {
    const m = result.metrics!;
    assert.equal(m.proposals, 1);
    assert.ok(m.validBugs >= 2);
    assert.equal(m.solveRateHistogram['(0.25,0.5]'] >= 1, true);
    assert.ok(m.attempts >= 4);
    assert.ok(m.artifactsPerHour > 0);
    const onDisk = JSON.parse(fs.readFileSync(path.join(out, 'session.json'), 'utf8'));
    assert.equal(onDisk.status, 'finished');
    assert.deepEqual(onDisk.metrics.failuresPerCheck, m.failuresPerCheck);
  });

  it('exports the valid bugs in SWE-bench form, with patches git can apply', async () => {
    const r = await runCli(['export', '--run', out, '--format', 'swebench']);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(rows.length >= 2);
    for (const row of rows) {
      for (const k of ['instance_id', 'repo', 'patch', 'test_patch', 'FAIL_TO_PASS', 'PASS_TO_PASS']) assert.ok(k in row, k);
      assert.ok(row.FAIL_TO_PASS.length > 0);
      assert.ok(!row.FAIL_TO_PASS.some((t: string) => row.PASS_TO_PASS.includes(t)));
    }
    // The fix applies to the buggy state and gives back the original code.
    const work = tmp('ssr-exp-');
    copyFixture(PYLEDGER, work);
    const sh = (cmd: string) => new Promise<number>((res) => spawn('bash', ['-c', cmd], { cwd: work, stdio: 'ignore' }).on('close', (c) => res(c ?? 1)));
    fs.writeFileSync(path.join(work, '.setup.diff'), rows[0].ssr_setup_patch);
    fs.writeFileSync(path.join(work, '.fix.diff'), rows[0].patch);
    fs.writeFileSync(path.join(work, '.test.diff'), rows[0].test_patch);
    assert.equal(await sh('git init -q && git add -A && git -c user.name=t -c user.email=t@t commit -qm o'), 0);
    assert.equal(await sh('git apply .setup.diff'), 0, 'setup applies');
    assert.equal(await sh('git apply .fix.diff && git apply .test.diff'), 0, 'fix and test patch apply');
    assert.equal(await sh('git diff --quiet HEAD -- . ":(exclude).*.diff"'), 0, 'back to the original');
    fs.rmSync(work, { recursive: true, force: true });
  });
});

describe('self-play: kill -9 and resume (real engine)', function () {
  this.timeout(900_000);
  after(assertNoContainers);

  const replayFile = path.join(tmp('ssr-replay-'), 'noop.json');
  fs.writeFileSync(replayFile, JSON.stringify(['<tool: bash>\npython3 -m pytest -q -x tests 2>&1 | tail -2\n</tool>', '<tool: submit>\n</tool>']));
  const args = (out: string) => [
    'selfplay', '--repo', PYLEDGER, '--rounds', '3', '--attempts', '2', '--concurrency', '2', '--seed', '11',
    '--policy', 'replay', '--trajectory', replayFile, '--out', out, '--json',
  ];

  function summarize(out: string) {
    const bugs = fs.readdirSync(path.join(out, 'bugs')).sort().map((id) => {
      const b = JSON.parse(fs.readFileSync(path.join(out, 'bugs', id, 'bug.json'), 'utf8')) as BugRecord;
      return { id: b.id, order: b.order, valid: b.valid, attempts: b.attempts, solved: b.solved, rInject: b.rInject, status: b.status };
    });
    const { records, bad } = JsonlFile.read<TrajectoryRecord>(path.join(out, 'trajectories.jsonl'));
    const session = JSON.parse(fs.readFileSync(path.join(out, 'session.json'), 'utf8')) as SessionFile;
    return { bugs, ids: records.map((r) => r.id).sort(), rewards: records.map((r) => `${r.id}:${r.reward}`).sort(), bad, counters: session.counters, status: session.status };
  }

  it('resumes after SIGKILL to the same final state as an uninterrupted run, with nothing lost or duplicated', async () => {
    const a = tmp('ssr-a-');
    const ra = await runCli(args(a));
    assert.equal(ra.code, 0, ra.stderr);
    const want = summarize(a);
    assert.equal(want.status, 'finished');
    assert.ok(want.bugs.length >= 2);
    assert.equal(new Set(want.ids).size, want.ids.length);

    const b = tmp('ssr-b-');
    // Kill when the second solver attempt has started: mid-round, sandboxes running.
    const child = spawn(process.execPath, ['--import', 'tsx', '--require', TEXT_LOADER, CLI, ...args(b)], { cwd: ROOT, stdio: 'ignore' });
    const events = path.join(b, 'events.jsonl');
    const started = Date.now();
    await new Promise<void>((resolve, reject) => {
      const t = setInterval(() => {
        const text = fs.existsSync(events) ? fs.readFileSync(events, 'utf8') : '';
        if ((text.match(/"type":"attempt-started"/g) ?? []).length >= 3) {
          clearInterval(t);
          child.kill('SIGKILL');
          resolve();
        } else if (Date.now() - started > 300_000) {
          clearInterval(t);
          reject(new Error('the session never reached its third attempt'));
        }
      }, 50);
    });
    await new Promise((r) => child.on('close', r));
    const mid = JSON.parse(fs.readFileSync(path.join(b, 'session.json'), 'utf8')) as SessionFile;
    assert.equal(mid.status, 'running', 'the killed session did not get to finish');

    const forgot = await runCli(['selfplay', '--resume', b, '--json']);
    assert.equal(forgot.code, 2, 'resuming without the policy is refused');
    assert.match(forgot.stderr, /was started with --policy replay; pass the same policy flags/);
    const rb = await runCli(['selfplay', '--resume', b, '--policy', 'replay', '--trajectory', replayFile, '--json']);
    assert.equal(rb.code, 0, rb.stderr);
    const got = summarize(b);
    assert.deepEqual(got.bad, [], 'no torn line in trajectories.jsonl');
    assert.deepEqual(got.bugs, want.bugs);
    assert.deepEqual(got.ids, want.ids);
    assert.deepEqual(got.rewards, want.rewards);
    assert.deepEqual(got.counters, want.counters);
    assert.equal(got.status, 'finished');
    const ev = JsonlFile.read<SessionEvent>(path.join(b, 'events.jsonl'));
    assert.deepEqual(ev.bad, []);
    assert.ok(ev.records.some((e) => e.type === 'session-started' && e.resumed));
  });
});

describe('self-play: bad input (real engine)', function () {
  this.timeout(600_000);
  after(assertNoContainers);

  it('a repository with no tests: says why, keeps what it has, touches nothing but .ssr/', async () => {
    const repo = tmp('ssr-notests-');
    fs.writeFileSync(path.join(repo, 'main.py'), 'def f():\n    return 1\n');
    const before = hashTree(repo);
    const r = await runCli(['selfplay', '--repo', repo, '--rounds', '1']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /no proposal: .*no tests/i);
    assert.match(r.stdout, /proposals\s+1 \(1 without an artifact\)/);
    fs.rmSync(path.join(repo, '.ssr'), { recursive: true });
    assert.equal(hashTree(repo), before);
  });

  it('a repository whose suite fails on the original', async () => {
    const repo = tmp('ssr-failing-');
    fs.mkdirSync(path.join(repo, 'tests'));
    fs.writeFileSync(path.join(repo, 'lib.py'), 'def f():\n    return 1\n');
    fs.writeFileSync(path.join(repo, 'tests', 'test_lib.py'), 'from lib import f\n' + [1, 2, 3, 4, 5, 6].map((i) => `def test_${i}():\n    assert f() == 2\n`).join('\n'));
    fs.writeFileSync(path.join(repo, 'conftest.py'), '');
    const r = await runCli(['selfplay', '--repo', repo, '--rounds', '1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no proposal: .*(fail|pass)/i);
  });

  it('a broken image: exit 2 and how to fix it', async () => {
    const r = await runCli(['selfplay', '--repo', PYLEDGER, '--rounds', '1', '--image', 'ssr-broken:0', '--out', path.join(tmp('ssr-img-'), 'run')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr + r.stdout, /ssr-broken:0 is not present/);
  });

  it('a policy that never produces a valid artifact: invalid bugs rewarded -1 and recorded for training', async () => {
    const out = tmp('ssr-badinj-');
    const players = makePlayers({
      policy: { kind: 'replay', trajectory: path.join(FIXTURES, 'trajectories', 'solve-fail.json') },
      injectorReplay: { kind: 'replay', trajectory: path.join(FIXTURES, 'trajectories', 'inject-invalid.json') },
    });
    const session = await SelfPlaySession.create(config(PYLEDGER, { proposer: 'policy', attempts: 1, policy: { kind: 'replay' } }), players, { out });
    const res = await session.run();
    assert.equal(res.status, 'finished', res.note);
    const bugs = await session.store.listBugs();
    assert.equal(bugs.length, 1);
    assert.equal(bugs[0].valid, false);
    assert.equal(bugs[0].firstFailure, 'bug_breaks_tests');
    assert.equal(bugs[0].rInject, -1);
    const { records } = JsonlFile.read<TrajectoryRecord>(path.join(out, 'trajectories.jsonl'));
    assert.equal(records.length, 1);
    assert.equal(records[0].role, 'injector');
    assert.equal(records[0].reward, -1);
    assert.equal(records[0].group, 'inject:0');
    assert.equal(res.metrics!.failuresPerCheck.bug_breaks_tests, 1);
  });

  it('refuses to resume a run another live process is running, and a directory that is not a run', async () => {
    await assert.rejects(RunStore.open(tmp('ssr-notrun-')), /not a run directory/);
  });
});
