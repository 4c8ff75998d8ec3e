/**
 * The seven consistency checks that decide whether a bug artifact is valid.
 *
 * The test runs they need (original, buggy, weakened, and one per bug file
 * with that file restored) do not depend on each other: they are planned up
 * front, run in parallel on a pool of prepared sandboxes, and never repeated
 * within a validation. The checks are then judged from the results, in the
 * paper's order; a check whose input failed earlier is skipped and names the
 * check it depends on.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import {
  type ArtifactFiles,
  type ArtifactProblem,
  BUG_INJECT,
  TEST_FILES,
  TEST_PARSER,
  TEST_SCRIPT,
  TEST_WEAKEN,
  changedFiles,
  parseDiff,
  structuralProblems,
} from '../artifact/artifact';
import { SandboxPool } from '../sandbox/pool';
import { DEFAULT_IMAGE, docker, ensureEngineAndImage, SandboxLostError, type SandboxLimits } from '../sandbox/docker';
import { isHarnessPath } from './harness';
import { comparable, compareChangedFiles, neutralFailure, type Neutrality } from './neutral';
import { codeLoadingReason } from './harnessDiff';
import { RunCache, originalKey } from './runCache';
import type { StateRun } from './stateRun';
import { corroboratedBroken } from './reporter';
export type { StateRun } from './stateRun';
import { span } from '../base/trace';
import { applyDiff, existsInBaseline, initBaseline, resetToBaseline, restoreFromBaseline } from '../sandbox/baseline';
import {
  DEFAULT_TEST_TIMEOUT_MS,
  installRunner,
  passing,
  runTests,
  type ReporterRecords,
  type TestResults,
  type TestRunResult,
} from './testRun';
import { CancelledError, classifyFailure } from '../base/errors';
import * as os from 'node:os';

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

/** Where a structural problem with a file is reported. */
const PROBLEM_CHECK: Record<string, CheckId> = {
  [TEST_FILES]: 'test_files_exist',
  [TEST_WEAKEN]: 'test_files_exist',
  [TEST_SCRIPT]: 'parser_valid',
  [TEST_PARSER]: 'parser_valid',
  [BUG_INJECT]: 'bug_scope',
};

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

interface StatePlan {
  state: string;
  diffs: Array<{ name: string; text: string }>;
  restore?: string[];
}

function defaultConcurrency(): number {
  return Math.max(1, Math.min(4, os.cpus().length));
}

function list(xs: Iterable<string>, max = 5): string {
  const a = [...xs];
  const shown = a.slice(0, max).join(', ');
  return a.length > max ? `${shown} and ${a.length - max} more` : shown;
}

/**
 * Whether the bug's files change behaviour (neutral.ts), on one of the pool's
 * sandboxes; a comparison that could not be made is a note, never a verdict.
 */
async function compareBehaviour(pool: SandboxPool, diff: string, files: string[], signal?: AbortSignal): Promise<Neutrality & { ms: number }> {
  try {
    return await pool.use(async (sb) => {
      const s = Date.now();
      return { ...(await compareChangedFiles(sb, diff, files)), ms: Date.now() - s };
    }, signal);
  } catch (err) {
    // Never rejects: validation's own cancellation and infrastructure checks come after the runs.
    return { verdicts: [], notes: [`not compared: ${(err as Error).message}`], ms: 0 };
  }
}

/** Validates a bug artifact against a repository. Never throws for the artifact's faults. */
export async function validateArtifact(opts: ValidateOptions): Promise<ValidationReport> {
  const started = Date.now();
  const image = opts.image ?? DEFAULT_IMAGE;
  const t: Thresholds = {
    minPassingTests: opts.minPassingTests ?? DEFAULT_THRESHOLDS.minPassingTests,
    minChangedFiles: opts.minChangedFiles ?? DEFAULT_THRESHOLDS.minChangedFiles,
    minFailingTests: opts.minFailingTests ?? DEFAULT_THRESHOLDS.minFailingTests,
  };
  const a = opts.artifact;
  const repeat = Math.max(1, opts.repeat ?? 1);
  const originalRepeat = Math.max(repeat, opts.originalRepeat ?? DEFAULT_ORIGINAL_REPEAT);
  const results = new Map<CheckId, CheckResult>();
  const timing = new Map<CheckId, number>();
  const emit = (e: ValidationEvent) => opts.onEvent?.(e);

  // --- Static part: structure, then what can be judged without running anything.
  // A file that could not be read is reported once, not again as "empty".
  const unreadable = new Set((opts.problems ?? []).map((p) => p.file));
  const problems = [...(opts.problems ?? []), ...structuralProblems(a).filter((p) => !unreadable.has(p.file))];
  const problemFor = (id: CheckId) => problems.filter((p) => PROBLEM_CHECK[p.file] === id).map((p) => p.message);

  const bug = parseDiff(a.bugInjectDiff);
  const weaken = parseDiff(a.testWeakenDiff);
  const bugFiles = bug.error ? [] : changedFiles(bug);
  const testFileSet = new Set(a.testFiles);
  let missingTestFiles: string[] = [];

  if (opts.repoDir && !opts.repoInImage) {
    const fileProblems = (problemFor('test_files_exist'));
    if (!fileProblems.length) {
      const checksStarted = Date.now();
      for (const f of a.testFiles) {
        const st = await fs.stat(path.join(opts.repoDir, f)).catch(() => undefined);
        if (!st?.isFile()) missingTestFiles.push(f);
      }
      timing.set('test_files_exist', Date.now() - checksStarted);
    }
  }

  const pool = new SandboxPool(
    Math.max(1, opts.concurrency ?? defaultConcurrency()),
    {
      image,
      repoDir: opts.repoDir,
      repoInImage: opts.repoInImage,
      memoryBytes: opts.memoryBytes,
      pidsLimit: opts.pidsLimit,
      cpus: opts.cpus,
      labels: opts.labels,
      signal: opts.signal,
    },
    async (sb) => {
      await initBaseline(sb);
      await installRunner(sb, a);
    },
  );

  const runs = new Map<string, StateRun>();
  let neutrality: Neutrality | undefined;
  const dirty = new WeakSet<object>();
  /** Every repetition's results per state, for flaky-test detection. */
  const repetitions = new Map<string, TestResults[]>();
  try {
    await ensureEngineAndImage(image);
    // Decide which runs are needed and start them all at once.
    const canRun = !problemFor('parser_valid').length;
    const bugUsable = !problemFor('bug_scope').length;
    const weakenUsable = !problemFor('test_files_exist').length;
    const plans: StatePlan[] = [];
    const cacheKey = canRun && opts.runCache ? await originalKey({ repoDir: opts.repoDir, repoInImage: opts.repoInImage, image, artifact: a }) : undefined;
    const cachedEntry = cacheKey ? opts.runCache!.get(cacheKey) : undefined;
    // The proposer's one judged run of the original counts as a repetition (when within this validation's limits).
    const partialOriginal = cachedEntry?.partial && cachedEntry.run.durationMs < (opts.testTimeoutMs ?? DEFAULT_TEST_TIMEOUT_MS) ? cachedEntry : undefined;
    const cachedOriginal = cachedEntry && !cachedEntry.partial ? cachedEntry : undefined;
    const testTimeoutMs = opts.testTimeoutMs ?? DEFAULT_TEST_TIMEOUT_MS;
    /** A state the proposer already ran (single runs only, and within this validation's time limit). */
    const fromCache = (plan: StatePlan): StateRun | undefined => {
      if (!cacheKey || repeat > 1 || plan.restore) return undefined;
      const hit = opts.runCache!.getState(cacheKey, plan.diffs.map((d) => d.text));
      if (!hit || hit.durationMs >= testTimeoutMs) return undefined;
      repetitions.set(plan.state, [hit.results]);
      return { state: plan.state, ok: true, results: { ...hit.results }, durationMs: hit.durationMs, repetitions: 1, logTail: hit.logTail, reporter: hit.reporter, cached: true };
    };
    if (cachedOriginal) {
      runs.set('original', { ...cachedOriginal.run, cached: true });
      repetitions.set('original', cachedOriginal.repetitions);
    }
    if (canRun) {
      if (!cachedOriginal) plans.push({ state: 'original', diffs: [] });
      if (bugUsable) {
        plans.push({ state: 'buggy', diffs: [{ name: 'bug', text: a.bugInjectDiff }] });
        if (weakenUsable) {
          plans.push({
            state: 'weakened',
            diffs: [
              { name: 'bug', text: a.bugInjectDiff },
              { name: 'weaken', text: a.testWeakenDiff },
            ],
          });
        }
        // Restoring the only bug file gives back the original state: that run is already planned.
        if (bugFiles.length > 1) {
          for (const f of bugFiles) {
            plans.push({ state: `restore:${f}`, diffs: [{ name: 'bug', text: a.bugInjectDiff }], restore: [f] });
          }
        }
      }
      // States the proposer ran need no run; the pool is sized to what is left.
      for (let i = plans.length - 1; i >= 0; i--) {
        const hit = fromCache(plans[i]);
        if (hit) {
          runs.set(plans[i].state, hit);
          plans.splice(i, 1);
        }
      }
      if (plans.length) pool.warm(plans.length);
      // T_suite, when a run of the suite is known already: the session's original state, or one the proposer ran.
      const known = cachedOriginal?.run ?? partialOriginal?.run ?? [...runs.values()].find((r) => r.ok && r.cached);
      emit({
        type: 'runs-planned',
        states: plans.map((p) => p.state),
        cached: [...runs.keys()],
        parallel: Math.max(1, opts.concurrency ?? defaultConcurrency()),
        ...(known ? { suiteMs: known.durationMs / Math.max(1, known.repetitions) } : {}),
      });
    }

    // test_files_exist inside the image when the repository lives there.
    if (opts.repoInImage && !problemFor('test_files_exist').length && a.testFiles.length) {
      const s = Date.now();
      const exists = await pool.use((sb) => existsInBaseline(sb, a.testFiles), opts.signal);
      missingTestFiles = a.testFiles.filter((f) => !exists.get(f));
      timing.set('test_files_exist', Date.now() - s);
    }

    const runOnce = (plan: StatePlan): Promise<StateRun> =>
      pool.use((sb) => span('validate.state', async (): Promise<StateRun> => {
        emit({ type: 'run-started', state: plan.state });
        const s = Date.now();
        // A sandbox fresh from the pool is at the baseline already.
        if (dirty.has(sb)) await resetToBaseline(sb);
        dirty.add(sb);
        for (const d of plan.diffs) {
          const applied = await applyDiff(sb, d.text, d.name);
          if (!applied.ok) {
            return {
              state: plan.state,
              ok: false,
              error: `${d.name === 'bug' ? BUG_INJECT : TEST_WEAKEN} does not apply: ${applied.error}`,
              durationMs: Date.now() - s,
              repetitions: 0,
            };
          }
        }
        if (plan.restore) await restoreFromBaseline(sb, plan.restore);
        const n = plan.state === 'original' ? originalRepeat - (partialOriginal?.repetitions.length ?? 0) : repeat;
        const reps: TestRunResult[] = [];
        for (let i = 0; i < n; i++) {
          reps.push(await runTests(sb, { timeoutMs: testTimeoutMs, signal: opts.signal }));
          if (!reps[i].ok) break;
        }
        // One failed repetition makes a failed run; it says nothing about flaky tests.
        const bad = reps.find((r) => !r.ok);
        if (bad) return { state: plan.state, ok: false, error: bad.error, durationMs: Date.now() - s, repetitions: reps.length, logTail: bad.logTail };
        if (plan.state === 'original' && partialOriginal) {
          // The earlier repetition comes first: its results and log are the state's.
          repetitions.set('original', [...partialOriginal.repetitions, ...reps.map((r) => r.results!)]);
          return { ...partialOriginal.run, durationMs: Date.now() - s, repetitions: reps.length + partialOriginal.repetitions.length };
        }
        repetitions.set(plan.state, reps.map((r) => r.results!));
        return { state: plan.state, ok: true, results: reps[0].results, durationMs: Date.now() - s, repetitions: reps.length, logTail: reps[0].logTail, reporter: reps[0].reporter };
      }, { state: plan.state }), opts.signal);

    /**
     * A state whose sandbox was lost (container stopped or removed, engine
     * connection broken) runs again on a fresh one. Lost twice: an
     * infrastructure failure (errors.ts classifyFailure) stops validation with
     * no verdict; a container the kernel killed for the tested code's memory
     * use is the artifact's failure.
     */
    const runState = async (plan: StatePlan): Promise<StateRun> => {
      let run: StateRun | undefined;
      for (let attempt = 0; attempt < 2 && !run; attempt++) {
        try {
          run = await runOnce(plan);
        } catch (err) {
          if (!(err instanceof SandboxLostError) || opts.signal?.aborted) throw err;
          if (attempt === 1) {
            // Infrastructure (engine gone, container removed from outside, disk full) stops validation with no verdict;
            // only a container the tested code itself took down (the engine saw an out-of-memory kill) is the artifact's failure.
            const infra = await classifyFailure(err, docker());
            if (infra) throw infra;
            run = { state: plan.state, ok: false, error: `the tests took their sandbox down twice (out of memory, or a runner that stopped answering): ${err.message}`, durationMs: 0, repetitions: 0 };
          }
        }
      }
      emit({ type: 'run-finished', run: run! });
      return run!;
    };

    // bug_scope's behaviour test: the changed files compared once parsed, first in line for a sandbox. A bug whose
    // run came from the bootstrap proposer (SSR's own mutation, no model's) needs none, nor a sandbox started for it.
    const fromProposer = Boolean(runs.get('buggy')?.cached);
    const neutralRun = bugUsable && !fromProposer && comparable(bugFiles) ? compareBehaviour(pool, a.bugInjectDiff, bugFiles, opts.signal) : undefined;
    const settled = await Promise.allSettled(plans.map(runState));
    if (neutralRun) {
      const s = Date.now();
      const n = await neutralRun;
      neutrality = n;
      timing.set('bug_scope', (timing.get('bug_scope') ?? 0) + n.ms + (Date.now() - s));
    }
    if (opts.signal?.aborted) throw new CancelledError();
    settled.forEach((r, i) => {
      if (r.status === 'fulfilled') runs.set(plans[i].state, r.value);
      else throw r.reason;
    });
    const orig0 = runs.get('original');
    if (cacheKey && !cachedOriginal && orig0?.ok) {
      opts.runCache!.set(cacheKey, { run: { ...orig0 }, repetitions: repetitions.get('original') ?? [] });
    }
  } finally {
    await span('validate.dispose', () => pool.dispose());
  }

  // --- Flaky tests: a different result between repetitions of one state.
  const flaky = new Set<string>();
  for (const all of repetitions.values()) {
    for (let i = 1; i < all.length; i++) {
      const ids = new Set([...Object.keys(all[0]), ...Object.keys(all[i])]);
      for (const id of ids) if (all[0][id] !== all[i][id]) flaky.add(id);
    }
  }
  const clean = (r?: TestResults): TestResults | undefined => {
    if (!r) return r;
    const out: TestResults = {};
    for (const [k, v] of Object.entries(r)) if (!flaky.has(k)) out[k] = v;
    return out;
  };
  for (const run of runs.values()) {
    run.results = clean(run.results);
    if (run.results) {
      const p = passing(run.results).size;
      run.counts = { passed: p, failed: Object.keys(run.results).length - p };
    }
  }

  // --- Judge the checks in order.
  const orig = runs.get('original');
  const buggy = runs.get('buggy');
  const weakened = runs.get('weakened');
  const P0 = passing(orig?.results);
  let broken: string[] = [];
  let F: string[] = [];
  let hidden: string[] = [];
  let brokenSeenBy: ValidationReport['brokenSeenBy'];
  const inverse: Array<{ file: string; flipped: string[] }> = [];
  const flakyNote = flaky.size ? ` (${flaky.size} flaky test(s) left out)` : '';

  const judge = (id: CheckId): Omit<CheckResult, 'id' | 'durationMs'> => {
    const own = (problemFor(id));
    switch (id) {
      case 'test_files_exist': {
        if (own.length) return { status: 'fail', detail: own.join('; ') };
        if (missingTestFiles.length) {
          return { status: 'fail', detail: `${TEST_FILES} lists file(s) that do not exist in the original repository: ${list(missingTestFiles)}` };
        }
        const unlisted = weaken.paths.filter((p) => !testFileSet.has(p));
        if (unlisted.length) {
          return { status: 'fail', detail: `${TEST_WEAKEN} touches file(s) not listed in ${TEST_FILES}: ${list(unlisted)}` };
        }
        return { status: 'pass', detail: `${a.testFiles.length} test file(s) exist; ${TEST_WEAKEN} touches only listed files (${weaken.paths.length})` };
      }
      case 'parser_valid': {
        if (own.length) return { status: 'fail', detail: own.join('; ') };
        if (!orig) return { status: 'fail', detail: 'the original repository\'s tests did not run' };
        if (!orig.ok) return { status: 'fail', detail: `on the original repository: ${orig.error}` };
        return { status: 'pass', detail: `the parser mapped ${Object.keys(orig.results ?? {}).length} test(s) on the original repository${flakyNote}` };
      }
      case 'original_passes': {
        const n = P0.size;
        if (n < t.minPassingTests) {
          return { status: 'fail', detail: `${n} test(s) pass on the original repository; at least ${t.minPassingTests} must${flakyNote}` };
        }
        return { status: 'pass', detail: `${n} test(s) pass on the original repository (minimum ${t.minPassingTests})${flakyNote}` };
      }
      case 'bug_scope': {
        if (own.length) return { status: 'fail', detail: own.join('; ') };
        const inTests = bug.paths.filter((p) => testFileSet.has(p));
        if (inTests.length) return { status: 'fail', detail: `${BUG_INJECT} changes test file(s) listed in ${TEST_FILES}: ${list(inTests)}` };
        // Files that load code into the test process (harnessDiff.ts) are no place for a bug either.
        const harness = bug.paths.map((p) => [p, isHarnessPath(p, a.testScript) ?? codeLoadingReason(p)] as const).filter(([, why]) => why);
        if (harness.length) {
          return {
            status: 'fail',
            detail: `${BUG_INJECT} changes the test harness, not code: ${list(harness.map(([p, why]) => `${p} (${why})`))}`,
          };
        }
        if (bugFiles.length < t.minChangedFiles) {
          return { status: 'fail', detail: `${BUG_INJECT} changes ${bugFiles.length} file(s); at least ${t.minChangedFiles} required` };
        }
        const same = neutrality && neutralFailure(neutrality, BUG_INJECT);
        if (same) return { status: 'fail', detail: same };
        const compared = neutrality?.verdicts.length ? `; ${neutrality.verdicts.length} compared once parsed, each changes the program` : '';
        const notes = neutrality?.notes.length ? ` (${neutrality.notes.join('; ')})` : '';
        return { status: 'pass', detail: `${BUG_INJECT} changes ${bugFiles.length} non-test file(s): ${list(bugFiles)}${compared}${notes}` };
      }
      case 'bug_breaks_tests': {
        if (!buggy?.ok) return { status: 'fail', detail: `with the bug applied: ${buggy?.error ?? 'the tests did not run'}` };
        broken = [...P0].filter((id) => buggy.results![id] !== 'passed');
        // The judge's own pytest reporter must have seen each broken test fail (reporter.ts); a log alone is the script's word.
        const seen = corroboratedBroken(broken, orig, buggy);
        if (seen.ids) broken = broken.filter((id) => seen.ids!.has(id));
        brokenSeenBy = seen.ids ? 'reporter' : 'script';
        if (broken.length < t.minFailingTests) {
          return {
            status: 'fail',
            detail: `${broken.length} test(s) that pass on the original fail or disappear with the bug; at least ${t.minFailingTests} required; ${seen.note}`,
          };
        }
        return { status: 'pass', detail: `${broken.length} test(s) break with the bug: ${list(broken)}; ${seen.note}` };
      }
      case 'weaken_hides_bug': {
        if (!weakened?.ok) return { status: 'fail', detail: `with the bug and the weakening applied: ${weakened?.error ?? 'the tests did not run'}` };
        // Only tests of the broken set count: passed on the original and fail with the bug.
        const brokenFailing = [...P0].filter((id) => buggy!.results![id] === 'failed' && broken.includes(id));
        hidden = brokenFailing.filter((id) => weakened.results![id] !== 'failed');
        const rule = 'counted among the tests that pass on the original and fail with the bug';
        if (hidden.length === 0) {
          return { status: 'fail', detail: `none of the ${brokenFailing.length} test(s) that pass on the original and fail with the bug passes or is gone after ${TEST_WEAKEN}` };
        }
        const still = brokenFailing.length - hidden.length;
        return {
          status: 'pass',
          detail: `${hidden.length} broken test(s) hidden by the weakening (${rule})${still ? `; ${still} still fail` : ''}: ${list(hidden)}`,
        };
      }
      case 'inverse_mutation': {
        F = [...P0].filter((id) => buggy!.results![id] === 'failed' && broken.includes(id));
        if (F.length === 0) {
          return { status: 'fail', detail: 'no test passes on the original and fails with the full bug (tests only disappeared), so no file can be shown to matter' };
        }
        const dead: string[] = [];
        for (const f of bugFiles) {
          const run = bugFiles.length === 1 ? orig : runs.get(`restore:${f}`);
          if (!run?.ok) {
            inverse.push({ file: f, flipped: [] });
            dead.push(`${f} (${run?.error ?? 'not run'})`);
            continue;
          }
          const flipped = F.filter((id) => run.results![id] === 'passed');
          inverse.push({ file: f, flipped });
          if (flipped.length === 0) dead.push(f);
        }
        if (dead.length) {
          return { status: 'fail', detail: `restoring ${list(dead)} alone makes none of the ${F.length} broken test(s) pass: that change is not needed for the bug` };
        }
        return {
          status: 'pass',
          detail: inverse.map((x) => `restoring ${x.file} fixes ${x.flipped.length}/${F.length}`).join('; '),
        };
      }
    }
  };

  const runTime: Partial<Record<CheckId, number>> = {
    parser_valid: orig?.durationMs,
    bug_breaks_tests: buggy?.durationMs,
    weaken_hides_bug: weakened?.durationMs,
    inverse_mutation: bugFiles.length > 1 ? Math.max(0, ...bugFiles.map((f) => runs.get(`restore:${f}`)?.durationMs ?? 0)) : 0,
  };
  for (const id of CHECK_IDS) {
    const s = Date.now();
    const failedDep = DEPENDS[id].find((d) => results.get(d)?.status !== 'pass');
    let r: CheckResult;
    if (failedDep) {
      r = { id, status: 'skip', detail: `skipped: depends on ${failedDep}, which did not pass`, durationMs: 0 };
    } else {
      const j = judge(id);
      r = { id, ...j, durationMs: Math.round((timing.get(id) ?? 0) + (runTime[id] ?? 0) + (Date.now() - s)) };
    }
    results.set(id, r);
    emit({ type: 'check', check: r });
  }

  const checks = CHECK_IDS.map((id) => results.get(id)!);
  const firstFailure = checks.find((c) => c.status === 'fail')?.id;
  return {
    valid: checks.every((c) => c.status === 'pass'),
    checks,
    firstFailure,
    thresholds: t,
    image,
    runs: [...runs.values()],
    flaky: [...flaky],
    original: orig?.results,
    ...(orig?.reporter ? { originalReporter: orig.reporter } : {}),
    brokenTests: broken,
    ...(brokenSeenBy ? { brokenSeenBy } : {}),
    oracleFailing: F,
    hiddenTests: hidden,
    bugFiles,
    inverseMutation: inverse,
    durationMs: Date.now() - started,
  };
}
