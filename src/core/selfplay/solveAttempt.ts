/**
 * One solver attempt on a stored bug, and the bug's rewards: the single
 * implementation behind the session's attempts (selfplay.ts) and the
 * extension's "Solve Bug" (actions.ts solveBug).
 *
 *   bugs/<bug-id>/attempts/<n>/trajectory.json   the episode (with its reward)
 *   bugs/<bug-id>/attempts/<n>/pred_patch.diff   the submitted patch
 *   bugs/<bug-id>/attempts/<n>/evaluation.json   the completion marker, written last
 *
 * then one record in trajectories.jsonl (GRPO group `solve:<bug-id>`) when
 * the attempt was judged, and the events `attempt-started`, `attempt-step`,
 * `attempt-finished`. `updateBugRewards` computes the solve rate and r_inject
 * over every judged attempt of the bug.
 *
 * An infrastructure failure (engine gone, container killed from outside,
 * disk full) during the attempt is never judged: no reward, no record, no
 * marker in a session (so `--resume` redoes the attempt), and the
 * InfrastructureError is thrown to the caller.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ArtifactFiles } from '../artifact/artifact';
import type { Evaluation, Tampered } from '../judge/evaluate';
import { CancelledError, InfrastructureError, SandboxError, classifyFailure, type EngineProbe } from '../base/errors';
import { injectorReward } from '../judge/rewards';
import { type BugRecord, JsonlFile, type RunStore, readJson, writeFileAtomic, writeJsonAtomic } from '../runs/store';
import type { Trajectory, TrajectoryRecord } from '../base/trajectory';
import type { Policy } from '../policy/types';

/** The events an attempt emits (the same types as a session's SessionEvent). */
export type AttemptEvent =
  | { type: 'attempt-started'; bugId: string; attempt: number }
  | { type: 'attempt-step'; bugId: string; attempt: number; step: number; tool: string }
  | { type: 'attempt-finished'; bugId: string; attempt: number; solved: boolean; reward?: number; detail: string; tampered?: boolean }
  | { type: 'reward'; bugId: string; solveRate?: number; rInject: number; note?: string };

/** What a solver episode gives back (runSolveEpisode and Players.solve both do). */
export interface EpisodeOutcome {
  trajectory: Trajectory;
  patch?: string;
  evaluation?: Evaluation;
  reward?: number;
}

/** The marker evaluation.json holds. */
export interface AttemptMarker {
  solved: boolean;
  reward?: number;
  evaluation?: Evaluation;
  /** The judge's Tampered verdict, when it gave one (also in evaluation.tampered). */
  tampered?: Tampered;
  status?: string;
  error?: string;
}

export interface AttemptOutcome {
  attempt: number;
  solved: boolean;
  /** r_solve; undefined when the attempt was not judged (policy failure). */
  reward?: number;
  patch?: string;
  evaluation?: Evaluation;
  detail: string;
  trajectoryFile: string;
}

export interface SolveAttemptOptions {
  store: RunStore;
  bug: BugRecord;
  artifact: ArtifactFiles;
  artifactId: string;
  attempt: number;
  /** A fresh policy for this attempt; disposed when the episode ends. */
  policy: () => Promise<Policy>;
  /** Runs the episode (with evaluation). `onStep` feeds the attempt-step event. */
  episode: (ctx: { policy: Policy; id: string; attempt: number; onStep: (index: number, tool: string) => void }) => Promise<EpisodeOutcome>;
  emit: (e: AttemptEvent) => void;
  signal?: AbortSignal;
  /** Asked whether a failure is the infrastructure's (a ping; an OOM record). Default: the error alone decides. */
  engine?: EngineProbe;
  /**
   * What an attempt that was cancelled or interrupted leaves behind.
   * 'redo' (a session): no marker, so resuming the session runs the attempt again.
   * 'mark' (one-off solving): a marker without a reward, so people see it ended; it is never judged.
   */
  unfinished: 'redo' | 'mark';
}

/** The id of an attempt's trajectory (and its record in trajectories.jsonl). */
export function attemptTrajectoryId(bugId: string, n: number): string {
  return `${bugId}-s${n}`;
}

function trajectoryRecord(store: RunStore, t: Trajectory, bug: BugRecord, n: number, reward: number, file: string, tampered?: Tampered): TrajectoryRecord {
  return {
    id: t.id,
    role: t.role,
    group: `solve:${bug.id}`,
    reward,
    path: path.relative(store.dir, file),
    messages: t.messages,
    tokens: t.tokens,
    policy: t.policy,
    bugId: bug.id,
    round: bug.round,
    attempt: n,
    ...(tampered ? { tampered: true as const } : {}),
  };
}

/**
 * An attempt that already finished (its marker is there), or undefined.
 * Appends its trajectory record if the process died between the marker and the append.
 */
export async function readFinishedAttempt(store: RunStore, bug: BugRecord, n: number): Promise<AttemptOutcome | undefined> {
  const dir = store.attemptDir(bug.id, n);
  const done = await readJson<AttemptMarker>(path.join(dir, 'evaluation.json'));
  if (!done) return undefined;
  const trajectoryFile = path.join(dir, 'trajectory.json');
  const patchFile = path.join(dir, 'pred_patch.diff');
  const patch = fs.existsSync(patchFile) ? fs.readFileSync(patchFile, 'utf8') : undefined;
  if (done.reward !== undefined && !hasRecord(store, attemptTrajectoryId(bug.id, n))) {
    const t = await readJson<Trajectory>(trajectoryFile);
    if (t) store.appendTrajectory(trajectoryRecord(store, t, bug, n, done.reward, trajectoryFile, done.evaluation?.tampered));
  }
  return {
    attempt: n,
    solved: done.solved,
    reward: done.reward,
    patch,
    evaluation: done.evaluation,
    detail: done.evaluation?.detail ?? done.error ?? done.status ?? '',
    trajectoryFile,
  };
}

function hasRecord(store: RunStore, id: string): boolean {
  // appendTrajectory de-duplicates; this only avoids reading the trajectory file needlessly.
  return JsonlFile.read<TrajectoryRecord>(store.trajectories.file).records.some((r) => r.id === id);
}

/** Prefixes the agent loop and the episodes put before a sandbox's own error message. */
const WRAPPERS = [/^preparing the workspace failed: /, /^the sandbox failed: /, /^the \S+ tool failed: /, /^internal error: (SandboxError: )?/];

/**
 * The infrastructure failure an episode recorded instead of throwing, if any:
 * an episode that ended in a sandbox or internal error, or whose evaluation
 * or validation could not run. A judged episode (a reward) never is one.
 */
export async function episodeInfrastructureFailure(t: Trajectory, reward: number | undefined, engine?: EngineProbe): Promise<InfrastructureError | undefined> {
  if (reward !== undefined) return undefined;
  const messages: string[] = [];
  const kind = t.info?.error_kind;
  if (t.status === 'error' && (kind === 'sandbox' || kind === 'internal') && t.error) messages.push(t.error);
  for (const k of ['evaluation_error', 'validation_error'] as const) {
    const m = t.info?.[k];
    if (typeof m === 'string') messages.push(m);
  }
  for (const m of messages) {
    let text = m.split('\n')[0];
    for (const w of WRAPPERS) text = text.replace(w, '');
    // Rebuilt as the error it was; only its start counts (a path the model chose can come later).
    const connect = /^connect (ENOENT|ECONNREFUSED) /.exec(text);
    const rebuilt = connect ? Object.assign(new Error(text), { code: connect[1], syscall: 'connect' }) : new SandboxError(text);
    const infra = await classifyFailure(rebuilt, engine);
    if (infra) return infra;
  }
  return undefined;
}

/** An InfrastructureError when the engine does not answer a ping; undefined when it does (or none is given). */
export async function engineFailure(engine?: EngineProbe): Promise<InfrastructureError | undefined> {
  if (!engine) return undefined;
  try {
    await engine.ping();
    return undefined;
  } catch (err) {
    return new InfrastructureError(`the container engine cannot be reached (${err instanceof Error ? err.message : String(err)})`, err);
  }
}

/** Runs one solver attempt and stores it (see the file comment). Throws CancelledError and InfrastructureError. */
export async function runSolveAttempt(opts: SolveAttemptOptions): Promise<AttemptOutcome> {
  const { store, bug, attempt: n } = opts;
  const dir = store.attemptDir(bug.id, n);
  const trajectoryFile = path.join(dir, 'trajectory.json');
  const markerFile = path.join(dir, 'evaluation.json');
  if (opts.signal?.aborted) throw new CancelledError();
  await fs.promises.mkdir(dir, { recursive: true });
  opts.emit({ type: 'attempt-started', bugId: bug.id, attempt: n });
  let res: EpisodeOutcome;
  try {
    const policy = await opts.policy();
    try {
      res = await opts.episode({
        policy,
        id: attemptTrajectoryId(bug.id, n),
        attempt: n,
        onStep: (step, tool) => opts.emit({ type: 'attempt-step', bugId: bug.id, attempt: n, step, tool }),
      });
    } finally {
      await policy.dispose?.();
    }
  } catch (err) {
    const infra = await classifyFailure(err, opts.engine);
    if (infra && !opts.signal?.aborted) {
      await unfinished(opts, markerFile, 'interrupted', infra.message);
      throw infra;
    }
    throw err;
  }
  const cancelled = opts.signal?.aborted === true || res.trajectory.status === 'cancelled';
  // An engine that went away during the episode makes any verdict suspect (a tool that
  // failed may have ended it early): the attempt is redone, never judged.
  const infra = cancelled ? undefined : ((await episodeInfrastructureFailure(res.trajectory, res.reward, opts.engine)) ?? (await engineFailure(opts.engine)));
  // The episode is kept for people to look at, with its reward when judged.
  await writeJsonAtomic(trajectoryFile, { ...res.trajectory, reward: infra ? undefined : res.reward });
  if (cancelled) {
    await unfinished(opts, markerFile, 'cancelled', 'cancelled');
    throw new CancelledError();
  }
  if (infra) {
    await unfinished(opts, markerFile, 'interrupted', infra.message);
    throw infra;
  }
  const solved = res.evaluation?.solved === true;
  if (res.patch !== undefined) await writeFileAtomic(path.join(dir, 'pred_patch.diff'), res.patch);
  // The completion marker goes last.
  await writeJsonAtomic(markerFile, {
    solved,
    reward: res.reward,
    evaluation: res.evaluation,
    tampered: res.evaluation?.tampered,
    status: res.trajectory.status,
    error: res.trajectory.error,
  } satisfies AttemptMarker);
  const tampered = res.evaluation?.tampered;
  if (res.reward !== undefined) store.appendTrajectory(trajectoryRecord(store, res.trajectory, bug, n, res.reward, trajectoryFile, tampered));
  const detail = res.evaluation?.detail ?? res.trajectory.error ?? res.trajectory.status;
  opts.emit({ type: 'attempt-finished', bugId: bug.id, attempt: n, solved, reward: res.reward, detail, ...(tampered ? { tampered: true } : {}) });
  return { attempt: n, solved, reward: res.reward, patch: res.patch, evaluation: res.evaluation, detail, trajectoryFile };
}

async function unfinished(opts: SolveAttemptOptions, markerFile: string, status: 'cancelled' | 'interrupted', error: string): Promise<void> {
  if (opts.unfinished === 'mark') {
    await writeJsonAtomic(markerFile, { solved: false, status, error } satisfies AttemptMarker);
    opts.emit({ type: 'attempt-finished', bugId: opts.bug.id, attempt: opts.attempt, solved: false, detail: status === 'cancelled' ? 'cancelled' : `interrupted: ${error}` });
  }
}

/**
 * The bug's solve rate and r_inject over every judged attempt stored for it
 * (a valid bug only; an invalid bug keeps its r_inject = -1). Writes bug.json
 * and emits the reward event. Returns the bug.
 */
export async function updateBugRewards(
  store: RunStore,
  bug: BugRecord,
  alpha: number,
  emit: (e: AttemptEvent) => void,
): Promise<BugRecord & { rInject?: number }> {
  const root = path.join(store.bugDir(bug.id), 'attempts');
  const names = fs.existsSync(root) ? fs.readdirSync(root).filter((x) => /^\d+$/.test(x)) : [];
  const judged: AttemptMarker[] = [];
  for (const name of names) {
    const m = await readJson<AttemptMarker>(path.join(root, name, 'evaluation.json'));
    if (m && m.reward !== undefined) judged.push(m);
  }
  const solved = judged.filter((m) => m.solved).length;
  // Tampered attempts are judged attempts that were not solved: they count in the solve rate as failures.
  const tampered = judged.filter((m) => m.tampered ?? m.evaluation?.tampered).length;
  const s = judged.length ? solved / judged.length : undefined;
  const rInject = s === undefined || bug.valid !== true ? bug.rInject : injectorReward(true, s, alpha);
  Object.assign(bug, { status: 'done', attempts: judged.length, solved, tampered: tampered || undefined, solveRate: s, rInject, updatedAt: new Date().toISOString() });
  await store.writeBug(bug);
  if (s !== undefined && rInject !== undefined) emit({ type: 'reward', bugId: bug.id, solveRate: s, rInject });
  return bug;
}
