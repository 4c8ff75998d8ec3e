/**
 * session.json: a run's session record (its config, status, rounds done,
 * counters) and the metrics written into it when the session ends.
 */
import type { VersionVerdicts } from './verdictCounts';
import type { SelfPlayConfig } from './config';

export const SESSION_FORMAT = 'ssr-session/1';

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
