/**
 * A self-play session: the product's main job. Each round
 *
 *   propose (a policy injector episode, or the bootstrap proposer: propose.ts)
 *   -> validate (the seven checks)
 *   -> N solver attempts, in parallel up to the concurrency limit
 *   -> solve rate s -> r_inject, and r_solve per attempt (the paper's rewards)
 *   -> each failed attempt's patch becomes a second-order bug, solved like any other
 *   -> trajectories with their rewards appended to trajectories.jsonl
 *
 * (processing one bug: processBug.ts). This file holds the round loop, the
 * session's start, resume and end, and training between rounds.
 *
 * Every unit of work is keyed deterministically (round, bug id, attempt)
 * and persisted through the run store before the next starts, so a session
 * killed at any moment resumes where it stopped: finished work is read back,
 * unfinished work is redone from the same seed, nothing is duplicated.
 */
import * as os from 'node:os';
import { ProposalsAhead, proposeAhead } from '../bootstrap/overlap';
import { JsonlFile, RunStore, type BugRecord } from '../runs/store';
import type { TrajectoryRecord } from '../base/trajectory';
import { CancelledError, UsageError, classifyFailure, isCancelled } from '../base/errors';
import { docker, ensureEngineAndImage, pidAlive, reapStale } from '../sandbox/docker';
import { RunCache } from '../judge/runCache';
import { resumeCommand, validateConfig, type SelfPlayConfig } from './config';
import { SESSION_FORMAT, type SessionFile, type SessionMetrics } from './sessionFile';
import type { EventBody, SessionEvent, SessionOptions } from './events';
import type { Players } from './players';
import { now, type SessionContext } from './context';
import { computeMetrics } from './metrics';
import { proposeRound } from './propose';
import { processBug } from './processBug';

// The session's records, config and players, for the importers of this entry point.
export { DEFAULT_CONFIG, resumeCommand, roundSeed, type ProposerKind, type SelfPlayConfig } from './config';
export { SESSION_FORMAT, type RoundState, type SessionFile, type SessionMetrics } from './sessionFile';
export type { SessionEvent, SessionOptions } from './events';
export type { Players } from './players';
export { computeMetrics } from './metrics';

const NO_MODEL_NOTE =
  'no model configured: bugs are proposed and validated, solving is skipped. Point SSR at a model to solve them: ' +
  '--policy openai --base-url http://127.0.0.1:8000/v1 --model NAME (vLLM, SGLang, llama.cpp, Ollama at :11434/v1, any OpenAI-compatible server), ' +
  'or --policy onnx --model FOLDER for a local ONNX model.';

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
  /** What proposing and processing a bug get from the session. */
  private readonly ctx: SessionContext;

  private constructor(
    readonly store: RunStore,
    private players: Players,
    private readonly opts: SessionOptions,
  ) {
    const self = this;
    this.ctx = {
      store,
      get config() { return self.session.config; },
      get players() { return self.players; },
      runCache: this.runCache,
      signal: opts.signal,
      emit: (body) => this.emit(body),
      cancelled: () => this.cancelled(),
    };
  }

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
    this.emit({ type: 'session-started', runId: this.store.id, runDir: this.store.dir, resumed, config: this.session.config });
    let note: string | undefined;
    try {
      await this.prepare(resumed);
      note = await this.playRounds();
      this.session.status = 'finished';
    } catch (err) {
      note = await this.stopped(err);
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

  /** The engine and image; on resume, the sandboxes a dead process left; a word when there is no model. */
  private async prepare(resumed: boolean): Promise<void> {
    await ensureEngineAndImage(this.session.config.image);
    if (resumed) {
      const reaped = await reapStale();
      if (reaped.length) this.emit({ type: 'note', message: `removed ${reaped.length} sandbox(es) left by a process that died` });
    }
    if (!this.players.policy) this.emit({ type: 'note', message: NO_MODEL_NOTE });
  }

  /** The round loop: the rounds not done yet, training every trainEvery rounds; a note when the wall-time budget stops it. */
  private async playRounds(): Promise<string | undefined> {
    const cfg = this.session.config;
    for (let r = 0; r < cfg.rounds; r++) {
      if (this.cancelled()) throw new CancelledError();
      if (this.session.rounds[r]) continue;
      if (cfg.maxWallMs && Date.now() - this.startedAt > cfg.maxWallMs) {
        return `stopped after the wall-time budget (${Math.round(cfg.maxWallMs / 1000)} s); resume to continue`;
      }
      this.emit({ type: 'round-started', round: r });
      await this.runRound(r);
      if (cfg.trainEvery > 0 && (r + 1) % cfg.trainEvery === 0 && this.players.train) await this.train(r);
    }
    return undefined;
  }

  /** Trains on the trajectories so far and puts the new policy into play. */
  private async train(r: number): Promise<void> {
    if (JsonlFile.read<TrajectoryRecord>(this.store.trajectories.file).records.length === 0) {
      this.emit({ type: 'training', round: r, detail: 'nothing to train on yet (no judged episode); training skipped' });
      return;
    }
    this.emit({ type: 'training', round: r, detail: 'training on the trajectories since the last update' });
    const next = await this.players.train!(this.store, r, this.opts.signal);
    if (next) {
      this.players = { ...this.players, policy: next };
      this.emit({ type: 'training', round: r, detail: 'new policy loaded' });
    }
  }

  /** How the session ended when something was thrown: cancelled, interrupted (infrastructure) or failed; its note. */
  private async stopped(err: unknown): Promise<string> {
    const infra = isCancelled(err) || this.cancelled() ? undefined : await classifyFailure(err, docker());
    if (isCancelled(err) || this.cancelled()) {
      this.session.status = 'cancelled';
      return 'cancelled; resume with ssr selfplay --resume to continue';
    }
    if (infra) {
      // Not the policy's fault: nothing was recorded for the work in flight; --resume redoes it.
      this.session.status = 'interrupted';
      const resume = resumeCommand(this.store.dir, this.session.config);
      this.emit({ type: 'interrupted', message: infra.message, resume });
      return `paused: ${infra.message.replace(/\.\s*$/, '')}. Nothing was recorded for the interrupted work. Once that is fixed, resume with: ${resume}`;
    }
    this.session.status = 'failed';
    const note = (err as Error).message;
    this.emit({ type: 'error', message: note });
    return note;
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
    const children = await processBug(this.ctx, bug);
    for (const child of children) await processBug(this.ctx, child);
    this.session.rounds[r] = { status: 'done', bugId: bug.id, finishedAt: now() };
    await this.refreshCounters();
    await this.saveSession();
  }

  /** The round's first-order bug; undefined (recorded as no-proposal) when none could be made. */
  private async propose(r: number): Promise<BugRecord | undefined> {
    const p = await proposeRound(this.ctx, r);
    if ('bug' in p) return p.bug;
    this.emit({ type: 'proposal-failed', round: r, reason: p.failed });
    this.session.rounds[r] = { status: 'no-proposal', reason: p.failed, finishedAt: now() };
    await this.saveSession();
    return undefined;
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
