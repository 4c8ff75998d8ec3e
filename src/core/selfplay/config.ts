/**
 * A session's configuration: its fields and defaults, the check made before
 * a session starts or resumes, the seed of each round, and the command that
 * resumes a run with the policy flags it was started with.
 */
import * as os from 'node:os';
import * as fs from 'node:fs';
import { DEFAULT_THRESHOLDS, type Thresholds } from '../judge/checks';
import { DEFAULT_ALPHA } from '../judge/rewards';
import { UsageError } from '../base/errors';
import { DEFAULT_IMAGE } from '../sandbox/docker';
import type { Players } from './players';

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

/** Throws a UsageError naming every problem of a config with these players. */
export function validateConfig(c: SelfPlayConfig, players: Players): void {
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
