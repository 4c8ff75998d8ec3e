/**
 * The seven consistency checks, each a pure function of what validation
 * knows (the artifact, its parsed diffs, the state runs with flaky tests left
 * out) to a verdict: pass or fail, and the detail that says why. The checks
 * that find a set of tests (the broken, the hidden, inverse mutation's F)
 * return it beside the verdict. Which check runs, in what order and when one
 * is skipped is decided in validationDecide.ts.
 */
import { type ArtifactFiles, type ArtifactProblem, type ParsedDiff, BUG_INJECT, TEST_FILES, TEST_WEAKEN } from '../artifact/artifact';
import { isHarnessPath } from './harness';
import { codeLoadingReason } from './harnessDiff';
import { neutralFailure, type Neutrality } from './neutral';
import { corroboratedBroken } from './reporter';
import type { StateRun } from './stateRun';
import { passing } from './testRun';
import type { Thresholds, ValidationReport } from './checkTypes';
import { problemsFor } from './validationPlan';

/** A check's decision. */
export interface Verdict {
  status: 'pass' | 'fail';
  detail: string;
}

/** What the checks are judged from. */
export interface CheckFacts {
  artifact: Pick<ArtifactFiles, 'testFiles' | 'testScript'>;
  thresholds: Thresholds;
  /** The artifact's problems found before running (validationPlan.ts). */
  problems: ArtifactProblem[];
  bug: ParsedDiff;
  weaken: ParsedDiff;
  bugFiles: string[];
  /** Listed test files that do not exist in the original repository. */
  missingTestFiles: string[];
  /** Whether the bug's files change behaviour (neutral.ts); absent when not compared. */
  neutrality?: Neutrality;
  /** The runs by state (original, buggy, weakened, restore:<file>), flaky tests left out. */
  runs: ReadonlyMap<string, StateRun>;
  flakyCount: number;
}

function list(xs: Iterable<string>, max = 5): string {
  const a = [...xs];
  const shown = a.slice(0, max).join(', ');
  return a.length > max ? `${shown} and ${a.length - max} more` : shown;
}

function flakyNote(f: CheckFacts): string {
  return f.flakyCount ? ` (${f.flakyCount} flaky test(s) left out)` : '';
}

/** Tests that pass on the original repository. */
function passingOnOriginal(f: CheckFacts): Set<string> {
  return passing(f.runs.get('original')?.results);
}

/** The listed test files exist, and the weakening touches only them. */
export function testFilesExist(f: CheckFacts): Verdict {
  const own = problemsFor(f.problems, 'test_files_exist');
  if (own.length) return { status: 'fail', detail: own.join('; ') };
  if (f.missingTestFiles.length) {
    return { status: 'fail', detail: `${TEST_FILES} lists file(s) that do not exist in the original repository: ${list(f.missingTestFiles)}` };
  }
  const testFileSet = new Set(f.artifact.testFiles);
  const unlisted = f.weaken.paths.filter((p) => !testFileSet.has(p));
  if (unlisted.length) {
    return { status: 'fail', detail: `${TEST_WEAKEN} touches file(s) not listed in ${TEST_FILES}: ${list(unlisted)}` };
  }
  return { status: 'pass', detail: `${f.artifact.testFiles.length} test file(s) exist; ${TEST_WEAKEN} touches only listed files (${f.weaken.paths.length})` };
}

/** The script and parser ran on the original repository and mapped its tests. */
export function parserValid(f: CheckFacts): Verdict {
  const own = problemsFor(f.problems, 'parser_valid');
  if (own.length) return { status: 'fail', detail: own.join('; ') };
  const orig = f.runs.get('original');
  if (!orig) return { status: 'fail', detail: 'the original repository\'s tests did not run' };
  if (!orig.ok) return { status: 'fail', detail: `on the original repository: ${orig.error}` };
  return { status: 'pass', detail: `the parser mapped ${Object.keys(orig.results ?? {}).length} test(s) on the original repository${flakyNote(f)}` };
}

/** Enough tests pass on the original repository. */
export function originalPasses(f: CheckFacts): Verdict {
  const n = passingOnOriginal(f).size;
  const min = f.thresholds.minPassingTests;
  if (n < min) {
    return { status: 'fail', detail: `${n} test(s) pass on the original repository; at least ${min} must${flakyNote(f)}` };
  }
  return { status: 'pass', detail: `${n} test(s) pass on the original repository (minimum ${min})${flakyNote(f)}` };
}

/** The bug changes enough code files, no test file and no harness, and changes behaviour. */
export function bugScope(f: CheckFacts): Verdict {
  const own = problemsFor(f.problems, 'bug_scope');
  if (own.length) return { status: 'fail', detail: own.join('; ') };
  const testFileSet = new Set(f.artifact.testFiles);
  const inTests = f.bug.paths.filter((p) => testFileSet.has(p));
  if (inTests.length) return { status: 'fail', detail: `${BUG_INJECT} changes test file(s) listed in ${TEST_FILES}: ${list(inTests)}` };
  // Files that load code into the test process (harnessDiff.ts) are no place for a bug either.
  const harness = f.bug.paths.map((p) => [p, isHarnessPath(p, f.artifact.testScript) ?? codeLoadingReason(p)] as const).filter(([, why]) => why);
  if (harness.length) {
    return {
      status: 'fail',
      detail: `${BUG_INJECT} changes the test harness, not code: ${list(harness.map(([p, why]) => `${p} (${why})`))}`,
    };
  }
  if (f.bugFiles.length < f.thresholds.minChangedFiles) {
    return { status: 'fail', detail: `${BUG_INJECT} changes ${f.bugFiles.length} file(s); at least ${f.thresholds.minChangedFiles} required` };
  }
  const n = f.neutrality;
  const same = n && neutralFailure(n, BUG_INJECT);
  if (same) return { status: 'fail', detail: same };
  const compared = n?.verdicts.length ? `; ${n.verdicts.length} compared once parsed, each changes the program` : '';
  const notes = n?.notes.length ? ` (${n.notes.join('; ')})` : '';
  return { status: 'pass', detail: `${BUG_INJECT} changes ${f.bugFiles.length} non-test file(s): ${list(f.bugFiles)}${compared}${notes}` };
}

/** Enough tests that pass on the original fail or disappear with the bug. */
export function bugBreaksTests(f: CheckFacts): Verdict & { broken: string[]; seenBy?: ValidationReport['brokenSeenBy'] } {
  const orig = f.runs.get('original');
  const buggy = f.runs.get('buggy');
  if (!buggy?.ok) return { status: 'fail', detail: `with the bug applied: ${buggy?.error ?? 'the tests did not run'}`, broken: [] };
  let broken = [...passingOnOriginal(f)].filter((id) => buggy.results![id] !== 'passed');
  // The judge's own pytest reporter must have seen each broken test fail (reporter.ts); a log alone is the script's word.
  const seen = corroboratedBroken(broken, orig, buggy);
  if (seen.ids) broken = broken.filter((id) => seen.ids!.has(id));
  const seenBy = seen.ids ? 'reporter' : 'script';
  const min = f.thresholds.minFailingTests;
  if (broken.length < min) {
    return {
      status: 'fail',
      detail: `${broken.length} test(s) that pass on the original fail or disappear with the bug; at least ${min} required; ${seen.note}`,
      broken,
      seenBy,
    };
  }
  return { status: 'pass', detail: `${broken.length} test(s) break with the bug: ${list(broken)}; ${seen.note}`, broken, seenBy };
}

/** Of the broken tests (bug_breaks_tests) that fail with the bug, the tests passing on the original and failing with the bug. */
function brokenFailing(f: CheckFacts, broken: string[]): string[] {
  const buggy = f.runs.get('buggy');
  return [...passingOnOriginal(f)].filter((id) => buggy!.results![id] === 'failed' && broken.includes(id));
}

/** The weakening hides the bug: some broken test that failed with it passes or is gone once weakened. */
export function weakenHidesBug(f: CheckFacts, broken: string[]): Verdict & { hidden: string[] } {
  const weakened = f.runs.get('weakened');
  if (!weakened?.ok) return { status: 'fail', detail: `with the bug and the weakening applied: ${weakened?.error ?? 'the tests did not run'}`, hidden: [] };
  // Only tests of the broken set count: passed on the original and fail with the bug.
  const failing = brokenFailing(f, broken);
  const hidden = failing.filter((id) => weakened.results![id] !== 'failed');
  const rule = 'counted among the tests that pass on the original and fail with the bug';
  if (hidden.length === 0) {
    return { status: 'fail', detail: `none of the ${failing.length} test(s) that pass on the original and fail with the bug passes or is gone after ${TEST_WEAKEN}`, hidden };
  }
  const still = failing.length - hidden.length;
  return {
    status: 'pass',
    detail: `${hidden.length} broken test(s) hidden by the weakening (${rule})${still ? `; ${still} still fail` : ''}: ${list(hidden)}`,
    hidden,
  };
}

/**
 * Inverse mutation testing: restoring each bug file alone makes some test of
 * F (passing on the original, failing with the full bug) pass again. With one
 * bug file, restoring it is the original state.
 */
export function inverseMutation(
  f: CheckFacts,
  broken: string[],
): Verdict & { oracleFailing: string[]; inverse: ValidationReport['inverseMutation'] } {
  const F = brokenFailing(f, broken);
  const inverse: ValidationReport['inverseMutation'] = [];
  if (F.length === 0) {
    const detail = 'no test passes on the original and fails with the full bug (tests only disappeared), so no file can be shown to matter';
    return { status: 'fail', detail, oracleFailing: F, inverse };
  }
  const dead: string[] = [];
  for (const file of f.bugFiles) {
    const run = f.bugFiles.length === 1 ? f.runs.get('original') : f.runs.get(`restore:${file}`);
    if (!run?.ok) {
      inverse.push({ file, flipped: [] });
      dead.push(`${file} (${run?.error ?? 'not run'})`);
      continue;
    }
    const flipped = F.filter((id) => run.results![id] === 'passed');
    inverse.push({ file, flipped });
    if (flipped.length === 0) dead.push(file);
  }
  if (dead.length) {
    const detail = `restoring ${list(dead)} alone makes none of the ${F.length} broken test(s) pass: that change is not needed for the bug`;
    return { status: 'fail', detail, oracleFailing: F, inverse };
  }
  const detail = inverse.map((x) => `restoring ${x.file} fixes ${x.flipped.length}/${F.length}`).join('; ');
  return { status: 'pass', detail, oracleFailing: F, inverse };
}
