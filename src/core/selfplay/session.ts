/**
 * A self-play session: the product's main job. Each round
 *
 *   propose (a policy injector episode, or the bootstrap proposer)
 *   -> validate (the seven checks)
 *   -> N solver attempts, in parallel up to the concurrency limit
 *   -> solve rate s -> r_inject, and r_solve per attempt (the paper's rewards)
 *   -> each failed attempt's patch becomes a second-order bug, solved like any other
 *   -> trajectories with their rewards appended to trajectories.jsonl
 *
 * Every unit of work is keyed deterministically (round, bug id, attempt)
 * and persisted through the run store before the next starts, so a session
 * killed at any moment resumes where it stopped: finished work is read back,
 * unfinished work is redone from the same seed, nothing is duplicated.
 */
import { tamperedCount, verdictsPerPolicyVersion, type VersionVerdicts } from './verdictCounts';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { ProposalsAhead, proposeAhead } from '../bootstrap/overlap';
import { span } from '../base/trace';
import { type ArtifactFiles, artifactId } from '../artifact/artifact';
import { CHECK_IDS, type CheckResult, type Thresholds, DEFAULT_THRESHOLDS, validateArtifact, type ValidationEvent, type ValidationReport } from '../judge/checks';
import type { ReporterRecords } from '../judge/testRun';
import type { Evaluation } from '../judge/evaluate';
import { buildHigherOrder, MAX_ORDER } from './higherOrder';
import { DEFAULT_ALPHA } from '../judge/rewards';
import { type BugRecord, JsonlFile, RunStore, readJson, writeJsonAtomic } from '../runs/store';
import { type AttemptOutcome, engineFailure, episodeInfrastructureFailure, readFinishedAttempt, runSolveAttempt, updateBugRewards } from './solveAttempt';
import type { Trajectory, TrajectoryRecord } from '../base/trajectory';
import type { Policy } from '../policy/types';
import { CancelledError, UsageError, classifyFailure, isCancelled } from '../base/errors';
import { DEFAULT_IMAGE, docker, ensureEngineAndImage, pidAlive, reapStale } from '../sandbox/docker';
import { RunCache, originalKey } from '../judge/runCache';
import type { CachedStateRun } from '../judge/runCache';

export const SESSION_FORMAT = 'ssr-session/1';

export type ProposerKind = 'bootstrap' | 'policy';

export interface SelfPlayConfig {
  repoDir: string;
  image: string;
  /** Who proposes bugs: the procedural bootstrap proposer (no model) or the policy as injector. */
  proposer: ProposerKind;
  /** The policy's description (never a secret); absent when no model is configured. */
  policy?: { kind: string; model?: string; baseUrl?: string; [k: string]: unknown };
  /** Injector strategy for a policy proposer: removal | history | direct | mix. */
  strategy: string;
  /** Solver attempts per bug (N; the paper uses 8). */
  attempts: number;
  alpha: number;
  thresholds: Thresholds;
  /** Sandboxes at once (validation runs and solver attempts). */
  concurrency: number;
  rounds: number;
  /** Stop starting new rounds after this much wall time (ms) in one process. */
  maxWallMs?: number;
  seed: number;
  /** Turn failed attempts into second-order bugs. */
  higherOrder: boolean;
  /** Train every N rounds (the RL runtime wires this); 0 = never. */
  trainEvery: number;
  maxTurns?: number;
  testTimeoutMs?: number;
}

export const DEFAULT_CONFIG: Omit<SelfPlayConfig, 'repoDir'> = {
  image: DEFAULT_IMAGE,
  proposer: 'bootstrap',
  strategy: 'mix',
  attempts: 8,
  alpha: DEFAULT_ALPHA,
  thresholds: DEFAULT_THRESHOLDS,
  concurrency: Math.max(1, Math.min(4, os.cpus().length)),
  rounds: 4,
  seed: 0,
  higherOrder: true,
  trainEvery: 0,
};

export interface RoundState {
  status: 'done' | 'no-proposal';
  bugId?: string;
  reason?: string;
  finishedAt: string;
}

export interface SessionMetrics {
  proposals: number;
  proposalsFailed: number;
  validBugs: number;
  /** Valid bugs whose broken tests rest on the artifact's own script (a runner the judge has no reporter for). */
  validOnScriptOnly: number;
  invalidBugs: number;
  validShare: number;
  failuresPerCheck: Record<string, number>;
  higherOrderBugs: number;
  attempts: number;
  solved: number;
  /** Judged attempts the judge found tampered (counted in `attempts`, never in `solved`). */
  tampered: number;
  /** Judged attempts per policy version (from trajectories.jsonl): solved and tampered among them. */
  perPolicyVersion: VersionVerdicts[];
  /** Bugs per solve-rate bin: "s=0", "(0,0.25]", "(0.25,0.5]", "(0.5,0.75]", "(0.75,1)", "s=1". */
  solveRateHistogram: Record<string, number>;
  perRound: Array<{ round: number; meanRInject?: number; meanRSolve?: number; bugs: number; tampered: number }>;
  meanRInject?: number;
  meanRSolve?: number;
  artifactsPerHour: number;
  activeMs: number;
  peakRssMb: number;
}

export interface SessionFile {
  format: typeof SESSION_FORMAT;
  id: string;
  config: SelfPlayConfig;
  status: 'running' | 'finished' | 'cancelled' | 'failed' | 'interrupted';
  /** Why the session ended, in words. */
  note?: string;
  pid: number;
  host: string;
  createdAt: string;
  updatedAt: string;
  /** Wall time spent by all processes that ran this session. */
  activeMs: number;
  resumes: number;
  rounds: Record<string, RoundState>;
  counters: { proposals: number; validBugs: number; attempts: number; solved: number; higherOrder: number };
  metrics?: SessionMetrics;
}

/** The typed event stream the CLI's progress display and the extension consume. */
export type SessionEvent = { ts: string } & (
  | { type: 'session-started'; runId: string; runDir: string; resumed: boolean; config: SelfPlayConfig }
  | { type: 'round-started'; round: number }
  | { type: 'proposal'; round: number; bugId: string; order: number; source: string; strategy?: string; key?: string; notes?: string[] }
  | { type: 'proposal-failed'; round: number; reason: string }
  /** What the bootstrap proposer is doing now (its suite run, coverage trace, mutants). */
  | { type: 'proposing'; round: number; detail: string }
  /** Validation's test runs, for progress: the runs planned (`suiteMs`: T_suite when known from the session's cache), each start and end. */
  | { type: 'runs-planned'; bugId: string; states: string[]; cached?: string[]; parallel: number; suiteMs?: number }
  | { type: 'run-started'; bugId: string; state: string }
  | { type: 'run-finished'; bugId: string; state: string; ok: boolean; durationMs: number; repetitions: number }
  | { type: 'check'; bugId: string; check: CheckResult }
  | { type: 'validated'; bugId: string; valid: boolean; firstFailure?: string }
  | { type: 'attempt-started'; bugId: string; attempt: number }
  | { type: 'attempt-step'; bugId: string; attempt: number; step: number; tool: string }
  | { type: 'attempt-finished'; bugId: string; attempt: number; solved: boolean; reward?: number; detail: string; tampered?: boolean }
  | { type: 'reward'; bugId: string; solveRate?: number; rInject: number; note?: string }
  | { type: 'higher-order'; parent: string; attempt: number; bugId?: string; skipped?: string }
  | { type: 'training'; round: number; detail: string }
  | { type: 'note'; message: string }
  | { type: 'error'; message: string; bugId?: string; round?: number }
  /** The infrastructure failed (engine, container, disk): the session paused; `resume` is the command that continues it. */
  | { type: 'interrupted'; message: string; resume: string }
  | { type: 'session-finished'; status: SessionFile['status']; note?: string; metrics: SessionMetrics }
);
type EventBody = SessionEvent extends infer E ? (E extends { ts: string } ? Omit<E, 'ts'> : never) : never;

/** What the session needs from the agents; the CLI and extension build it from a policy spec. */
export interface Players {
  /** A fresh policy for one episode (replay policies hold per-episode state). Undefined: no model. */
  policy?: (role: 'injector' | 'solver', ctx: { round: number; bugId?: string; attempt?: number }) => Promise<Policy>;
  /** Proposes a bug without a model. */
  bootstrap?: (opts: { repoDir: string; image: string; seed: number; seen: Set<string>; signal?: AbortSignal; log?: (m: string) => void }) => Promise<{
    key: string;
    strategy: string;
    artifact: ArtifactFiles;
    notes: string[];
    /** The proposer's own judged runs of the buggy and weakened states (runCache.ts). */
    runs?: { buggy: CachedStateRun; weakened: CachedStateRun; original?: CachedStateRun };
  }>;
  /** Runs an injector episode (with validation). */
  inject?: (opts: {
    repoDir: string;
    image: string;
    policy: Policy;
    strategy: string;
    seed: number;
    thresholds: Thresholds;
    concurrency: number;
    maxTurns?: number;
    signal?: AbortSignal;
    id: string;
    onCheck: (c: CheckResult) => void;
    /** Each step of the injector's episode, and its validation's events (progress). */
    onStep?: (index: number, tool: string) => void;
    onValidation?: (e: ValidationEvent) => void;
  }) => Promise<{ trajectory: Trajectory; artifact?: ArtifactFiles; validation?: ValidationReport; reward?: number }>;
  /** Runs a solver episode (with evaluation). */
  solve?: (opts: {
    repoDir: string;
    image: string;
    policy: Policy;
    artifact: ArtifactFiles;
    attempt: number;
    original?: Record<string, 'passed' | 'failed'>;
    originalReporter?: ReporterRecords;
    maxTurns?: number;
    testTimeoutMs?: number;
    signal?: AbortSignal;
    id: string;
    artifactId: string;
    onStep: (index: number, tool: string) => void;
  }) => Promise<{ trajectory: Trajectory; patch?: string; evaluation?: Evaluation; reward?: number }>;
  /** Trains on the run so far and returns a new policy factory (RL runtime issue). */
  train?: (store: RunStore, round: number, signal?: AbortSignal) => Promise<Players['policy'] | void>;
}

export interface SessionOptions {
  signal?: AbortSignal;
  onEvent?: (e: SessionEvent) => void;
}

const now = () => new Date().toISOString();

/** The command that resumes a run, with the policy flags it was started with (never a secret). */
export function resumeCommand(runDir: string, config: Pick<SelfPlayConfig, 'policy' | 'proposer'>): string {
  const q = (x: string) => (/^[\w@%+=:,./-]+$/.test(x) ? x : `'${x.replace(/'/g, `'\\''`)}'`);
  const parts = ['ssr', 'selfplay', '--resume', q(runDir)];
  const p = config.policy;
  if (p) {
    parts.push('--policy', q(p.kind));
    if (p.model) parts.push('--model', q(String(p.model)));
    if (p.baseUrl) parts.push('--base-url', q(String(p.baseUrl)));
    if (typeof p.trajectory === 'string') parts.push('--trajectory', q(p.trajectory));
  }
  return parts.join(' ');
}

/** A seeded integer per (seed, round) that stays stable across resumes. */
export function roundSeed(seed: number, round: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (round + 1), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Runs fn over the items, at most `limit` at once. When one fails, no new
 * item starts, the ones running finish, and then the first error is thrown
 * (so nothing keeps writing into the run after the caller gave up on it).
 */
async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failed: { err: unknown } | undefined;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        out[i] = await fn(items[i]);
      } catch (err) {
        failed ??= { err };
      }
    }
  });
  await Promise.all(workers);
  if (failed) throw failed.err;
  return out;
}

function record(t: Trajectory, group: string, reward: number, extra: Partial<TrajectoryRecord>, pathRel: string): TrajectoryRecord {
  return {
    id: t.id,
    role: t.role,
    group,
    reward,
    path: pathRel,
    messages: t.messages,
    tokens: t.tokens,
    policy: t.policy,
    ...extra,
  };
}

export class SelfPlaySession {
  private session!: SessionFile;
  private startedAt = Date.now();
  private activeAtStart = 0;
  private peakRss = 0;
  private rssTimer?: NodeJS.Timeout;
  /**
   * The original state's results, run once (several repetitions) per session
   * and reused by every validation, and the bootstrap proposer's runs of the
   * states it proposes (runCache.ts).
   */
  readonly runCache = new RunCache();
  /** Proposals started ahead of their round (overlap.ts). */
  private readonly ahead = new ProposalsAhead<BugRecord | undefined>();

  private constructor(
    readonly store: RunStore,
    private players: Players,
    private readonly opts: SessionOptions,
  ) {}

  get runDir(): string {
    return this.store.dir;
  }

  get config(): SelfPlayConfig {
    return this.session.config;
  }

  /** Starts a new session in a new run directory. */
  static async create(config: SelfPlayConfig, players: Players, opts: SessionOptions & { out?: string; runId?: string } = {}): Promise<SelfPlaySession> {
    validateConfig(config, players);
    const store = await RunStore.create({ repoDir: config.repoDir, out: opts.out, runId: opts.runId });
    const s = new SelfPlaySession(store, players, opts);
    s.session = {
      format: SESSION_FORMAT,
      id: store.id,
      config,
      status: 'running',
      pid: process.pid,
      host: os.hostname(),
      createdAt: now(),
      updatedAt: now(),
      activeMs: 0,
      resumes: 0,
      rounds: {},
      counters: { proposals: 0, validBugs: 0, attempts: 0, solved: 0, higherOrder: 0 },
    };
    await store.writeSession(s.session);
    return s;
  }

  /** Re-opens a run directory to continue it. */
  static async resume(runDir: string, players: Players, opts: SessionOptions = {}): Promise<SelfPlaySession> {
    const store = await RunStore.open(runDir);
    const file = await store.readSession<SessionFile>();
    if (!file || file.format !== SESSION_FORMAT) {
      throw new UsageError(`${runDir}/session.json is not an SSR session (format ${file?.format}); was it edited by hand?`);
    }
    if (file.status === 'running' && file.host === os.hostname() && file.pid !== process.pid && pidAlive(file.pid)) {
      throw new UsageError(`run ${file.id} is being run by process ${file.pid}; stop it first (or wait for it)`);
    }
    if (file.config.policy && !players.policy) {
      const p = file.config.policy;
      throw new UsageError(
        `run ${file.id} was started with --policy ${p.kind}${p.model ? ` --model ${p.model}` : ''}${p.baseUrl ? ` --base-url ${p.baseUrl}` : ''}; ` +
          'pass the same policy flags to resume it (secrets such as the API key are never stored in the run)',
      );
    }
    validateConfig(file.config, players);
    const s = new SelfPlaySession(store, players, opts);
    s.session = { ...file, status: 'running', pid: process.pid, host: os.hostname(), resumes: (file.resumes ?? 0) + 1 };
    s.activeAtStart = file.activeMs ?? 0;
    await store.writeSession(s.session);
    return s;
  }

  /** A validation's test runs as session events (progress). */
  private forwardRun(bugId: string, e: ValidationEvent): void {
    if (e.type === 'runs-planned') {
      this.emit({ type: 'runs-planned', bugId, states: e.states, ...(e.cached?.length ? { cached: e.cached } : {}), parallel: e.parallel, ...(e.suiteMs !== undefined ? { suiteMs: e.suiteMs } : {}) });
    }
    else if (e.type === 'run-started') this.emit({ type: 'run-started', bugId, state: e.state });
    else if (e.type === 'run-finished') this.emit({ type: 'run-finished', bugId, state: e.run.state, ok: e.run.ok, durationMs: e.run.durationMs, repetitions: e.run.repetitions });
  }

  private emit(body: EventBody): void {
    const e = { ts: now(), ...body } as SessionEvent;
    this.store.events.append(e);
    this.opts.onEvent?.(e);
  }

  private async saveSession(): Promise<void> {
    this.session.updatedAt = now();
    this.session.activeMs = this.activeAtStart + (Date.now() - this.startedAt);
    await this.store.writeSession(this.session);
  }

  private cancelled(): boolean {
    return this.opts.signal?.aborted === true;
  }

  /** Runs the session to its budget, cancellation or failure. Never leaves the run directory inconsistent. */
  async run(): Promise<SessionFile> {
    const resumed = this.session.resumes > 0;
    this.rssTimer = setInterval(() => (this.peakRss = Math.max(this.peakRss, process.memoryUsage().rss)), 250);
    this.peakRss = process.memoryUsage().rss;
    const cfg = this.session.config;
    this.emit({ type: 'session-started', runId: this.store.id, runDir: this.store.dir, resumed, config: cfg });
    let note: string | undefined;
    try {
      await ensureEngineAndImage(cfg.image);
      if (resumed) {
        const reaped = await reapStale();
        if (reaped.length) this.emit({ type: 'note', message: `removed ${reaped.length} sandbox(es) left by a process that died` });
      }
      if (!this.players.policy) {
        this.emit({
          type: 'note',
          message:
            'no model configured: bugs are proposed and validated, solving is skipped. Point SSR at a model to solve them: ' +
            '--policy openai --base-url http://127.0.0.1:8000/v1 --model NAME (vLLM, SGLang, llama.cpp, Ollama at :11434/v1, any OpenAI-compatible server), ' +
            'or --policy onnx --model FOLDER for a local ONNX model.',
        });
      }
      for (let r = 0; r < cfg.rounds; r++) {
        if (this.cancelled()) throw new CancelledError();
        if (this.session.rounds[r]) continue;
        if (cfg.maxWallMs && Date.now() - this.startedAt > cfg.maxWallMs) {
          note = `stopped after the wall-time budget (${Math.round(cfg.maxWallMs / 1000)} s); resume to continue`;
          break;
        }
        this.emit({ type: 'round-started', round: r });
        await this.runRound(r);
        if (cfg.trainEvery > 0 && (r + 1) % cfg.trainEvery === 0 && this.players.train) {
          if (JsonlFile.read<TrajectoryRecord>(this.store.trajectories.file).records.length === 0) {
            this.emit({ type: 'training', round: r, detail: 'nothing to train on yet (no judged episode); training skipped' });
            continue;
          }
          this.emit({ type: 'training', round: r, detail: 'training on the trajectories since the last update' });
          const next = await this.players.train(this.store, r, this.opts.signal);
          if (next) {
            this.players = { ...this.players, policy: next };
            this.emit({ type: 'training', round: r, detail: 'new policy loaded' });
          }
        }
      }
      this.session.status = 'finished';
    } catch (err) {
      const infra = isCancelled(err) || this.cancelled() ? undefined : await classifyFailure(err, docker());
      if (isCancelled(err) || this.cancelled()) {
        this.session.status = 'cancelled';
        note = 'cancelled; resume with ssr selfplay --resume to continue';
      } else if (infra) {
        // Not the policy's fault: nothing was recorded for the work in flight; --resume redoes it.
        this.session.status = 'interrupted';
        const resume = resumeCommand(this.store.dir, cfg);
        note = `paused: ${infra.message.replace(/\.\s*$/, '')}. Nothing was recorded for the interrupted work. Once that is fixed, resume with: ${resume}`;
        this.emit({ type: 'interrupted', message: infra.message, resume });
      } else {
        this.session.status = 'failed';
        note = (err as Error).message;
        this.emit({ type: 'error', message: note });
      }
    } finally {
      clearInterval(this.rssTimer);
    }
    this.session.note = note;
    this.session.metrics = await this.computeMetrics();
    await this.saveSession();
    this.emit({ type: 'session-finished', status: this.session.status, note, metrics: this.session.metrics });
    this.store.close();
    return this.session;
  }

  private async runRound(r: number): Promise<void> {
    let bug = (await this.store.listBugs()).find((b) => b.round === r && b.order === 1);
    if (!bug) {
      const made = await this.ahead.take(r, () => this.propose(r));
      if (!made) return; // recorded as no-proposal
      bug = made;
    }
    const cfg = this.session.config;
    if (proposeAhead(cfg, r, Boolean(this.session.rounds[r + 1]))) {
      this.ahead.start(r + 1, async () => (await this.store.listBugs()).find((b) => b.round === r + 1 && b.order === 1) ?? this.propose(r + 1));
    }
    const children = await this.processBug(bug);
    for (const child of children) await this.processBug(child);
    this.session.rounds[r] = { status: 'done', bugId: bug.id, finishedAt: now() };
    await this.refreshCounters();
    await this.saveSession();
  }

  private async seenKeys(): Promise<Set<string>> {
    return new Set((await this.store.listBugs()).map((b) => b.key).filter((k): k is string => Boolean(k)));
  }

  /** Makes the round's first-order bug and stores it; undefined when no proposal could be made. */
  private async propose(r: number): Promise<BugRecord | undefined> {
    const cfg = this.session.config;
    const seed = roundSeed(cfg.seed, r);
    let artifact: ArtifactFiles | undefined;
    let key: string | undefined;
    let strategy: string | undefined;
    let notes: string[] = [];
    let injector: Awaited<ReturnType<NonNullable<Players['inject']>>> | undefined;
    try {
      if (cfg.proposer === 'bootstrap') {
        const seen = await this.seenKeys();
        const p = await span(
          'propose',
          () =>
            this.players.bootstrap!({
              repoDir: cfg.repoDir,
              image: cfg.image,
              seed,
              seen,
              signal: this.opts.signal,
              log: (m) => this.emit({ type: 'proposing', round: r, detail: m.replace(/^bootstrap: /, '') }),
            }),
          { round: r },
        );
        if (p.runs) await this.keepProposerRuns(p.artifact, p.runs);
        artifact = p.artifact;
        key = p.key;
        strategy = p.strategy;
        notes = p.notes;
      } else {
        const policy = await this.players.policy!('injector', { round: r });
        try {
          injector = await this.players.inject!({
            repoDir: cfg.repoDir,
            image: cfg.image,
            policy,
            strategy: cfg.strategy,
            seed,
            thresholds: cfg.thresholds,
            concurrency: cfg.concurrency,
            maxTurns: cfg.maxTurns,
            signal: this.opts.signal,
            id: `inject-r${r}`,
            onCheck: () => undefined,
            onStep: (index, tool) => this.emit({ type: 'proposing', round: r, detail: `the injector, step ${index + 1} (${tool || 'no tool'})` }),
            // The artifact has no id before it is validated: its runs go by the episode's.
            onValidation: (e) => this.forwardRun(`inject-r${r}`, e),
          });
        } finally {
          await policy.dispose?.();
        }
        artifact = injector.artifact;
        strategy = injector.trajectory.strategy;
      }
    } catch (err) {
      if (isCancelled(err) || this.cancelled()) throw err;
      // A broken engine, a container killed from outside, a full disk: the round is not the proposer's to lose.
      const infra = await classifyFailure(err, docker());
      if (infra) throw infra;
      return this.noProposal(r, (err as Error).message);
    }
    if (this.cancelled() || injector?.trajectory.status === 'cancelled') throw new CancelledError();
    if (!artifact) {
      const t = injector?.trajectory;
      const infra = (t ? await episodeInfrastructureFailure(t, injector?.reward, docker()) : undefined) ?? (await engineFailure(docker()));
      if (infra) throw infra;
      // A policy injector that submitted nothing: r_inject = -1, recorded for training
      // (unless the episode could not be judged: the model server failed).
      const reason = `the injector submitted no artifact (${t?.status}${t?.error ? `: ${t.error}` : ''})`;
      if (injector && injector.reward !== undefined) {
        const rel = path.join('injector', `r${r}.json`);
        await writeJsonAtomic(path.join(this.store.dir, rel), injector.trajectory);
        this.store.appendTrajectory(record(injector.trajectory, `inject:${r}`, injector.reward, { round: r }, rel));
      }
      return this.noProposal(r, reason);
    }
    const id = `r${String(r).padStart(3, '0')}-${artifactId(artifact)}`;
    artifact.meta = { ...(artifact.meta ?? {}), order: 1, strategy, source: cfg.proposer === 'bootstrap' ? 'bootstrap' : String(cfg.policy?.kind ?? 'policy') };
    await this.store.writeArtifact(id, artifact);
    if (injector) {
      await writeJsonAtomic(path.join(this.store.bugDir(id), 'injector.json'), injector.trajectory);
      // An invalid verdict reached while the engine went away is not kept: the bug is validated again.
      const suspect = injector.validation && !injector.validation.valid && (await engineFailure(docker()));
      if (injector.validation && !suspect) await writeJsonAtomic(path.join(this.store.bugDir(id), 'validation.json'), injector.validation);
    }
    const bug: BugRecord = {
      id,
      order: 1,
      round: r,
      source: artifact.meta.source as string,
      strategy,
      key,
      status: 'proposed',
      createdAt: now(),
      updatedAt: now(),
    };
    await this.store.writeBug(bug);
    this.emit({ type: 'proposal', round: r, bugId: id, order: 1, source: bug.source, strategy, key, notes });
    return bug;
  }

  /**
   * The bootstrap proposer ran the buggy and weakened states with the judge's
   * runner on this tree and image: validation takes those results instead of
   * running the same states again. Never for a policy's proposals.
   */
  private async keepProposerRuns(artifact: ArtifactFiles, runs: { buggy: CachedStateRun; weakened: CachedStateRun; original?: CachedStateRun }): Promise<void> {
    if (process.env.SSR_REUSE_PROPOSER_RUNS === '0') return;
    const cfg = this.session.config;
    const key = await originalKey({ repoDir: cfg.repoDir, image: cfg.image, artifact });
    // The first run of the original counts as one repetition: validation runs the others.
    if (runs.original) this.runCache.seedOriginal(key, runs.original);
    this.runCache.setState(key, [artifact.bugInjectDiff], runs.buggy);
    this.runCache.setState(key, [artifact.bugInjectDiff, artifact.testWeakenDiff], runs.weakened);
  }

  private async noProposal(r: number, reason: string): Promise<undefined> {
    this.emit({ type: 'proposal-failed', round: r, reason });
    this.session.rounds[r] = { status: 'no-proposal', reason, finishedAt: now() };
    await this.saveSession();
    return undefined;
  }

  /** Validates, solves and rewards one bug; returns the higher-order bugs it gave. */
  private async processBug(bug: BugRecord): Promise<BugRecord[]> {
    const cfg = this.session.config;
    const artifact = (await this.store.readArtifact(bug.id))!;
    const vFile = path.join(this.store.bugDir(bug.id), 'validation.json');
    let validation = await readJson<ValidationReport>(vFile);
    if (!validation) {
      validation = await span('validate', () => validateArtifact({
        repoDir: cfg.repoDir,
        artifact,
        image: cfg.image,
        ...cfg.thresholds,
        concurrency: cfg.concurrency,
        testTimeoutMs: cfg.testTimeoutMs,
        signal: this.opts.signal,
        runCache: this.runCache,
        labels: { 'ssr.run': this.store.id },
        onEvent: (e) => {
          if (e.type === 'check') this.emit({ type: 'check', bugId: bug.id, check: e.check });
          else this.forwardRun(bug.id, e);
        },
      }), { bug: bug.id });
      if (this.cancelled()) throw new CancelledError();
      // A check that failed while the engine went away is the engine's failure, not the artifact's.
      if (!validation.valid) {
        const infra = await engineFailure(docker());
        if (infra) throw infra;
      }
      if (validation.flaky.length || validation.oracleFailing?.length) {
        // Evaluation leaves the flaky tests out and twins tests of F (judge/canaries.ts): both travel in the bug's metadata.
        artifact.meta = { ...(artifact.meta ?? {}), flaky: validation.flaky, oracleFailing: validation.oracleFailing ?? [] };
        await this.store.writeArtifact(bug.id, artifact);
      }
      await writeJsonAtomic(vFile, validation);
    }
    this.emit({ type: 'validated', bugId: bug.id, valid: validation.valid, firstFailure: validation.firstFailure });
    const injectorTraj = await readJson<Trajectory>(path.join(this.store.bugDir(bug.id), 'injector.json'));
    if (!validation.valid) {
      Object.assign(bug, { status: 'invalid', valid: false, firstFailure: validation.firstFailure, rInject: -1, updatedAt: now() });
      await this.store.writeBug(bug);
      this.emit({ type: 'reward', bugId: bug.id, rInject: -1, note: `invalid: ${validation.firstFailure}` });
      if (injectorTraj) this.store.appendTrajectory(record(injectorTraj, `inject:${bug.round}`, -1, { bugId: bug.id, round: bug.round }, path.join('bugs', bug.id, 'injector.json')));
      return [];
    }
    if (validation.brokenSeenBy === 'script') bug.brokenSeenByScriptOnly = true;
    if (!this.players.policy || !this.players.solve) {
      Object.assign(bug, { status: 'unsolved-no-solver', valid: true, updatedAt: now() });
      await this.store.writeBug(bug);
      return [];
    }
    Object.assign(bug, { status: 'solving', valid: true, updatedAt: now() });
    await this.store.writeBug(bug);

    const aid = artifactId(artifact);
    const results = await mapLimit([...Array(cfg.attempts).keys()], cfg.concurrency, (n) => this.attempt(bug, artifact, aid, n, validation!));
    const judged = results.filter((x) => x.reward !== undefined);
    const { rInject } = await updateBugRewards(this.store, bug, cfg.alpha, (e) => this.emit(e));
    if (rInject !== undefined) {
      if (injectorTraj) this.store.appendTrajectory(record(injectorTraj, `inject:${bug.round}`, rInject, { bugId: bug.id, round: bug.round }, path.join('bugs', bug.id, 'injector.json')));
    } else if (!judged.length) {
      this.emit({ type: 'error', bugId: bug.id, message: 'no solver attempt could be judged (the policy failed every time)' });
    }

    // Higher-order bugs from the failed attempts.
    const children: BugRecord[] = [];
    if (!cfg.higherOrder || bug.order + 1 > MAX_ORDER) return children;
    for (const res of results) {
      // A tampered patch changed how tests run, not the code: it makes no higher-order bug.
      if (res.solved || !res.patch || !res.evaluation?.applied || res.evaluation.tampered) continue;
      const childId = `${bug.id}-a${res.attempt}`;
      let child = await this.store.readBug(childId);
      if (!child) {
        let next: ArtifactFiles;
        try {
          next = await buildHigherOrder({ repoDir: cfg.repoDir, artifact, patch: res.patch, evaluation: res.evaluation });
        } catch (err) {
          if (!(err instanceof UsageError)) throw err;
          this.emit({ type: 'higher-order', parent: bug.id, attempt: res.attempt, skipped: err.message });
          continue;
        }
        await this.store.writeArtifact(childId, next);
        child = {
          id: childId,
          order: bug.order + 1,
          parent: bug.id,
          parentAttempt: res.attempt,
          round: bug.round,
          source: 'higher-order',
          strategy: bug.strategy,
          status: 'proposed',
          createdAt: now(),
          updatedAt: now(),
        };
        await this.store.writeBug(child);
        this.emit({ type: 'higher-order', parent: bug.id, attempt: res.attempt, bugId: childId });
      }
      if (child.status !== 'done' && child.status !== 'invalid' && child.status !== 'unsolved-no-solver') children.push(child);
    }
    return children;
  }

  private async attempt(
    bug: BugRecord,
    artifact: ArtifactFiles,
    aid: string,
    n: number,
    validation: ValidationReport,
  ): Promise<AttemptOutcome> {
    const cfg = this.session.config;
    const done = await readFinishedAttempt(this.store, bug, n);
    if (done) return done;
    return runSolveAttempt({
      store: this.store,
      bug,
      artifact,
      artifactId: aid,
      attempt: n,
      signal: this.opts.signal,
      engine: docker(),
      unfinished: 'redo',
      emit: (e) => this.emit(e),
      policy: () => this.players.policy!('solver', { round: bug.round, bugId: bug.id, attempt: n }),
      episode: ({ policy, id, onStep }) =>
        this.players.solve!({
          repoDir: cfg.repoDir,
          image: cfg.image,
          policy,
          artifact,
          attempt: n,
          original: validation.original,
          originalReporter: validation.originalReporter,
          maxTurns: cfg.maxTurns,
          testTimeoutMs: cfg.testTimeoutMs,
          signal: this.opts.signal,
          id,
          artifactId: aid,
          onStep,
        }),
    });
  }

  private async refreshCounters(): Promise<void> {
    const bugs = await this.store.listBugs();
    const c = this.session.counters;
    c.proposals = Object.keys(this.session.rounds).length;
    c.validBugs = bugs.filter((b) => b.valid).length;
    c.higherOrder = bugs.filter((b) => b.order > 1).length;
    c.attempts = bugs.reduce((s, b) => s + (b.attempts ?? 0), 0);
    c.solved = bugs.reduce((s, b) => s + (b.solved ?? 0), 0);
  }

  async computeMetrics(): Promise<SessionMetrics> {
    await this.refreshCounters();
    return computeMetrics(this.store, this.session, this.activeAtStart + (Date.now() - this.startedAt), this.peakRss);
  }
}

/** Session metrics from the store's contents (also used by `ssr runs` and the extension). */
export async function computeMetrics(store: RunStore, session: SessionFile, activeMs: number, peakRss = 0): Promise<SessionMetrics> {
  const bugs = await store.listBugs();
  const first = bugs.filter((b) => b.order === 1);
  const rounds = Object.values(session.rounds);
  const failuresPerCheck: Record<string, number> = Object.fromEntries(CHECK_IDS.map((id) => [id, 0]));
  for (const b of bugs) if (b.firstFailure) failuresPerCheck[b.firstFailure] = (failuresPerCheck[b.firstFailure] ?? 0) + 1;
  const hist: Record<string, number> = { 's=0': 0, '(0,0.25]': 0, '(0.25,0.5]': 0, '(0.5,0.75]': 0, '(0.75,1)': 0, 's=1': 0 };
  for (const b of bugs) {
    if (b.solveRate === undefined) continue;
    const s = b.solveRate;
    const bin = s === 0 ? 's=0' : s === 1 ? 's=1' : s <= 0.25 ? '(0,0.25]' : s <= 0.5 ? '(0.25,0.5]' : s <= 0.75 ? '(0.5,0.75]' : '(0.75,1)';
    hist[bin]++;
  }
  const { records } = JsonlFile.read<TrajectoryRecord>(store.trajectories.file);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined);
  const roundNums = [...new Set(bugs.map((b) => b.round))].sort((a, b) => a - b);
  const perRound = roundNums.map((round) => {
    const rb = bugs.filter((b) => b.round === round);
    return {
      round,
      bugs: rb.length,
      meanRInject: mean(rb.map((b) => b.rInject).filter((x): x is number => x !== undefined)),
      meanRSolve: mean(records.filter((x) => x.role === 'solver' && x.round === round).map((x) => x.reward)),
      tampered: tamperedCount(records, round),
    };
  });
  const valid = bugs.filter((b) => b.valid).length;
  const judgedProposals = first.length;
  return {
    proposals: rounds.length,
    proposalsFailed: rounds.filter((r) => r.status === 'no-proposal').length,
    validBugs: valid,
    validOnScriptOnly: bugs.filter((b) => b.valid && b.brokenSeenByScriptOnly).length,
    invalidBugs: bugs.filter((b) => b.valid === false).length,
    validShare: judgedProposals ? first.filter((b) => b.valid).length / judgedProposals : 0,
    failuresPerCheck,
    higherOrderBugs: bugs.filter((b) => b.order > 1).length,
    attempts: bugs.reduce((s, b) => s + (b.attempts ?? 0), 0),
    solved: bugs.reduce((s, b) => s + (b.solved ?? 0), 0),
    tampered: tamperedCount(records),
    perPolicyVersion: verdictsPerPolicyVersion(records),
    solveRateHistogram: hist,
    perRound,
    meanRInject: mean(bugs.map((b) => b.rInject).filter((x): x is number => x !== undefined)),
    meanRSolve: mean(records.filter((x) => x.role === 'solver').map((x) => x.reward)),
    artifactsPerHour: activeMs > 0 ? valid / (activeMs / 3_600_000) : 0,
    activeMs,
    peakRssMb: Math.round(peakRss / (1024 * 1024)),
  };
}

function validateConfig(c: SelfPlayConfig, players: Players): void {
  const problems: string[] = [];
  if (!fs.existsSync(c.repoDir) || !fs.statSync(c.repoDir).isDirectory()) problems.push(`the repository ${c.repoDir} is not a folder`);
  if (!Number.isInteger(c.attempts) || c.attempts < 1) problems.push('attempts must be an integer >= 1');
  if (!Number.isInteger(c.concurrency) || c.concurrency < 1) problems.push('concurrency must be an integer >= 1');
  if (!Number.isInteger(c.rounds) || c.rounds < 0) problems.push('rounds must be an integer >= 0');
  if (!(c.alpha >= 0 && c.alpha <= 1)) problems.push('alpha must be in [0, 1]');
  if (c.proposer === 'bootstrap' && !players.bootstrap) problems.push('the bootstrap proposer is not available');
  if (c.proposer === 'policy' && (!players.policy || !players.inject)) {
    problems.push('a policy proposer needs a model: pass --policy openai|onnx|replay, or use --proposer bootstrap');
  }
  if (problems.length) throw new UsageError(problems.join('; '));
}
