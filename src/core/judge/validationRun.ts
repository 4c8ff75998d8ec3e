/**
 * Running validation's plan (validationPlan.ts). The states do not depend on
 * each other: they start at once on a pool of prepared sandboxes and none is
 * run twice within a validation; a state the session's run cache holds
 * (runCache.ts) is taken from it instead. The behaviour comparison of the
 * bug's files (neutral.ts) and, for a repository inside the image, the look
 * for the listed test files share the pool.
 */
import * as os from 'node:os';
import { BUG_INJECT, TEST_WEAKEN } from '../artifact/artifact';
import { CancelledError, classifyFailure } from '../base/errors';
import { span } from '../base/trace';
import { applyDiff, existsInBaseline, initBaseline, resetToBaseline, restoreFromBaseline } from '../sandbox/baseline';
import { docker, ensureEngineAndImage, SandboxLostError } from '../sandbox/docker';
import { SandboxPool } from '../sandbox/pool';
import type { SandboxLike } from '../sandbox/types';
import type { CheckId, ValidateOptions, ValidationEvent } from './checkTypes';
import { comparable, compareChangedFiles, type Neutrality } from './neutral';
import { originalKey, type CachedOriginal } from './runCache';
import type { StateRun } from './stateRun';
import { DEFAULT_TEST_TIMEOUT_MS, installRunner, runTests, type TestResults, type TestRunResult } from './testRun';
import { planStates, problemsFor, usableParts, type StatePlan, type StaticFacts } from './validationPlan';

/** What running the plan gives the checks. */
export interface RunOutcome {
  /** The runs by state, in the order they were recorded. */
  runs: Map<string, StateRun>;
  /** Every repetition's results per state, for flaky-test detection. */
  repetitions: Map<string, TestResults[]>;
  neutrality?: Neutrality;
  /** The listed test files not in the image's repository (absent: not looked for there). */
  missingInImage?: string[];
}

/** The session's cache as this validation sees it: the original state's key, and its entry, whole or partial. */
interface CacheView {
  key?: string;
  original?: CachedOriginal;
  /** The proposer's one judged run of the original counts as a repetition (when within this validation's limits). */
  partial?: CachedOriginal;
}

interface RunContext {
  runs: Map<string, StateRun>;
  repetitions: Map<string, TestResults[]>;
  opts: ValidateOptions;
  pool: SandboxPool;
  emit: (e: ValidationEvent) => void;
  repeat: number;
  originalRepeat: number;
  testTimeoutMs: number;
  cache: CacheView;
  /** Sandboxes a state ran on: reset to the baseline before the next. */
  dirty: WeakSet<object>;
}

export function defaultConcurrency(): number {
  return Math.max(1, Math.min(4, os.cpus().length));
}

function newPool(opts: ValidateOptions, image: string): SandboxPool {
  return new SandboxPool(
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
      await installRunner(sb, opts.artifact);
    },
  );
}

async function lookUpCache(opts: ValidateOptions, image: string, canRun: boolean): Promise<CacheView> {
  const key = canRun && opts.runCache ? await originalKey({ repoDir: opts.repoDir, repoInImage: opts.repoInImage, image, artifact: opts.artifact }) : undefined;
  const entry = key ? opts.runCache!.get(key) : undefined;
  const partial = entry?.partial && entry.run.durationMs < (opts.testTimeoutMs ?? DEFAULT_TEST_TIMEOUT_MS) ? entry : undefined;
  return { key, original: entry && !entry.partial ? entry : undefined, partial };
}

/** A state the proposer already ran (single runs only, and within this validation's time limit). */
function fromCache(ctx: RunContext, plan: StatePlan): StateRun | undefined {
  if (!ctx.cache.key || ctx.repeat > 1 || plan.restore) return undefined;
  const hit = ctx.opts.runCache!.getState(ctx.cache.key, plan.diffs.map((d) => d.text));
  if (!hit || hit.durationMs >= ctx.testTimeoutMs) return undefined;
  ctx.repetitions.set(plan.state, [hit.results]);
  return { state: plan.state, ok: true, results: { ...hit.results }, durationMs: hit.durationMs, repetitions: 1, logTail: hit.logTail, reporter: hit.reporter, cached: true };
}

/** The plan less the states the cache holds; the pool is warmed for the rest, and the runs are announced. */
function planRuns(ctx: RunContext, facts: StaticFacts): StatePlan[] {
  const plans = planStates(ctx.opts.artifact, facts.bugFiles, usableParts(facts.problems), Boolean(ctx.cache.original));
  // States the proposer ran need no run; the pool is sized to what is left.
  for (let i = plans.length - 1; i >= 0; i--) {
    const hit = fromCache(ctx, plans[i]);
    if (hit) {
      ctx.runs.set(plans[i].state, hit);
      plans.splice(i, 1);
    }
  }
  if (plans.length) ctx.pool.warm(plans.length);
  // T_suite, when a run of the suite is known already: the session's original state, or one the proposer ran.
  const known = ctx.cache.original?.run ?? ctx.cache.partial?.run ?? [...ctx.runs.values()].find((r) => r.ok && r.cached);
  ctx.emit({
    type: 'runs-planned',
    states: plans.map((p) => p.state),
    cached: [...ctx.runs.keys()],
    parallel: Math.max(1, ctx.opts.concurrency ?? defaultConcurrency()),
    ...(known ? { suiteMs: known.durationMs / Math.max(1, known.repetitions) } : {}),
  });
  return plans;
}

/** Applies a state's diffs to a sandbox at the baseline; a diff that does not apply is the state's failed run. */
async function applyPlan(sb: SandboxLike, plan: StatePlan, s: number): Promise<StateRun | undefined> {
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
  return undefined;
}

/** One state's run on one sandbox: its diffs, then its repetitions (the original's as many as flaky detection wants). */
function runOnce(ctx: RunContext, plan: StatePlan): Promise<StateRun> {
  const partial = ctx.cache.partial;
  return ctx.pool.use((sb) => span('validate.state', async (): Promise<StateRun> => {
    ctx.emit({ type: 'run-started', state: plan.state });
    const s = Date.now();
    // A sandbox fresh from the pool is at the baseline already.
    if (ctx.dirty.has(sb)) await resetToBaseline(sb);
    ctx.dirty.add(sb);
    const failed = await applyPlan(sb, plan, s);
    if (failed) return failed;
    const n = plan.state === 'original' ? ctx.originalRepeat - (partial?.repetitions.length ?? 0) : ctx.repeat;
    const reps: TestRunResult[] = [];
    for (let i = 0; i < n; i++) {
      reps.push(await runTests(sb, { timeoutMs: ctx.testTimeoutMs, signal: ctx.opts.signal }));
      if (!reps[i].ok) break;
    }
    // One failed repetition makes a failed run; it says nothing about flaky tests.
    const bad = reps.find((r) => !r.ok);
    if (bad) return { state: plan.state, ok: false, error: bad.error, durationMs: Date.now() - s, repetitions: reps.length, logTail: bad.logTail };
    if (plan.state === 'original' && partial) {
      // The earlier repetition comes first: its results and log are the state's.
      ctx.repetitions.set('original', [...partial.repetitions, ...reps.map((r) => r.results!)]);
      return { ...partial.run, durationMs: Date.now() - s, repetitions: reps.length + partial.repetitions.length };
    }
    ctx.repetitions.set(plan.state, reps.map((r) => r.results!));
    return { state: plan.state, ok: true, results: reps[0].results, durationMs: Date.now() - s, repetitions: reps.length, logTail: reps[0].logTail, reporter: reps[0].reporter };
  }, { state: plan.state }), ctx.opts.signal);
}

/**
 * A state whose sandbox was lost (container stopped or removed, engine
 * connection broken) runs again on a fresh one. Lost twice: an
 * infrastructure failure (errors.ts classifyFailure) stops validation with
 * no verdict; a container the kernel killed for the tested code's memory
 * use is the artifact's failure.
 */
async function runState(ctx: RunContext, plan: StatePlan): Promise<StateRun> {
  let run: StateRun | undefined;
  for (let attempt = 0; attempt < 2 && !run; attempt++) {
    try {
      run = await runOnce(ctx, plan);
    } catch (err) {
      if (!(err instanceof SandboxLostError) || ctx.opts.signal?.aborted) throw err;
      if (attempt === 1) {
        // Infrastructure (engine gone, container removed from outside, disk full) stops validation with no verdict;
        // only a container the tested code itself took down (the engine saw an out-of-memory kill) is the artifact's failure.
        const infra = await classifyFailure(err, docker());
        if (infra) throw infra;
        run = { state: plan.state, ok: false, error: `the tests took their sandbox down twice (out of memory, or a runner that stopped answering): ${err.message}`, durationMs: 0, repetitions: 0 };
      }
    }
  }
  ctx.emit({ type: 'run-finished', run: run! });
  return run!;
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

/** test_files_exist inside the image when the repository lives there. */
async function missingInImage(ctx: RunContext, facts: StaticFacts, timing: Map<CheckId, number>): Promise<string[] | undefined> {
  const files = ctx.opts.artifact.testFiles;
  if (!ctx.opts.repoInImage || problemsFor(facts.problems, 'test_files_exist').length || !files.length) return undefined;
  const s = Date.now();
  const exists = await ctx.pool.use((sb) => existsInBaseline(sb, files), ctx.opts.signal);
  timing.set('test_files_exist', Date.now() - s);
  return files.filter((f) => !exists.get(f));
}

export interface RunSetup {
  opts: ValidateOptions;
  image: string;
  facts: StaticFacts;
  repeat: number;
  originalRepeat: number;
  /** Time spent per check outside its state runs: looking for files, comparing behaviour (added to here). */
  timing: Map<CheckId, number>;
  emit: (e: ValidationEvent) => void;
}

/** Runs the plan's states (and the behaviour comparison); throws on cancellation and on infrastructure failures. */
export async function runValidationStates(v: RunSetup): Promise<RunOutcome> {
  const { opts, facts } = v;
  const pool = newPool(opts, v.image);
  const runs = new Map<string, StateRun>();
  const repetitions = new Map<string, TestResults[]>();
  try {
    await ensureEngineAndImage(v.image);
    const { canRun } = usableParts(facts.problems);
    const cache = await lookUpCache(opts, v.image, canRun);
    const testTimeoutMs = opts.testTimeoutMs ?? DEFAULT_TEST_TIMEOUT_MS;
    const ctx: RunContext = { opts, emit: v.emit, repeat: v.repeat, originalRepeat: v.originalRepeat, pool, runs, repetitions, cache, testTimeoutMs, dirty: new WeakSet<object>() };
    if (cache.original) {
      runs.set('original', { ...cache.original.run, cached: true });
      repetitions.set('original', cache.original.repetitions);
    }
    const plans = canRun ? planRuns(ctx, facts) : [];
    const missing = await missingInImage(ctx, facts, v.timing);
    const neutrality = await settleRuns(ctx, plans, facts, v.timing);
    const orig0 = runs.get('original');
    if (cache.key && !cache.original && orig0?.ok) {
      opts.runCache!.set(cache.key, { run: { ...orig0 }, repetitions: repetitions.get('original') ?? [] });
    }
    return { runs, repetitions, neutrality, ...(missing ? { missingInImage: missing } : {}) };
  } finally {
    await span('validate.dispose', () => pool.dispose());
  }
}

/** Starts the behaviour comparison and every planned run, and waits for all of them. */
async function settleRuns(ctx: RunContext, plans: StatePlan[], facts: StaticFacts, timing: Map<CheckId, number>): Promise<Neutrality | undefined> {
  const { opts, runs } = ctx;
  const bugFiles = facts.bugFiles;
  // bug_scope's behaviour test: the changed files compared once parsed, first in line for a sandbox. A bug whose
  // run came from the bootstrap proposer (SSR's own mutation, no model's) needs none, nor a sandbox started for it.
  const fromProposer = Boolean(runs.get('buggy')?.cached);
  const bugUsable = usableParts(facts.problems).bugUsable;
  const neutralRun = bugUsable && !fromProposer && comparable(bugFiles) ? compareBehaviour(ctx.pool, opts.artifact.bugInjectDiff, bugFiles, opts.signal) : undefined;
  const settled = await Promise.allSettled(plans.map((plan) => runState(ctx, plan)));
  let neutrality: Neutrality | undefined;
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
  return neutrality;
}
