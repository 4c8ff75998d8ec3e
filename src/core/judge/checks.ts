/**
 * The seven consistency checks that decide whether a bug artifact is valid:
 * plan -> run -> decide.
 *
 * The plan (validationPlan.ts): what is known before running anything, and
 * the test runs the checks need (original, buggy, weakened, and one per bug
 * file with that file restored). They do not depend on each other: they run
 * in parallel on a pool of prepared sandboxes and never twice within a
 * validation (validationRun.ts). The checks are then judged from the results
 * (validationDecide.ts), each a pure function of them (consistency.ts), in
 * the paper's order; a check whose input failed earlier is skipped and names
 * the check it depends on.
 */
import { DEFAULT_IMAGE } from '../sandbox/docker';
import { DEFAULT_ORIGINAL_REPEAT, type CheckId, type ValidateOptions, type ValidationEvent, type ValidationReport } from './checkTypes';
import { decide, dropFlaky, flakyTests } from './validationDecide';
import { missingOnHost, resolveThresholds, staticFacts } from './validationPlan';
import { runValidationStates } from './validationRun';

export {
  CHECK_IDS,
  DEFAULT_ORIGINAL_REPEAT,
  DEFAULT_THRESHOLDS,
  type CheckId,
  type CheckResult,
  type CheckStatus,
  type Thresholds,
  type ValidateOptions,
  type ValidationEvent,
  type ValidationReport,
} from './checkTypes';
export type { StateRun } from './stateRun';

/** Validates a bug artifact against a repository. Never throws for the artifact's faults. */
export async function validateArtifact(opts: ValidateOptions): Promise<ValidationReport> {
  const started = Date.now();
  const image = opts.image ?? DEFAULT_IMAGE;
  const thresholds = resolveThresholds(opts);
  const repeat = Math.max(1, opts.repeat ?? 1);
  const originalRepeat = Math.max(repeat, opts.originalRepeat ?? DEFAULT_ORIGINAL_REPEAT);
  const emit = (e: ValidationEvent) => opts.onEvent?.(e);
  const timing = new Map<CheckId, number>();

  // --- Plan: structure, and what can be judged without running anything.
  const facts = staticFacts(opts.artifact, opts.problems);
  const host = await missingOnHost(opts, facts.problems);
  if (host.ms !== undefined) timing.set('test_files_exist', host.ms);

  // --- Run the states.
  const out = await runValidationStates({ opts, image, facts, repeat, originalRepeat, timing, emit });

  // --- Decide: flaky tests left out, then the checks in order.
  const flaky = flakyTests(out.repetitions.values());
  dropFlaky(out.runs.values(), flaky);
  const d = decide(
    { ...facts, artifact: opts.artifact, thresholds, missingTestFiles: out.missingInImage ?? host.missing, neutrality: out.neutrality, runs: out.runs, flakyCount: flaky.size },
    timing,
    emit,
  );
  const orig = out.runs.get('original');
  return {
    valid: d.checks.every((c) => c.status === 'pass'),
    checks: d.checks,
    firstFailure: d.checks.find((c) => c.status === 'fail')?.id,
    thresholds,
    image,
    runs: [...out.runs.values()],
    flaky: [...flaky],
    original: orig?.results,
    ...(orig?.reporter ? { originalReporter: orig.reporter } : {}),
    brokenTests: d.brokenTests,
    ...(d.brokenSeenBy ? { brokenSeenBy: d.brokenSeenBy } : {}),
    oracleFailing: d.oracleFailing,
    hiddenTests: d.hiddenTests,
    bugFiles: facts.bugFiles,
    inverseMutation: d.inverseMutation,
    durationMs: Date.now() - started,
  };
}
