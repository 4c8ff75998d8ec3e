/**
 * The shapes of validation: the seven checks' ids, a check's result, the
 * thresholds, the events a validation emits, its options and its report.
 * checks.ts re-exports them all (its callers import from there).
 */
import type { ArtifactFiles, ArtifactProblem } from '../artifact/artifact';
import type { SandboxLimits } from '../sandbox/docker';
import type { RunCache } from './runCache';
import type { StateRun } from './stateRun';
import type { ReporterRecords, TestResults } from './testRun';

export const CHECK_IDS = [
  'test_files_exist',
  'parser_valid',
  'original_passes',
  'bug_scope',
  'bug_breaks_tests',
  'weaken_hides_bug',
  'inverse_mutation',
] as const;
export type CheckId = (typeof CHECK_IDS)[number];
export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface CheckResult {
  id: CheckId;
  status: CheckStatus;
  detail: string;
  durationMs: number;
}

export interface Thresholds {
  minPassingTests: number;
  minChangedFiles: number;
  minFailingTests: number;
}

/** The original state runs this many times by default, to find flaky tests. */
export const DEFAULT_ORIGINAL_REPEAT = 2;

export const DEFAULT_THRESHOLDS: Thresholds = { minPassingTests: 5, minChangedFiles: 1, minFailingTests: 1 };

export type ValidationEvent =
  /**
   * The runs validation will start, `parallel` at once; `cached`: the states
   * taken from the session's run cache instead (not run again); `suiteMs`:
   * T_suite when a run of the suite is known already.
   */
  | { type: 'runs-planned'; states: string[]; cached?: string[]; parallel: number; suiteMs?: number }
  | { type: 'run-started'; state: string }
  | { type: 'run-finished'; run: StateRun }
  | { type: 'check'; check: CheckResult };

export interface ValidateOptions extends SandboxLimits, Partial<Thresholds> {
  /** The original repository on the host (copied into sandboxes, never modified). */
  repoDir?: string;
  /** The image holds the repository at this path already. */
  repoInImage?: string;
  artifact: ArtifactFiles;
  /** Problems found while reading the artifact from disk (missing files). */
  problems?: ArtifactProblem[];
  image?: string;
  /** Sandboxes at once. Default: the number of cores, at most 4. */
  concurrency?: number;
  /** Runs each state N times; tests whose result differs are flaky and left out of every set. */
  repeat?: number;
  /**
   * Runs of the original state (default DEFAULT_ORIGINAL_REPEAT, or `repeat`
   * when larger): tests whose outcome changes between them are flaky.
   */
  originalRepeat?: number;
  /**
   * The session's runs (runCache.ts): the original state's (by tree, script,
   * parser and image), and the bootstrap proposer's own runs of the buggy and
   * weakened states. Repeated states (repeat > 1) always run.
   */
  runCache?: RunCache;
  testTimeoutMs?: number;
  signal?: AbortSignal;
  onEvent?: (e: ValidationEvent) => void;
  labels?: Record<string, string>;
}

export interface ValidationReport {
  valid: boolean;
  checks: CheckResult[];
  /** Id of the first failing check, when invalid. */
  firstFailure?: CheckId;
  thresholds: Thresholds;
  image: string;
  runs: StateRun[];
  flaky: string[];
  /** Test results on the original repository (what evaluation compares against). */
  original?: TestResults;
  /** What the judge's pytest reporter saw on the original run (its plugins): evaluation compares the patched run's with it. */
  originalReporter?: ReporterRecords;
  /** Passing on the original, failing or gone with the bug. */
  brokenTests: string[];
  /**
   * Who saw the broken tests fail: the judge's own reporter (pytest), or only the artifact's script and parser
   * (a runner the judge has no reporter for). Absent when bug_breaks_tests did not run.
   */
  brokenSeenBy?: 'reporter' | 'script';
  /** F: passing on the original and failing with the full bug (inverse mutation's set). */
  oracleFailing: string[];
  /** Failed in the buggy state, passing or gone once weakened. */
  hiddenTests: string[];
  bugFiles: string[];
  /** Per bug file: the tests of F that restoring it alone makes pass. */
  inverseMutation: Array<{ file: string; flipped: string[] }>;
  durationMs: number;
}
