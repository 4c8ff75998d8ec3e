/**
 * Builds a self-play session's players from a policy spec: the policy
 * factory (a fresh replay per episode; one shared model for openai and
 * onnx), the bootstrap proposer, and the injector and solver episodes.
 */
import { proposeBug } from '../bootstrap';
import { runInjectEpisode, runSolveEpisode } from './episodes';
import { createPolicy, type PolicySpec } from '../policy';
import { UsageError } from '../base/errors';
import type { Policy } from '../policy/types';
import type { Players } from './session';
import type { StrategyChoice } from '../agents/prompts';
import type { Trajectory, TrajectoryStep } from '../base/trajectory';
import type { TrainEvent } from '../training/trainer';
import { runUpdate, updatedAfter } from '../training/loop';
import type { PolicyVersion } from '../base/trajectory';

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
  let release = current.release;
  const factory = current.factory;
  // Updates between rounds: on-policy data since the last update, versions, the new policy back into play.
  const baseSpec = opts.baseSpec ?? opts.policy!;
  const trainer: Players['train'] =
    opts.policy && opts.training
      ? async (store, round, signal) => {
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
        }
      : undefined;
  return {
    train: trainer,
    policy: factory,
    bootstrap: async (o) => {
      const p = await proposeBug({ repoDir: o.repoDir, image: o.image, seed: o.seed, seen: o.seen, signal: o.signal, log: o.log });
      return { key: p.key, strategy: p.strategy, artifact: p.artifact, notes: p.notes, runs: p.runs };
    },
    inject: async (o) => {
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
    },
    solve: async (o) => {
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
    },
  };
}
