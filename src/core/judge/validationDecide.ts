/**
 * Validation's decision, once the states have run: the flaky tests (a result
 * that changed between repetitions of one state) left out of every run, then
 * the seven checks (consistency.ts) judged in the paper's order, a check
 * whose input failed earlier skipped with the name of the check it depends on.
 */
import type { StateRun } from './stateRun';
import { passing, type TestResults } from './testRun';
import { CHECK_IDS, type CheckId, type CheckResult, type ValidationEvent, type ValidationReport } from './checkTypes';
import {
  bugBreaksTests,
  bugScope,
  inverseMutation,
  originalPasses,
  parserValid,
  testFilesExist,
  weakenHidesBug,
  type CheckFacts,
  type Verdict,
} from './consistency';

/** Which earlier checks each check needs. */
const DEPENDS: Record<CheckId, CheckId[]> = {
  test_files_exist: [],
  parser_valid: [],
  original_passes: ['parser_valid'],
  bug_scope: ['test_files_exist'],
  bug_breaks_tests: ['original_passes', 'bug_scope'],
  weaken_hides_bug: ['bug_breaks_tests', 'test_files_exist'],
  inverse_mutation: ['bug_breaks_tests'],
};

/** Flaky tests: a different result between repetitions of one state. */
export function flakyTests(repetitions: Iterable<TestResults[]>): Set<string> {
  const flaky = new Set<string>();
  for (const all of repetitions) {
    for (let i = 1; i < all.length; i++) {
      const ids = new Set([...Object.keys(all[0]), ...Object.keys(all[i])]);
      for (const id of ids) if (all[0][id] !== all[i][id]) flaky.add(id);
    }
  }
  return flaky;
}

/** Leaves the flaky tests out of each run's results (in place) and counts what is left. */
export function dropFlaky(runs: Iterable<StateRun>, flaky: Set<string>): void {
  const clean = (r?: TestResults): TestResults | undefined => {
    if (!r) return r;
    const out: TestResults = {};
    for (const [k, v] of Object.entries(r)) if (!flaky.has(k)) out[k] = v;
    return out;
  };
  for (const run of runs) {
    run.results = clean(run.results);
    if (run.results) {
      const p = passing(run.results).size;
      run.counts = { passed: p, failed: Object.keys(run.results).length - p };
    }
  }
}

/** The checks' results, and the sets of tests the checks found. */
export type Decision = Pick<ValidationReport, 'checks' | 'brokenTests' | 'brokenSeenBy' | 'oracleFailing' | 'hiddenTests' | 'inverseMutation'>;

/** Judges one check, keeping the tests it found in `d`. */
function judge(id: CheckId, f: CheckFacts, d: Decision): Verdict {
  switch (id) {
    case 'test_files_exist':
      return testFilesExist(f);
    case 'parser_valid':
      return parserValid(f);
    case 'original_passes':
      return originalPasses(f);
    case 'bug_scope':
      return bugScope(f);
    case 'bug_breaks_tests': {
      const { broken, seenBy, ...v } = bugBreaksTests(f);
      d.brokenTests = broken;
      d.brokenSeenBy = seenBy;
      return v;
    }
    case 'weaken_hides_bug': {
      const { hidden, ...v } = weakenHidesBug(f, d.brokenTests);
      d.hiddenTests = hidden;
      return v;
    }
    case 'inverse_mutation': {
      const { oracleFailing, inverse, ...v } = inverseMutation(f, d.brokenTests);
      d.oracleFailing = oracleFailing;
      d.inverseMutation = inverse;
      return v;
    }
  }
}

/** The time a check's state runs took, beside its own (`timing`: looking for files, comparing behaviour). */
function runTimes(f: CheckFacts): Partial<Record<CheckId, number>> {
  return {
    parser_valid: f.runs.get('original')?.durationMs,
    bug_breaks_tests: f.runs.get('buggy')?.durationMs,
    weaken_hides_bug: f.runs.get('weakened')?.durationMs,
    inverse_mutation: f.bugFiles.length > 1 ? Math.max(0, ...f.bugFiles.map((file) => f.runs.get(`restore:${file}`)?.durationMs ?? 0)) : 0,
  };
}

/** Judges the checks in order, each reported through `emit` as it is decided. */
export function decide(f: CheckFacts, timing: ReadonlyMap<CheckId, number>, emit: (e: ValidationEvent) => void): Decision {
  const d: Decision = { checks: [], brokenTests: [], oracleFailing: [], hiddenTests: [], inverseMutation: [] };
  const results = new Map<CheckId, CheckResult>();
  const runTime = runTimes(f);
  for (const id of CHECK_IDS) {
    const s = Date.now();
    const failedDep = DEPENDS[id].find((dep) => results.get(dep)?.status !== 'pass');
    let r: CheckResult;
    if (failedDep) {
      r = { id, status: 'skip', detail: `skipped: depends on ${failedDep}, which did not pass`, durationMs: 0 };
    } else {
      const v = judge(id, f, d);
      r = { id, status: v.status, detail: v.detail, durationMs: Math.round((timing.get(id) ?? 0) + (runTime[id] ?? 0) + (Date.now() - s)) };
    }
    results.set(id, r);
    emit({ type: 'check', check: r });
  }
  d.checks = CHECK_IDS.map((id) => results.get(id)!);
  return d;
}
