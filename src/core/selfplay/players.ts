/**
 * The players: what a self-play session needs from the agents (Players), and
 * how they are built from a policy spec: the policy factory (a fresh replay
 * per episode; one shared model for openai and onnx), the bootstrap
 * proposer, the injector and solver episodes, and training between rounds.
 */
import { proposeBug } from '../bootstrap';
import { runInjectEpisode, runSolveEpisode } from './episodes';
import { createPolicy, type PolicySpec } from '../policy';
import { UsageError } from '../base/errors';
import type { Policy } from '../policy/types';
import type { ArtifactFiles } from '../artifact/artifact';
import type { CheckResult, Thresholds, ValidationEvent, ValidationReport } from '../judge/checks';
import type { ReporterRecords } from '../judge/testRun';
import type { Evaluation } from '../judge/evaluate';
import type { CachedStateRun } from '../judge/runCache';
import type { RunStore } from '../runs/store';
import type { StrategyChoice } from '../agents/prompts';
import type { Trajectory, TrajectoryStep } from '../base/trajectory';
import type { TrainEvent } from '../training/trainer';
import { runUpdate, updatedAfter } from '../training/loop';
import type { PolicyVersion } from '../base/trajectory';

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

export interface PlayersOptions {
  /** The shared policy; undefined means no model (bootstrap proposals, no solving). */
  policy?: PolicySpec;
  /** For replay: a separate recorded trajectory for the injector role. */
  injectorReplay?: PolicySpec;
  /** Live steps of injector episodes (the extension shows them). */
  onInjectStep?: (step: TrajectoryStep, trajectory: Trajectory) => void;
  /** Training between rounds (--train-every): the runtime's options (see training/loop.ts). */
  training?: { device?: string; steps?: number; trainModel?: string; extraArgs?: string[]; onEvent?: (e: TrainEvent) => void };
  /** The policy version the episodes are sampled with (recorded in each trajectory's `policy.version`). */
  version?: PolicyVersion;
  /** With training: the session's policy as configured (before any update); default `policy`. */
  baseSpec?: PolicySpec;
}

/**
 * The policy factory of one policy version: one shared model for every episode (parallel attempts
 * included) of openai and onnx policies, a fresh replay per episode. `release` frees the shared model.
 */
function policyFactory(opts: PlayersOptions): { factory: Players['policy']; release: () => Promise<void> } {
  let shared: Promise<Policy> | undefined;
  const factory = opts.policy
    ? async (role: 'injector' | 'solver'): Promise<Policy> => {
        const spec = role === 'injector' && opts.injectorReplay ? opts.injectorReplay : opts.policy!;
        // Replay policies keep a cursor: each episode gets its own.
        if (spec.kind === 'replay') return createPolicy(spec);
        shared ??= createPolicy(spec);
        const p = await shared;
        // The shared model outlives episodes: disposing an episode's handle is a no-op.
        return { info: opts.version ? { ...p.info, version: opts.version } : p.info, complete: (req) => p.complete(req) };
      }
    : undefined;
  const release = async () => {
    const old = shared;
    shared = undefined;
    if (old) await (await old.catch(() => undefined))?.dispose?.();
  };
  return { factory, release };
}

export function makePlayers(opts: PlayersOptions): Players {
  const current = policyFactory(opts);
  return {
    train: trainer(opts, current.release),
    policy: current.factory,
    bootstrap: async (o) => {
      const p = await proposeBug({ repoDir: o.repoDir, image: o.image, seed: o.seed, seen: o.seen, signal: o.signal, log: o.log });
      return { key: p.key, strategy: p.strategy, artifact: p.artifact, notes: p.notes, runs: p.runs };
    },
    inject: injectorPlayer(opts),
    solve: solverPlayer,
  };
}

/** Updates between rounds: on-policy data since the last update, versions, the new policy back into play. */
function trainer(opts: PlayersOptions, releaseFirst: () => Promise<void>): Players['train'] {
  if (!opts.policy || !opts.training) return undefined;
  let release = releaseFirst;
  const baseSpec = opts.baseSpec ?? opts.policy;
  return async (store, round, signal) => {
    if (opts.policy!.kind === 'replay') throw new UsageError('--train-every needs a model: --policy onnx or --policy openai');
    if (await updatedAfter(store.dir, round)) return undefined; // a resumed session: this update was made
    const u = await runUpdate({ spec: baseSpec, ...opts.training! }, store, round, signal);
    if (!u) return undefined;
    // The reloaded policy replaces the current one: release its model (no episode runs between
    // rounds), so memory stays flat across reloads.
    await release();
    const next = policyFactory({ ...opts, policy: u.spec, version: u.version });
    release = next.release;
    return next.factory;
  };
}

/** The injector episode with its validation, its steps and checks passed on as they happen. */
function injectorPlayer(opts: PlayersOptions): NonNullable<Players['inject']> {
  return async (o) => {
    const r = await runInjectEpisode({
      repoDir: o.repoDir,
      image: o.image,
      policy: o.policy,
      strategy: o.strategy as StrategyChoice,
      seed: o.seed,
      thresholds: o.thresholds,
      maxTurns: o.maxTurns,
      signal: o.signal,
      id: o.id,
      onStep: (step, t) => {
        o.onStep?.(step.index, step.tool);
        opts.onInjectStep?.(step, t);
      },
      validation: {
        concurrency: o.concurrency,
        onEvent: (e) => {
          if (e.type === 'check') o.onCheck(e.check);
          o.onValidation?.(e);
        },
      },
    });
    return { trajectory: r.trajectory, artifact: r.artifact, validation: r.validation, reward: r.reward };
  };
}

/** The solver episode with its evaluation. */
const solverPlayer: NonNullable<Players['solve']> = async (o) => {
  const r = await runSolveEpisode({
    repoDir: o.repoDir,
    image: o.image,
    policy: o.policy,
    artifact: o.artifact,
    attempt: o.attempt,
    original: o.original,
    originalReporter: o.originalReporter,
    maxTurns: o.maxTurns,
    testTimeoutMs: o.testTimeoutMs,
    signal: o.signal,
    id: o.id,
    artifactId: o.artifactId,
    onStep: (step) => o.onStep(step.index, step.tool),
  });
  return { trajectory: r.trajectory, patch: r.patch, evaluation: r.evaluation, reward: r.reward };
};
