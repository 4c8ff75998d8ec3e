/**
 * src/core/selfplay/actions.ts without Docker: reading run directories tolerantly
 * (a file edited by hand is reported against its entry), the checks' order,
 * the stepper's view of a trajectory, the state before a step, solving and
 * re-validating a stored bug through replaceable episode functions, and the
 * model-server probe against a local HTTP server.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  formatValidationReport,
  listAttempts,
  listBugEntries,
  listRunEntries,
  orderedChecks,
  policyDescription,
  readBugArtifact,
  probeOpenAI,
  readValidation,
  repoFileReader,
  revalidateBug,
  runsRoot,
  sessionState,
  solveBug,
  stateBeforeStep,
  stepView,
  trajectoryView,
} from '../../src/core/selfplay/actions';
import type { ValidationReport } from '../../src/core/judge/checks';
import { JsonlFile } from '../../src/core/runs/store';
import type { Trajectory } from '../../src/core/base/trajectory';
import { BENCH_RUN, CORRUPT_RUN, PAYLOAD, RECORDED, RECORDED_BUG, RECORDED_RUN, payloadTrajectory, writeBenchRun, writeCorruptRun, writeRecordedRun } from '../e2e/fixtures';
import { PYLEDGER } from '../helpers/paths';

describe('actions: run directories for front ends', () => {
  let tmp: string;
  let runs: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-actions-'));
    runs = path.join(tmp, '.ssr', 'runs');
    writeRecordedRun(runs, PYLEDGER);
    writeCorruptRun(runs);
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('resolves the runs folder from the setting', () => {
    assert.equal(runsRoot('/repo'), path.join('/repo', '.ssr', 'runs'));
    assert.equal(runsRoot('/repo', 'out/runs'), path.resolve('/repo', 'out/runs'));
    assert.equal(runsRoot('/repo', '/abs/runs'), '/abs/runs');
  });

  it('lists runs newest first and reports a corrupt session.json on its entry', async () => {
    const list = await listRunEntries(runs);
    assert.deepEqual(list.map((r) => r.id), [RECORDED_RUN, CORRUPT_RUN]);
    assert.equal(list[0].state, 'finished');
    assert.equal(list[1].state, 'unreadable');
    assert.match(list[1].error!, /not valid JSON/);
    assert.deepEqual(await listRunEntries(path.join(tmp, 'nothing')), []);
  });

  it('shows a running session whose process is gone as interrupted', () => {
    assert.equal(sessionState({ status: 'running', pid: 999_999_999, host: os.hostname() }), 'interrupted');
    assert.equal(sessionState({ status: 'running', pid: process.pid, host: os.hostname() }), 'running');
    assert.equal(sessionState({ status: 'running', pid: 1, host: 'another-machine' }), 'running');
    assert.equal(sessionState({ status: 'finished', pid: 1, host: 'x' }), 'finished');
  });

  it('lists bugs and turns a corrupt bug.json into an entry with an error', async () => {
    const run = path.join(runs, RECORDED_RUN);
    fs.mkdirSync(path.join(run, 'bugs', 'r001-broken'), { recursive: true });
    fs.writeFileSync(path.join(run, 'bugs', 'r001-broken', 'bug.json'), '{"id": "r001-broken", ');
    const bugs = await listBugEntries(run);
    assert.equal(bugs.length, 2);
    assert.equal(bugs.find((b) => b.id === RECORDED_BUG)!.record!.valid, true);
    assert.match(bugs.find((b) => b.id === 'r001-broken')!.error!, /not valid JSON/);
    fs.writeFileSync(path.join(run, 'bugs', RECORDED_BUG, 'validation.json'), 'nope');
    assert.match((await readValidation(run, RECORDED_BUG)).error!, /not valid JSON/);
  });

  it('orders checks failing first, then in the paper order', async () => {
    const bench = writeBenchRun(runs, PYLEDGER, 4, 3);
    const { report } = await readValidation(bench, 'r003-bench0000003');
    const ordered = orderedChecks(report!);
    assert.equal(ordered[0].status, 'fail');
    assert.equal(ordered[0].id, 'bug_breaks_tests');
    assert.deepEqual(ordered.slice(1, 5).map((c) => c.status), ['pass', 'pass', 'pass', 'pass']);
    assert.ok(ordered.slice(5).every((c) => c.status === 'skip'));
    const md = formatValidationReport(report!);
    assert.match(md, /invalid \(bug_breaks_tests\)/);
    assert.equal(path.basename(bench), BENCH_RUN);
  });

  it('lists attempts with their results', async () => {
    const attempts = await listAttempts(path.join(runs, RECORDED_RUN), RECORDED_BUG);
    assert.deepEqual(attempts.map((a) => [a.n, a.result?.solved]), [[0, true], [1, false]]);
    assert.ok(attempts[0].trajectory && attempts[0].patch);
  });

  it('makes the stepper view: assistant text per step, no token data, text kept as it is', () => {
    const t = payloadTrajectory();
    const v = trajectoryView(t);
    assert.equal(v.steps.length, 3);
    assert.match(v.steps[0].assistant, /Thought 1/);
    assert.ok(v.steps[0].assistant.includes(PAYLOAD));
    assert.ok(v.task.includes(PAYLOAD));
    assert.equal(v.steps[2].exitCode, 1);
    assert.equal((v as unknown as { tokens?: unknown }).tokens, undefined);
    const recorded = JSON.parse(fs.readFileSync(RECORDED, 'utf8')) as Trajectory;
    assert.deepEqual(
      recorded.steps.map((s) => stepView(recorded, s).hasDiff),
      recorded.steps.map((s) => Boolean(s.diff)),
    );
  });

  it('rebuilds the state before a step: bug and weakening, then the earlier steps', async () => {
    const recorded = JSON.parse(fs.readFileSync(RECORDED, 'utf8')) as Trajectory;
    const artifact = await readBugArtifact(path.join(runs, RECORDED_RUN), RECORDED_BUG);
    const withDiff = recorded.steps.filter((s) => s.diff);
    assert.ok(withDiff.length >= 2);
    const before = stateBeforeStep(repoFileReader(PYLEDGER), recorded, withDiff[0].index, artifact);
    assert.match(before('pyledger/money.py')!, /return \[\]/, 'the solver starts from the buggy money.py');
    const later = stateBeforeStep(repoFileReader(PYLEDGER), recorded, withDiff[1].index, artifact);
    assert.doesNotMatch(later('pyledger/money.py')!.split('def allocate')[1].split('def split')[0], /return \[\]\n/, 'the first edit fixed allocate');
  });

  it('describes a policy without its secrets', () => {
    assert.deepEqual(policyDescription({ kind: 'openai', baseUrl: 'http://h/v1', model: 'm', apiKey: 'sk-secret' }), { kind: 'openai', baseUrl: 'http://h/v1', model: 'm' });
    assert.equal(policyDescription(undefined), undefined);
  });

  it('solves a stored bug: numbered attempts, evaluation marker, trajectory record, solve rate and r_inject', async () => {
    const run = path.join(runs, RECORDED_RUN);
    const recorded = JSON.parse(fs.readFileSync(RECORDED, 'utf8')) as Trajectory;
    const steps: number[] = [];
    const res = await solveBug({
      runDir: run,
      bugId: RECORDED_BUG,
      policy: { kind: 'replay', trajectory: RECORDED },
      attempts: 2,
      onStep: (_n, s) => steps.push(s.index),
      solve: async (o) => {
        for (const s of recorded.steps) o.onStep?.(s, recorded);
        const solved = o.attempt === 2;
        return {
          trajectory: { ...recorded, id: o.id!, reward: solved ? 1 : -1 },
          patch: 'diff --git a/x b/x\n',
          evaluation: { solved, reward: solved ? 1 : -1, detail: solved ? 'solved' : 'not solved', applied: true, failedTests: [], missingTests: [], durationMs: 1 },
          reward: solved ? 1 : -1,
        };
      },
    });
    assert.deepEqual(res.attempts.map((a) => [a.n, a.solved]), [[2, true], [3, false]]);
    assert.equal(steps.length, recorded.steps.length * 2);
    // Four judged attempts now: 0 solved, 1 not, 2 solved, 3 not.
    assert.equal(res.bug.attempts, 4);
    assert.equal(res.bug.solved, 2);
    assert.equal(res.bug.solveRate, 0.5);
    assert.ok(Math.abs(res.bug.rInject! - (1 - 1.8 * 0.5)) < 1e-9);
    const records = JsonlFile.read<{ id: string; reward: number; group: string }>(path.join(run, 'trajectories.jsonl')).records;
    // The fixture's two records, then the new attempts' records in the same GRPO group.
    assert.deepEqual(records.slice(2).map((r) => [r.id, r.reward, r.group]), [[`${RECORDED_BUG}-s2`, 1, `solve:${RECORDED_BUG}`], [`${RECORDED_BUG}-s3`, -1, `solve:${RECORDED_BUG}`]]);
    assert.equal(records.length, 4);
    const events = JsonlFile.read<{ type: string }>(path.join(run, 'events.jsonl')).records.map((e) => e.type);
    assert.ok(events.includes('attempt-finished') && events.includes('reward'));
    const session = JSON.parse(fs.readFileSync(path.join(run, 'session.json'), 'utf8'));
    assert.deepEqual([session.counters.attempts, session.counters.solved], [4, 2], 'the run summary follows');
    assert.equal(session.metrics.solved, 2);
  });

  it('refuses to solve an invalid bug and a run another process is running', async () => {
    const run = path.join(runs, RECORDED_RUN);
    const bugFile = path.join(run, 'bugs', RECORDED_BUG, 'bug.json');
    const bug = JSON.parse(fs.readFileSync(bugFile, 'utf8'));
    fs.writeFileSync(bugFile, JSON.stringify({ ...bug, valid: false, firstFailure: 'bug_scope' }));
    await assert.rejects(solveBug({ runDir: run, bugId: RECORDED_BUG, policy: { kind: 'replay', trajectory: RECORDED }, solve: async () => assert.fail('must not run') }), /invalid/);
    fs.writeFileSync(bugFile, JSON.stringify(bug));
    const sessionFile = path.join(run, 'session.json');
    const session = JSON.parse(fs.readFileSync(sessionFile, 'utf8'));
    // A live process of this host (our parent) runs the session.
    fs.writeFileSync(sessionFile, JSON.stringify({ ...session, status: 'running', pid: process.ppid, host: os.hostname() }));
    await assert.rejects(solveBug({ runDir: run, bugId: RECORDED_BUG, policy: { kind: 'replay', trajectory: RECORDED }, solve: async () => assert.fail('must not run') }), /being run by process/);
  });

  it('re-validates a stored bug and records the new verdict', async () => {
    const run = path.join(runs, RECORDED_RUN);
    const fake: ValidationReport = JSON.parse(fs.readFileSync(path.join(run, 'bugs', RECORDED_BUG, 'validation.json'), 'utf8'));
    fake.valid = false;
    fake.firstFailure = 'inverse_mutation';
    const seen: string[] = [];
    const report = await revalidateBug(run, RECORDED_BUG, {
      validate: async (o) => {
        assert.equal(o.repoDir, PYLEDGER);
        return fake;
      },
      onCheck: (c) => seen.push(c.id),
    });
    assert.equal(report.valid, false);
    const bug = JSON.parse(fs.readFileSync(path.join(run, 'bugs', RECORDED_BUG, 'bug.json'), 'utf8'));
    assert.equal(bug.valid, false);
    assert.equal(bug.status, 'invalid');
    assert.equal(bug.rInject, -1);
  });
});

describe('actions: model server probe', () => {
  let server: http.Server;
  let base: string;
  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/v1/models' && req.headers.authorization === 'Bearer good-key') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ data: [{ id: 'qwen-coder' }] }));
      } else if (req.url === '/v1/models') {
        res.writeHead(401);
        res.end('no');
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}/v1`;
  });
  after(() => server.close());

  it('lists the served models', async () => {
    assert.deepEqual(await probeOpenAI(base, 'good-key'), { ok: true, models: ['qwen-coder'] });
  });

  it('says the key was refused, without the key', async () => {
    const r = await probeOpenAI(base, 'bad-key-123');
    assert.equal(r.ok, false);
    assert.match((r as { error: string }).error, /refused the API key/);
    assert.doesNotMatch((r as { error: string }).error, /bad-key-123/);
  });

  it('says an unreachable server is unreachable', async () => {
    const port = (server.address() as { port: number }).port;
    const r = await probeOpenAI(`http://127.0.0.1:${port + 1}/v1`, undefined, 2000);
    assert.equal(r.ok, false);
    assert.match((r as { error: string }).error, /not reachable/);
    assert.match(((await probeOpenAI('ftp://x')) as { error: string }).error, /not an http/);
  });
});
