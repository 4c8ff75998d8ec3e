/**
 * Builds a self-play session's players from a policy spec: the policy
 * factory (a fresh replay per episode; one shared model for openai and
 * onnx), the bootstrap proposer, and the injector and solver episodes.
 */
import { proposeBug } from './bootstrap';
import { runInjectEpisode, runSolveEpisode } from './episodes';
import { createPolicy, type PolicySpec } from './policy';
import { UsageError } from './errors';
import type { Policy } from './policy/types';
import type { Players } from './selfplay';
import type { StrategyChoice } from './prompts';
import type { Trajectory, TrajectoryStep } from './trajectory';
import { train, type TrainEvent } from './trainer';
import * as path from 'node:path';
import * as fs from 'node:fs';

export interface PlayersOptions {
  /** The shared policy; undefined means no model (bootstrap proposals, no solving). */
  policy?: PolicySpec;
  /** For replay: a separate recorded trajectory for the injector role. */
  injectorReplay?: PolicySpec;
  /** Live steps of injector episodes (the extension shows them). */
  onInjectStep?: (step: TrajectoryStep, trajectory: Trajectory) => void;
  /** Training between rounds (--train-every): the runtime's options. */
  training?: { device?: string; steps?: number; onEvent?: (e: TrainEvent) => void };
}

export function makePlayers(opts: PlayersOptions): Players {
  let shared: Promise<Policy> | undefined;
  const factory = opts.policy
    ? async (role: 'injector' | 'solver'): Promise<Policy> => {
        const spec = role === 'injector' && opts.injectorReplay ? opts.injectorReplay : opts.policy!;
        // Replay policies keep a cursor: each episode gets its own.
        if (spec.kind === 'replay') return createPolicy(spec);
        shared ??= createPolicy(spec);
        const p = await shared;
        // The shared model outlives episodes: disposing an episode's handle is a no-op.
        return { info: p.info, complete: (req) => p.complete(req) };
      }
    : undefined;
  // The model the next training round starts from: the onnx policy's local folder, then each round's output.
  let current = opts.policy?.kind === 'onnx' ? (opts.policy as { model?: string }).model : undefined;
  const trainer: Players['train'] =
    opts.policy && opts.training
      ? async (store, round, signal) => {
          if (!current || !fs.existsSync(path.join(current, 'config.json'))) {
            throw new UsageError(
              '--train-every trains a local model folder: use --policy onnx --model FOLDER (a served model is retrained with `ssr train` and reloaded by its server)',
            );
          }
          const r = await train({
            run: store.dir,
            model: current,
            out: path.join(store.dir, 'train', `round-${String(round).padStart(3, '0')}`),
            device: opts.training!.device,
            steps: opts.training!.steps,
            signal,
            onEvent: opts.training!.onEvent,
          });
          if (!r.onnxDir) return undefined;
          current = r.onnxDir;
          const next = makePlayers({ ...opts, policy: { ...(opts.policy as PolicySpec & { kind: 'onnx' }), model: r.onnxDir } });
          return next.policy;
        }
      : undefined;
  return {
    train: trainer,
    policy: factory,
    bootstrap: async (o) => {
      const p = await proposeBug({ repoDir: o.repoDir, image: o.image, seed: o.seed, seen: o.seen, signal: o.signal, log: o.log });
      return { key: p.key, strategy: p.strategy, artifact: p.artifact, notes: p.notes };
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
        onStep: opts.onInjectStep,
        validation: { concurrency: o.concurrency, onEvent: (e) => e.type === 'check' && o.onCheck(e.check) },
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
