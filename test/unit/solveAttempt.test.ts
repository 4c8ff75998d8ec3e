/**
 * The one solve path's bookkeeping: a judged attempt leaves its files, its
 * marker last and one record; an attempt the infrastructure broke leaves no
 * reward, no record, and (in a session) no marker, so resuming redoes it.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';
import { InfrastructureError } from '../../src/core/base/errors';
import { ReplayPolicy } from '../../src/core/policy';
import { attemptTrajectoryId, runSolveAttempt, updateBugRewards, type AttemptEvent, type EpisodeOutcome } from '../../src/core/selfplay/solveAttempt';
import { resumeCommand } from '../../src/core/selfplay/session';
import { JsonlFile, RunStore, type BugRecord } from '../../src/core/runs/store';
import { TRAJECTORY_FORMAT, type Trajectory } from '../../src/core/base/trajectory';
import type { ArtifactFiles } from '../../src/core/artifact/artifact';

const ARTIFACT: ArtifactFiles = { testScript: 'true\n', testParser: 'print("{}")\n', testFiles: ['t.py'], bugInjectDiff: '', testWeakenDiff: '' };

function trajectory(id: string, over: Partial<Trajectory> = {}): Trajectory {
  const now = new Date().toISOString();
  return {
    format: TRAJECTORY_FORMAT,
    id,
    role: 'solver',
    policy: { kind: 'replay' },
    task: { repo: '/r' },
    messages: [],
    steps: [],
    tokens: [],
    status: 'submitted',
    timings: { startedAt: now, finishedAt: now, totalMs: 0 },
    info: {},
    ...over,
  } as Trajectory;
}

describe('one solve path (solveAttempt.ts)', () => {
  let dir: string;
  let store: RunStore;
  let bug: BugRecord;
  const events: AttemptEvent[] = [];
  const healthy = new Docker();
  let gone: Docker;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-attempt-'));
    gone = new Docker({ socketPath: path.join(dir, 'no-engine.sock') });
    store = await RunStore.create({ repoDir: dir, out: path.join(dir, 'run') });
    const now = new Date().toISOString();
    bug = { id: 'r000-abc', order: 1, round: 0, source: 'bootstrap', status: 'solving', valid: true, createdAt: now, updatedAt: now };
    await store.writeBug(bug);
    events.length = 0;
  });
  afterEach(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const attempt = (n: number, outcome: (id: string) => EpisodeOutcome, engine: Docker, unfinished: 'redo' | 'mark' = 'redo') =>
    runSolveAttempt({
      store,
      bug,
      artifact: ARTIFACT,
      artifactId: 'abc',
      attempt: n,
      engine,
      unfinished,
      emit: (e) => events.push(e),
      policy: async () => new ReplayPolicy({ messages: ['<tool: submit>\n</tool>'] }),
      episode: async ({ id }) => outcome(id),
    });

  const judged = (solved: boolean) => (id: string): EpisodeOutcome => ({
    trajectory: trajectory(id),
    patch: 'diff --git a/x b/x\n',
    evaluation: { solved, reward: solved ? 1 : -1, detail: solved ? 'solved' : 'not solved', applied: true, failedTests: [], missingTests: [], durationMs: 1 },
    reward: solved ? 1 : -1,
  });
  const sandboxDied = (id: string): EpisodeOutcome => ({
    trajectory: trajectory(id, { status: 'error', error: 'the bash tool failed: sandbox 0123456789ab stopped', info: { error_kind: 'sandbox' } }),
  });

  it('a judged attempt: files, the marker, one record, and the bug rewards', async () => {
    const a = await attempt(0, judged(true), healthy);
    const b = await attempt(1, judged(false), healthy);
    assert.deepEqual([a.solved, a.reward, b.solved, b.reward], [true, 1, false, -1]);
    for (const n of [0, 1]) {
      for (const f of ['trajectory.json', 'pred_patch.diff', 'evaluation.json']) assert.ok(fs.existsSync(path.join(store.attemptDir(bug.id, n), f)), f);
    }
    const recs = JsonlFile.read<{ id: string; reward: number; group: string }>(store.trajectories.file).records;
    assert.deepEqual(recs.map((r) => [r.id, r.reward, r.group]), [[attemptTrajectoryId(bug.id, 0), 1, `solve:${bug.id}`], [attemptTrajectoryId(bug.id, 1), -1, `solve:${bug.id}`]]);
    const updated = await updateBugRewards(store, bug, 0.8, (e) => events.push(e));
    assert.deepEqual([updated.attempts, updated.solved, updated.solveRate], [2, 1, 0.5]);
    assert.ok(Math.abs(updated.rInject! - (1 - 1.8 * 0.5)) < 1e-9);
    assert.deepEqual(events.map((e) => e.type), ['attempt-started', 'attempt-finished', 'attempt-started', 'attempt-finished', 'reward']);
  });

  it('a sandbox killed from outside (engine healthy): no marker in a session, no reward, no record', async () => {
    await assert.rejects(attempt(0, sandboxDied, healthy), (err: unknown) => err instanceof InfrastructureError && /died under SSR/.test(err.message));
    const d = store.attemptDir(bug.id, 0);
    assert.ok(!fs.existsSync(path.join(d, 'evaluation.json')), 'no completion marker: resuming redoes the attempt');
    assert.equal(JsonlFile.read(store.trajectories.file).records.length, 0);
    assert.equal(JSON.parse(fs.readFileSync(path.join(d, 'trajectory.json'), 'utf8')).reward, undefined);
    const updated = await updateBugRewards(store, bug, 0.8, () => undefined);
    assert.equal(updated.attempts, 0);
    assert.equal(updated.rInject, undefined);
  });

  it('one-off solving marks the interrupted attempt without a reward; a judged verdict while the engine is gone is not kept', async () => {
    await assert.rejects(attempt(0, sandboxDied, healthy, 'mark'), InfrastructureError);
    const m = JSON.parse(fs.readFileSync(path.join(store.attemptDir(bug.id, 0), 'evaluation.json'), 'utf8'));
    assert.deepEqual([m.status, m.reward, m.solved], ['interrupted', undefined, false]);
    await assert.rejects(attempt(1, judged(false), gone), (err: unknown) => err instanceof InfrastructureError && /cannot be reached/.test(err.message));
    assert.ok(!fs.existsSync(path.join(store.attemptDir(bug.id, 1), 'evaluation.json')));
    assert.equal(JsonlFile.read(store.trajectories.file).records.length, 0);
  });

  it('a policy failure is not the infrastructure: recorded unjudged, as before', async () => {
    const a = await attempt(0, (id) => ({ trajectory: trajectory(id, { status: 'error', error: 'the model server failed', info: { error_kind: 'policy' } }) }), healthy);
    assert.equal(a.reward, undefined);
    assert.ok(fs.existsSync(path.join(store.attemptDir(bug.id, 0), 'evaluation.json')));
  });

  it('the resume command names the run and the policy, never a secret, and quotes what needs quoting', () => {
    assert.equal(resumeCommand('/r/run 1', { proposer: 'bootstrap' }), "ssr selfplay --resume '/r/run 1'");
    assert.equal(
      resumeCommand('/r/x', { proposer: 'policy', policy: { kind: 'openai', model: 'qwen', baseUrl: 'http://h:8000/v1' } }),
      'ssr selfplay --resume /r/x --policy openai --model qwen --base-url http://h:8000/v1',
    );
  });
});
