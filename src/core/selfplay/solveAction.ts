/**
 * Solve a stored bug once more: solver attempts numbered after the ones
 * already there, stored exactly as a session stores them (attempts/<n>/,
 * the trajectory record, the bug's solve rate and r_inject over all attempts).
 */
import { artifactId, type ArtifactFiles } from '../artifact/artifact';
import type { ValidationReport } from '../judge/checks';
import { DEFAULT_ALPHA } from '../judge/rewards';
import { CancelledError, UsageError } from '../base/errors';
import { DEFAULT_IMAGE, docker } from '../sandbox/docker';
import { RunStore, type BugRecord } from '../runs/store';
import type { Trajectory, TrajectoryStep } from '../base/trajectory';
import { createPolicy, type PolicySpec } from '../policy';
import { runSolveEpisode } from './episodes';
import type { SessionEvent } from './events';
import { type AttemptEvent, runSolveAttempt, updateBugRewards } from './solveAttempt';
import { listAttempts, readBugArtifact, readRun, readValidation, refreshSessionSummary, type RunEntry } from './readRuns';

export interface SolveBugOptions {
  runDir: string;
  bugId: string;
  policy: PolicySpec;
  /** Attempts to run now (default 1), one after another. */
  attempts?: number;
  image?: string;
  maxTurns?: number;
  testTimeoutMs?: number;
  alpha?: number;
  signal?: AbortSignal;
  onEvent?: (e: SessionEvent) => void;
  onStep?: (attempt: number, step: TrajectoryStep, trajectory: Trajectory) => void;
  /** Replaces runSolveEpisode (tests). */
  solve?: typeof runSolveEpisode;
}

export interface SolveBugResult {
  bug: BugRecord;
  attempts: Array<{ n: number; solved: boolean; reward?: number; detail: string; trajectoryFile: string }>;
}

/** The bug being solved and what every attempt on it shares. */
interface Target {
  run: RunEntry & { session: NonNullable<RunEntry['session']> };
  store: RunStore;
  bug: BugRecord;
  artifact: ArtifactFiles;
  artifactId: string;
  report?: ValidationReport;
  image: string;
  emit: (body: AttemptEvent) => void;
}

/**
 * Runs solver attempts on a stored bug, numbered after the ones already
 * there, and stores them exactly as a session does (attempts/<n>/, the
 * trajectory record, the bug's solve rate and r_inject over all attempts).
 */
export async function solveBug(opts: SolveBugOptions): Promise<SolveBugResult> {
  const run = await readRun(opts.runDir);
  if (!run.session) throw new UsageError(`${opts.runDir} is not a readable run: ${run.error}`);
  if (run.state === 'running' && run.session.pid !== process.pid) {
    throw new UsageError(`run ${run.id} is being run by process ${run.session.pid}; stop it before solving its bugs here`);
  }
  const store = await RunStore.open(opts.runDir);
  try {
    const t = await target(opts, { ...run, session: run.session }, store);
    const done: SolveBugResult['attempts'] = [];
    const count = Math.max(1, opts.attempts ?? 1);
    for (let k = 0; k < count; k++) {
      if (opts.signal?.aborted) throw new CancelledError();
      const n = (await listAttempts(opts.runDir, t.bug.id)).reduce((m, a) => Math.max(m, a.n + 1), 0);
      const res = await solveOnce(opts, t, n);
      done.push({ n, solved: res.solved, reward: res.reward, detail: res.detail, trajectoryFile: res.trajectoryFile });
    }
    // Solve rate and r_inject over every judged attempt of the bug.
    const alpha = opts.alpha ?? run.session.config.alpha ?? DEFAULT_ALPHA;
    await updateBugRewards(store, t.bug, alpha, t.emit);
    store.close();
    await refreshSessionSummary(opts.runDir);
    return { bug: t.bug, attempts: done };
  } finally {
    store.close();
  }
}

/** Reads the bug (only a valid one is solved), its artifact and validation report. */
async function target(opts: SolveBugOptions, run: Target['run'], store: RunStore): Promise<Target> {
  const bug = await store.readBug(opts.bugId);
  if (!bug) throw new UsageError(`run ${run.id} has no bug ${opts.bugId}`);
  if (bug.valid === false) throw new UsageError(`bug ${bug.id} is invalid (${bug.firstFailure ?? 'a check failed'}): only valid bugs are solved`);
  const artifact = await readBugArtifact(opts.runDir, bug.id);
  const { report } = await readValidation(opts.runDir, bug.id);
  const image = opts.image ?? run.session.config.image ?? DEFAULT_IMAGE;
  const emit = (body: AttemptEvent) => {
    const e = { ts: new Date().toISOString(), ...body } as SessionEvent;
    store.events.append(e);
    opts.onEvent?.(e);
  };
  return { run, store, bug, artifact, artifactId: artifactId(artifact), report, image, emit };
}

/** Solver attempt n, stored as a session stores it (an unfinished one is marked, not redone). */
function solveOnce(opts: SolveBugOptions, t: Target, n: number) {
  const solve = opts.solve ?? runSolveEpisode;
  const config = t.run.session.config;
  return runSolveAttempt({
    store: t.store,
    bug: t.bug,
    artifact: t.artifact,
    artifactId: t.artifactId,
    attempt: n,
    signal: opts.signal,
    engine: docker(),
    unfinished: 'mark',
    emit: t.emit,
    policy: () => createPolicy(opts.policy),
    episode: ({ policy, id, onStep }) =>
      solve({
        repoDir: config.repoDir,
        image: t.image,
        policy,
        artifact: t.artifact,
        attempt: n,
        original: t.report?.original,
        originalReporter: t.report?.originalReporter,
        maxTurns: opts.maxTurns ?? config.maxTurns,
        testTimeoutMs: opts.testTimeoutMs ?? config.testTimeoutMs,
        signal: opts.signal,
        id,
        artifactId: t.artifactId,
        labels: { 'ssr.run': t.run.id },
        onStep: (step, traj) => {
          onStep(step.index, step.tool);
          opts.onStep?.(n, step, traj);
        },
      }),
  });
}
