/**
 * The Tampered verdict end to end, without an engine: an evaluation the
 * file-level harness diff calls tampered is rewarded -1, never solved, and is
 * recorded in the attempt's marker, its trajectory record, bug.json, the
 * session metrics (per round and per policy version), the report data's list,
 * and `ssr evaluate`'s human output.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ReplayPolicy } from '../../src/core/policy';
import { runSolveAttempt, updateBugRewards, type AttemptMarker, type EpisodeOutcome } from '../../src/core/selfplay/solveAttempt';
import { computeMetrics, type SessionFile } from '../../src/core/selfplay/session';
import { JsonlFile, RunStore, type BugRecord } from '../../src/core/runs/store';
import { TRAJECTORY_FORMAT, type PolicyInfo, type Trajectory, type TrajectoryRecord } from '../../src/core/base/trajectory';
import { tamperedEvaluation, type Evaluation } from '../../src/core/judge/evaluate';
import { harnessDiffTampering } from '../../src/core/judge/harnessDiff';
import { loadRunReport } from '../../src/core/report/data';
import { attemptSummaries } from '../../src/core/report/attempts';
import { evaluationLines } from '../../src/cli/commands/evaluate';
import { tamperedLines } from '../../src/cli/commands/report';

const PTH = 'diff --git a/x.pth b/x.pth\nnew file mode 100644\n--- /dev/null\n+++ b/x.pth\n@@ -0,0 +1 @@\n+import flip\n';

function trajectory(id: string, policy: PolicyInfo): Trajectory {
  const now = new Date().toISOString();
  return {
    format: TRAJECTORY_FORMAT, id, role: 'solver', policy, task: { repo: '/r' }, messages: [], steps: [], tokens: [], status: 'submitted',
    timings: { startedAt: now, finishedAt: now, totalMs: 0 }, info: {},
  } as Trajectory;
}

const plain = (solved: boolean): Evaluation => ({ solved, reward: solved ? 1 : -1, detail: solved ? 'solved' : 'not solved', applied: true, failedTests: [], missingTests: [], durationMs: 1 });

describe('the Tampered verdict: rewarded -1, recorded, counted and shown', () => {
  let dir: string;
  let store: RunStore;
  let bug: BugRecord;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-tampered-'));
    store = await RunStore.create({ repoDir: dir, out: path.join(dir, 'run') });
    const now = new Date().toISOString();
    bug = { id: 'r001-abc', order: 1, round: 1, source: 'bootstrap', status: 'solving', valid: true, createdAt: now, updatedAt: now };
    await store.writeBug(bug);
  });
  afterEach(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const attempt = (n: number, ev: Evaluation, step: number) =>
    runSolveAttempt({
      store, bug, artifact: { testScript: 'true\n', testParser: 'print("{}")\n', testFiles: ['t.py'], bugInjectDiff: '', testWeakenDiff: '' },
      artifactId: 'abc', attempt: n, unfinished: 'redo', emit: () => undefined,
      policy: async () => new ReplayPolicy({ messages: ['<tool: submit>\n</tool>'] }),
      episode: async ({ id }): Promise<EpisodeOutcome> => ({ trajectory: trajectory(id, { kind: 'replay', version: { model: 'm', step } }), patch: PTH, evaluation: ev, reward: ev.reward }),
    });

  it('a tampered evaluation is never solved and is rewarded -1', () => {
    const ev = tamperedEvaluation(harnessDiffTampering(PTH)!, Date.now(), false);
    assert.deepEqual([ev.solved, ev.reward, ev.applied], [false, -1, false]);
    assert.match(ev.detail, /^tampered: the file-level harness diff/);
    assert.deepEqual(ev.tampered!.evidence, ['x.pth: a .pth file: site runs its import lines at interpreter start-up']);
  });

  it('is recorded in the marker, the trajectory record and bug.json, and counted per round, per policy version and in the report', async () => {
    const t = tamperedEvaluation(harnessDiffTampering(PTH)!, Date.now(), false);
    await attempt(0, plain(true), 0);
    await attempt(1, t, 0);
    await attempt(2, t, 3);
    await attempt(3, plain(false), 3);
    const marker = JSON.parse(fs.readFileSync(path.join(store.attemptDir(bug.id, 1), 'evaluation.json'), 'utf8')) as AttemptMarker;
    assert.deepEqual([marker.solved, marker.reward, marker.tampered], [false, -1, t.tampered]);
    const recs = JsonlFile.read<TrajectoryRecord>(store.trajectories.file).records;
    assert.deepEqual(recs.map((r) => [r.reward, r.tampered]), [[1, undefined], [-1, true], [-1, true], [-1, undefined]]);
    // An untampered record is byte for byte what it was: no tampered key at all.
    assert.ok(!('tampered' in recs[0]));
    const updated = await updateBugRewards(store, bug, 0.8, () => undefined);
    assert.deepEqual([updated.attempts, updated.solved, updated.tampered, updated.solveRate], [4, 1, 2, 0.25]);

    const session = { format: 'ssr-session/1', id: 'x', status: 'finished', createdAt: new Date().toISOString(), updatedAt: new Date().toISOString(), activeMs: 1000,
      rounds: { 1: { status: 'done', finishedAt: new Date().toISOString() } }, config: { repoDir: dir, rounds: 2, attempts: 4, higherOrder: false, alpha: 0.8 },
      counters: { proposals: 1, validBugs: 1, attempts: 4, solved: 1, higherOrder: 0 } } as unknown as SessionFile;
    const m = await computeMetrics(store, session, 1000);
    assert.deepEqual([m.attempts, m.solved, m.tampered], [4, 1, 2]);
    assert.equal(m.validOnScriptOnly, 0);
    // A valid bug whose broken tests only its own script saw fail (no judge's reporter for its runner) is counted apart.
    await store.writeBug({ ...bug, id: 'r001-def', brokenSeenByScriptOnly: true });
    assert.equal((await computeMetrics(store, session, 1000)).validOnScriptOnly, 1);
    await store.writeBug({ ...bug, id: 'r001-def', valid: false, brokenSeenByScriptOnly: true });
    assert.equal((await computeMetrics(store, session, 1000)).validOnScriptOnly, 0);
    assert.deepEqual(m.perRound.map((r) => [r.round, r.tampered]), [[1, 2]]);
    assert.deepEqual(m.perPolicyVersion, [
      { policyVersion: 'm@0', step: 0, attempts: 2, solved: 1, tampered: 1 },
      { policyVersion: 'm@3', step: 3, attempts: 2, solved: 0, tampered: 1 },
    ]);

    fs.writeFileSync(path.join(store.dir, 'session.json'), JSON.stringify(session));
    const d = await loadRunReport(store.dir);
    assert.equal(d.totals.tampered, 2);
    assert.deepEqual(d.perRound.map((r) => r.tampered), [2]);
    assert.deepEqual(d.tampered.map((x) => [x.bugId, x.attempt, x.policyVersion, x.evidence[0]]), [
      [bug.id, 1, 'm@0', 'x.pth: a .pth file: site runs its import lines at interpreter start-up'],
      [bug.id, 2, 'm@3', 'x.pth: a .pth file: site runs its import lines at interpreter start-up'],
    ]);
    assert.equal(d.bugs.find((b) => b.id === bug.id)!.tampered, 2);
    const summaries = await attemptSummaries(store.dir, bug.id);
    assert.deepEqual(summaries.map((s) => Boolean(s.tampered)), [false, true, true, false]);
  });

  it('ssr evaluate says TAMPERED and lists the evidence; SOLVED and NOT SOLVED stay as they were', () => {
    const lines = evaluationLines(tamperedEvaluation(harnessDiffTampering(PTH)!, Date.now(), false));
    assert.match(lines[0], /TAMPERED.*reward -1 {2}tampered: /);
    assert.match(lines[1], /^ {2}evidence: x\.pth: /);
    assert.match(evaluationLines(plain(false))[0], /NOT SOLVED.*reward -1 {2}not solved$/);
    assert.match(evaluationLines(plain(true))[0], /SOLVED.*reward 1 {2}solved$/);
  });
});

describe('ssr report lists the tampered attempts', () => {
  it('one line per attempt with its evidence; nothing when there is none', () => {
    assert.deepEqual(tamperedLines([]), []);
    const lines = tamperedLines([{ bugId: 'r001-abc', attempt: 1, round: 1, policyVersion: 'm@3', reason: 'the file-level harness diff: ...', evidence: ['x.pth: a .pth file', '.npmrc: npm'] }]);
    assert.equal(lines[0], '  1 tampered attempt(s) (rewarded -1, never solved):\n');
    assert.equal(lines[1], '    r001-abc attempt 2 (m@3): the file-level harness diff: ...; x.pth: a .pth file; .npmrc: npm\n');
  });
});
