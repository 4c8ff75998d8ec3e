/**
 * What the injector and the solver episodes share: their common options,
 * the repository check, the trajectory of an episode cancelled before its
 * agent started, and which statuses leave an episode unjudged.
 */
import * as fs from 'node:fs/promises';
import type { Policy } from '../policy/types';
import { TRAJECTORY_FORMAT, type Role, type Strategy, type TaskInfo, type Trajectory, type TrajectoryStep } from '../base/trajectory';
import type { SandboxLimits } from '../sandbox/docker';
import { UsageError } from '../base/errors';
import type { AgentBudgets, ToolMode } from '../agents/loop';

/** The trajectory of an episode cancelled before its agent started. */
export function cancelledTrajectory(id: string, role: Role, policy: Policy, task: TaskInfo, strategy?: Strategy): Trajectory {
  const now = new Date().toISOString();
  return {
    format: TRAJECTORY_FORMAT,
    id,
    role,
    ...(strategy ? { strategy } : {}),
    policy: { ...policy.info },
    task,
    messages: [],
    steps: [],
    tokens: [],
    status: 'cancelled',
    error: 'cancelled before the agent started',
    timings: { startedAt: now, finishedAt: now, totalMs: 0 },
    info: { exit_status: 'cancelled' },
  };
}

/** Statuses that say the episode could not be judged (no fault of the model's): no reward. */
export function unjudgeable(t: Trajectory): boolean {
  if (t.status === 'cancelled') return true;
  if (t.status !== 'error') return false;
  const kind = t.info?.error_kind;
  return kind === 'policy' || kind === 'sandbox' || kind === 'internal';
}

export interface EpisodeCommon extends AgentBudgets, SandboxLimits {
  repoDir: string;
  image?: string;
  policy: Policy;
  signal?: AbortSignal;
  onStep?: (step: TrajectoryStep, trajectory: Trajectory) => void;
  toolMode?: ToolMode;
  temperature?: number;
  topP?: number;
  id?: string;
  labels?: Record<string, string>;
}

export async function assertRepo(repoDir: string): Promise<void> {
  const st = await fs.stat(repoDir).catch(() => undefined);
  if (!st?.isDirectory()) throw new UsageError(`the repository folder ${repoDir} does not exist`);
}
