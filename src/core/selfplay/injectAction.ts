/**
 * Inject one bug: propose (bootstrap proposer, or the policy as injector),
 * run the seven checks and store it in a new run directory, as a one-round
 * self-play session without solving, so the run looks like any other.
 */
import * as path from 'node:path';
import { DEFAULT_THRESHOLDS, type Thresholds } from '../judge/checks';
import { DEFAULT_IMAGE } from '../sandbox/docker';
import { RunStore, type BugRecord } from '../runs/store';
import type { Trajectory, TrajectoryStep } from '../base/trajectory';
import type { StrategyChoice } from '../agents/prompts';
import type { PolicySpec } from '../policy';
import { DEFAULT_CONFIG, type SelfPlayConfig } from './config';
import type { SessionFile } from './sessionFile';
import type { SessionEvent } from './events';
import { makePlayers, type Players } from './players';
import { SelfPlaySession } from './session';

/** The policy as recorded in session.json: never a secret. */
export function policyDescription(spec?: PolicySpec): SelfPlayConfig['policy'] {
  if (!spec) return undefined;
  const s = spec as { kind: string; model?: string; baseUrl?: string; trajectory?: unknown };
  return {
    kind: s.kind,
    ...(s.model ? { model: s.model } : {}),
    ...(s.baseUrl ? { baseUrl: s.baseUrl } : {}),
    ...(typeof s.trajectory === 'string' ? { trajectory: s.trajectory } : {}),
  };
}

export interface InjectBugOptions {
  repoDir: string;
  image?: string;
  thresholds?: Partial<Thresholds>;
  concurrency?: number;
  /** The model as injector; undefined: the bootstrap proposer (no model). */
  policy?: PolicySpec;
  strategy?: StrategyChoice;
  /** Seed of the proposal (default: random, so each call proposes something new). */
  seed?: number;
  maxTurns?: number;
  testTimeoutMs?: number;
  /** The runs folder (default `<repo>/.ssr/runs`). */
  runsRoot?: string;
  runId?: string;
  signal?: AbortSignal;
  onEvent?: (e: SessionEvent) => void;
  /** Each step of the injector's episode (policy proposer only), as it happens. */
  onInjectStep?: (step: TrajectoryStep, trajectory: Trajectory) => void;
  /** Replaces the players (tests). */
  players?: Players;
}

export interface InjectBugResult {
  runDir: string;
  session: SessionFile;
  bug?: BugRecord;
}

/**
 * Proposes one bug (bootstrap proposer, or the policy as injector), runs the
 * seven checks and stores it in a new run directory: a one-round self-play
 * session without solving, so the run looks like any other.
 */
export async function injectBug(opts: InjectBugOptions): Promise<InjectBugResult> {
  const players: Players = opts.players ?? injectOnlyPlayers(opts);
  const config: SelfPlayConfig = {
    ...DEFAULT_CONFIG,
    repoDir: path.resolve(opts.repoDir),
    image: opts.image ?? DEFAULT_IMAGE,
    proposer: opts.policy ? 'policy' : 'bootstrap',
    policy: policyDescription(opts.policy),
    strategy: opts.strategy ?? 'mix',
    attempts: 1,
    rounds: 1,
    higherOrder: false,
    thresholds: { ...DEFAULT_THRESHOLDS, ...(opts.thresholds ?? {}) },
    concurrency: opts.concurrency ?? DEFAULT_CONFIG.concurrency,
    seed: opts.seed ?? Math.floor(Math.random() * 2 ** 31),
    maxTurns: opts.maxTurns,
    testTimeoutMs: opts.testTimeoutMs,
  };
  const runId = opts.runId ?? RunStore.newRunId();
  const out = opts.runsRoot ? path.join(opts.runsRoot, runId) : undefined;
  const session = await SelfPlaySession.create(config, players, { signal: opts.signal, onEvent: opts.onEvent, out, runId });
  const file = await session.run();
  const store = new RunStore(session.runDir);
  const bug = (await store.listBugs())[0];
  return { runDir: session.runDir, session: file, bug };
}

/** Players that propose (bootstrap or policy injector, with live steps) and never solve. */
function injectOnlyPlayers(opts: InjectBugOptions): Players {
  const base = makePlayers({ policy: opts.policy, onInjectStep: opts.onInjectStep });
  if (!opts.policy) return { bootstrap: base.bootstrap };
  // No solve: the session stores the bug as 'unsolved-no-solver'.
  return { policy: base.policy, bootstrap: base.bootstrap, inject: base.inject };
}
