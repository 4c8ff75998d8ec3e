/**
 * What a round's work (proposing a bug, processing one) gets from the
 * session that runs it, and the trajectory record it appends to
 * trajectories.jsonl.
 */
import type { Trajectory, TrajectoryRecord } from '../base/trajectory';
import type { RunCache } from '../judge/runCache';
import type { RunStore } from '../runs/store';
import type { SelfPlayConfig } from './config';
import type { EventBody } from './events';
import type { Players } from './players';

export interface SessionContext {
  readonly store: RunStore;
  readonly config: SelfPlayConfig;
  /** The players now (training between rounds replaces the policy). */
  readonly players: Players;
  readonly runCache: RunCache;
  readonly signal?: AbortSignal;
  emit(body: EventBody): void;
  cancelled(): boolean;
}

export const now = (): string => new Date().toISOString();

/** One line of trajectories.jsonl: the trajectory with its group and reward. */
export function record(t: Trajectory, group: string, reward: number, extra: Partial<TrajectoryRecord>, pathRel: string): TrajectoryRecord {
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
