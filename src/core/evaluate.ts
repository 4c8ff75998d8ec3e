/**
 * The solver's side: its starting workspace, and the evaluation of a
 * predicted patch.
 *
 * The workspace is original + bug_inject.diff + test_weaken.diff with all
 * history removed (a fresh repository with one commit) and none of the
 * artifact files, so nothing leaks the fix. A patch is solved iff, once it is
 * applied and every oracle test file is reset to its original content, the
 * parser succeeds, no test fails, and every test that passed on the original
 * code is present and passes.
 */
import { type ArtifactFiles, BUG_INJECT, TEST_WEAKEN, parseDiff, unsafePathReason } from './artifact';
import { DockerSandbox, DEFAULT_IMAGE, ensureEngineAndImage, type SandboxLimits } from './sandbox/docker';
import { applyDiff, freshRepo, initBaseline, restoreFromBaseline } from './sandbox/baseline';
import { SandboxError } from './errors';
import { DEFAULT_TEST_TIMEOUT_MS, installRunner, passing, runTests, type TestResults } from './testRun';
import { solverReward } from './rewards';

export interface SandboxTarget extends SandboxLimits {
  repoDir?: string;
  repoInImage?: string;
  image?: string;
  labels?: Record<string, string>;
  signal?: AbortSignal;
}

async function sandboxFor(t: SandboxTarget): Promise<DockerSandbox> {
  const image = t.image ?? DEFAULT_IMAGE;
  await ensureEngineAndImage(image);
  return DockerSandbox.create({
    image,
    repoDir: t.repoDir,
    repoInImage: t.repoInImage,
    memoryBytes: t.memoryBytes,
    pidsLimit: t.pidsLimit,
    cpus: t.cpus,
    labels: t.labels,
    signal: t.signal,
  });
}

/** Builds the solver's starting state: the bug, then the weakened tests. */
async function applyBugAndWeakening(sb: DockerSandbox, a: ArtifactFiles): Promise<void> {
  for (const [name, text] of [
    [BUG_INJECT, a.bugInjectDiff],
    [TEST_WEAKEN, a.testWeakenDiff],
  ] as const) {
    const r = await applyDiff(sb, text, name.replace('.diff', ''));
    if (!r.ok) throw new SandboxError(`${name} does not apply to the repository: ${r.error}`);
  }
}

/**
 * Starts the solver's sandbox: the buggy, weakened repository with a fresh
 * single-commit git history. The caller disposes it.
 */
export async function createSolverWorkspace(opts: SandboxTarget & { artifact: ArtifactFiles }): Promise<DockerSandbox> {
  const sb = await sandboxFor(opts);
  try {
    await initBaseline(sb);
    await applyBugAndWeakening(sb, opts.artifact);
    await freshRepo(sb);
    return sb;
  } catch (err) {
    await sb.dispose();
    throw err;
  }
}

export interface Evaluation {
  solved: boolean;
  reward: 1 | -1;
  /** One sentence that says why. */
  detail: string;
  /** False when the patch is not a patch or does not apply. */
  applied: boolean;
  results?: TestResults;
  failedTests: string[];
  /** Tests that passed on the original code and are missing after the patch. */
  missingTests: string[];
  counts?: { passed: number; failed: number };
  durationMs: number;
}

function notSolved(detail: string, started: number, applied = false): Evaluation {
  return { solved: false, reward: solverReward(false), detail, applied, failedTests: [], missingTests: [], durationMs: Date.now() - started };
}

/** Checks that a predicted patch is a diff over safe paths; undefined when fine. */
export function patchProblem(patch: string): string | undefined {
  if (!patch.trim()) return 'the patch is empty';
  const d = parseDiff(patch);
  if (d.error) return `the patch is ${d.error}`;
  for (const p of d.paths) {
    const why = unsafePathReason(p);
    if (why) return `the patch touches ${why}`;
  }
  return undefined;
}

export interface EvaluateOptions extends SandboxTarget {
  artifact: ArtifactFiles;
  patch: string;
  /** Results on the original repository, from validation; computed when absent. */
  original?: TestResults;
  testTimeoutMs?: number;
}

/** Runs the test suite on the original repository (what "solved" compares against). */
export async function originalResults(opts: SandboxTarget & { artifact: ArtifactFiles; testTimeoutMs?: number }): Promise<TestResults> {
  const sb = await sandboxFor(opts);
  try {
    await installRunner(sb, opts.artifact);
    const run = await runTests(sb, { timeoutMs: opts.testTimeoutMs ?? DEFAULT_TEST_TIMEOUT_MS, signal: opts.signal });
    if (!run.ok) throw new SandboxError(`the tests do not run on the original repository: ${run.error}`);
    return run.results!;
  } finally {
    await sb.dispose();
  }
}

export async function evaluatePatch(opts: EvaluateOptions): Promise<Evaluation> {
  const started = Date.now();
  const problem = patchProblem(opts.patch);
  if (problem) return notSolved(problem, started);
  // The original run (when needed) and the patched sandbox start side by side.
  const [origR, sbR] = await Promise.allSettled([
    opts.original ? Promise.resolve(opts.original) : originalResults(opts),
    sandboxFor(opts),
  ]);
  if (origR.status === 'rejected' || sbR.status === 'rejected') {
    if (sbR.status === 'fulfilled') await sbR.value.dispose();
    throw origR.status === 'rejected' ? origR.reason : (sbR as PromiseRejectedResult).reason;
  }
  const original = origR.value;
  const sb = sbR.value;
  try {
    await initBaseline(sb);
    await installRunner(sb, opts.artifact);
    await applyBugAndWeakening(sb, opts.artifact);
    const applied = await applyDiff(sb, opts.patch, 'pred');
    if (!applied.ok) return notSolved(`the patch does not apply to the buggy repository: ${applied.error}`, started);
    await restoreFromBaseline(sb, opts.artifact.testFiles);
    const run = await runTests(sb, { timeoutMs: opts.testTimeoutMs ?? DEFAULT_TEST_TIMEOUT_MS, signal: opts.signal });
    if (!run.ok) return notSolved(`the tests gave no results after the patch: ${run.error}`, started, true);
    const results = run.results!;
    const failedTests = Object.entries(results).filter(([, v]) => v === 'failed').map(([k]) => k);
    const missingTests = [...passing(original)].filter((id) => !(id in results));
    const p = passing(results).size;
    const base = { applied: true, results, failedTests, missingTests, counts: { passed: p, failed: failedTests.length } };
    let detail: string;
    const solved = failedTests.length === 0 && missingTests.length === 0;
    if (solved) detail = `solved: all ${p} tests pass with the oracle tests restored`;
    else if (failedTests.length) detail = `not solved: ${failedTests.length} test(s) fail, e.g. ${failedTests.slice(0, 3).join(', ')}`;
    else detail = `not solved: ${missingTests.length} test(s) that pass on the original are missing, e.g. ${missingTests.slice(0, 3).join(', ')}`;
    return { solved, reward: solverReward(solved), detail, ...base, durationMs: Date.now() - started };
  } finally {
    await sb.dispose();
  }
}
