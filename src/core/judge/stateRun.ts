import type { ReporterRecords, TestResults } from './testRun';

/**
 * One state's test run as validation records it (original, buggy, weakened,
 * restore:<file>): shared by the checks and the session's run cache.
 */
export interface StateRun {
  /** original | buggy | weakened | restore:<file> */
  state: string;
  ok: boolean;
  error?: string;
  /** Results of the first repetition, flaky tests removed. */
  results?: TestResults;
  counts?: { passed: number; failed: number };
  durationMs: number;
  repetitions: number;
  logTail?: string;
  /** What the judge's pytest reporter saw in the first repetition (absent: no pytest ran, or a cached run made without it). */
  reporter?: ReporterRecords;
  /** Taken from the session's run cache (runCache.ts), not run again. */
  cached?: boolean;
}
