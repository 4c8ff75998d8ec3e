/**
 * The solver's side: its starting workspace, and the evaluation of a
 * predicted patch.
 *
 * The workspace is original + bug_inject.diff + test_weaken.diff with all
 * history removed (a fresh repository with one commit) and none of the
 * artifact files, so nothing leaks the fix. A patch is solved iff, once it is
 * applied, its changes to the test harness are reverted and every oracle test
 * file is reset to its original content, the parser succeeds and every test
 * that passed on the original code (flaky ones left out) is present and
 * passes. docs/judging.md has the rules and the threat model.
 */
import { type ArtifactFiles, BUG_INJECT, TEST_WEAKEN, parseDiff, unsafePathReason } from '../artifact/artifact';
import { DockerSandbox, DEFAULT_IMAGE, ensureEngineAndImage, type SandboxLimits } from '../sandbox/docker';
import { applyDiff, freshRepo, initBaseline, listBaseline, readBaseline, removeDerivedOutputs, restoreFromBaseline } from '../sandbox/baseline';
import { harnessReason, isHarnessPath, isSectionedConfig, tamperFindings } from './harness';
import { harnessDiffTampering } from './harnessDiff';
import { writtenPaths } from '../artifact/gitPaths';
import { binaryPatchProblem, looksBinary } from './binaryPatch';
import type { SandboxLike } from '../sandbox/types';
import SHADOWED_PY from '../sandbox/py/shadowed.py';
import { SandboxError } from '../base/errors';
import { DEFAULT_TEST_TIMEOUT_MS, installRunner, passing, runTests, type ReporterRecords, type TestResults } from './testRun';
import { corroborateSolverRun } from './reporter';
import { solverReward } from './rewards';
import { planCanaries, plantCanaries } from './canaries';
import { canaryNote, checkCanaries } from './canaryCheck';

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
    // No build output or cache made from the original sources: it would leak the fix.
    await removeDerivedOutputs(sb);
    await freshRepo(sb);
    return sb;
  } catch (err) {
    await sb.dispose();
    throw err;
  }
}

/** A change of the patch that evaluation reverted before the run (see harness.ts). */
export interface IgnoredChange {
  path: string;
  /** Why it counts as the test harness, in words. */
  reason: string;
}

/** Test counts in one group of tests. */
export interface GroupCounts {
  total: number;
  passed: number;
  failed: number;
  missing: number;
}

/**
 * Evidence that the run was tampered with: the patch changed how tests are
 * run or reported instead of what the code does (a harness difference, a
 * canary or twin that flipped, a guard that fired). A third outcome beside
 * solved and not solved, rewarded as a failure.
 */
export interface Tampered {
  /** One sentence: which layer saw it. */
  reason: string;
  /** What was seen, one item per fact (a path, a canary, a plugin). */
  evidence: string[];
}

export interface Evaluation {
  solved: boolean;
  /** Set when the patch tried to game the judge; solved is then false and reward -1. */
  tampered?: Tampered;
  reward: 1 | -1;
  /** One sentence that says why. */
  detail: string;
  /** False when the patch is not a patch or does not apply. */
  applied: boolean;
  results?: TestResults;
  /** Required tests (passed on the original, not flaky) that fail after the patch. */
  failedTests: string[];
  /** Required tests that are missing after the patch. */
  missingTests: string[];
  counts?: { passed: number; failed: number };
  /**
   * The tests by group: `required` passed on the original and must pass;
   * `preexisting` failed on the original and are not required; `flaky`
   * changed outcome between runs of the original and are left out.
   */
  groups?: { required: GroupCounts; preexisting: GroupCounts; flaky: number; other: { passed: number; failed: number } };
  /** The patch's changes to the test harness, reverted before the run (absent in records older than this field). */
  ignoredChanges?: IgnoredChange[];
  durationMs: number;
}

function notSolved(detail: string, started: number, applied = false, ignoredChanges: IgnoredChange[] = []): Evaluation {
  return { solved: false, reward: solverReward(false), detail, applied, failedTests: [], missingTests: [], ignoredChanges, durationMs: Date.now() - started };
}

/** A tampered attempt: not solved, rewarded as a failure, with its evidence. */
export function tamperedEvaluation(t: Tampered, started: number, applied = true, ignoredChanges: IgnoredChange[] = []): Evaluation {
  return { ...notSolved(`tampered: ${t.reason}`, started, applied, ignoredChanges), tampered: t };
}

/** Checks that a predicted patch is a diff over safe paths; undefined when fine. */
export function patchProblem(patch: string): string | undefined {
  if (!patch.trim()) return 'the patch is empty';
  const d = parseDiff(patch);
  if (d.error) return `the patch is ${d.error}`;
  // git's own lines too: a binary hunk with a quoted name has no line the parser reads.
  for (const p of new Set([...d.paths, ...writtenPaths(patch)])) {
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
  /** What the judge's pytest reporter saw on the original run (its plugins), when original is given. */
  originalReporter?: ReporterRecords;
  /** Tests known to be flaky on the original (from validation): neither required nor counted. */
  flaky?: string[];
  testTimeoutMs?: number;
  /** Plant canaries and twins into the oracle test files (canaries.ts); default true. */
  canaries?: boolean;
  /**
   * Tests only: false turns the runner screen (tamperFindings) off, so a test can show that another
   * layer (the file-level harness diff, the binary refusal, the judge's reporter, canaries and twins) decides by itself.
   * Default true.
   */
  screen?: boolean;
}

/** Runs the test suite on the original repository (what "solved" compares against). */
export async function originalResults(opts: SandboxTarget & { artifact: ArtifactFiles; testTimeoutMs?: number }): Promise<TestResults> {
  return (await originalRun(opts)).results;
}

/** The original run's results and what the judge's reporter saw in it. */
async function originalRun(opts: SandboxTarget & { artifact: ArtifactFiles; testTimeoutMs?: number }): Promise<{ results: TestResults; reporter?: ReporterRecords }> {
  const sb = await sandboxFor(opts);
  try {
    await installRunner(sb, opts.artifact);
    const run = await runTests(sb, { timeoutMs: opts.testTimeoutMs ?? DEFAULT_TEST_TIMEOUT_MS, signal: opts.signal });
    if (!run.ok) throw new SandboxError(`the tests do not run on the original repository: ${run.error}`);
    return { results: run.results!, reporter: run.reporter };
  } finally {
    await sb.dispose();
  }
}

/**
 * Reverts the patch's changes to the test harness (harness.ts) in the
 * sandbox, back to the original state, and lists them. The oracle test files
 * are reset separately (and always), so they are not listed.
 */
async function revertHarnessChanges(sb: SandboxLike, a: ArtifactFiles, patch: string): Promise<IgnoredChange[]> {
  const d = parseDiff(patch);
  const oracle = new Set(a.testFiles);
  const candidates = [...new Set(d.paths)].filter((p) => !oracle.has(p));
  const out: IgnoredChange[] = [];
  const shadows = await shadowingPaths(sb, candidates);
  for (const p of candidates) {
    let reason = isHarnessPath(p, a.testScript) ?? shadows.get(p);
    if (!reason && isSectionedConfig(p)) {
      const before = await readBaseline(sb, p);
      const after = await sb.readFile(p).then((b) => b.toString('utf8'), () => undefined);
      reason = harnessReason(p, { testScript: a.testScript, before, after });
    }
    if (reason) out.push({ path: p, reason });
  }
  await restoreFromBaseline(sb, out.map((x) => x.path));
  return out;
}

/**
 * New Python modules whose names an installed module already answers to
 * (a repo-root `pytest.py` replaces pytest for `python3 -m pytest`): they
 * shadow the runner or its dependencies, so they are harness too.
 */
async function shadowingPaths(sb: SandboxLike, paths: string[]): Promise<Map<string, string>> {
  const byName = new Map<string, string[]>();
  for (const p of paths) {
    // Only where a module can shadow an installed one: the folders on sys.path when tests run
    // (the repository root, where `python3 -m` starts, and src/), as a module or a package.
    const parts = p.replace(/^src\//, '').split('/');
    const name =
      parts.length === 1 && parts[0].endsWith('.py') ? parts[0].slice(0, -3) : parts.length === 2 && parts[1] === '__init__.py' ? parts[0] : undefined;
    if (!name) continue;
    if ((await readBaseline(sb, p)) !== undefined) continue; // only files the patch adds
    byName.set(name, [...(byName.get(name) ?? []), p]);
  }
  const out = new Map<string, string>();
  if (!byName.size) return out;
  await sb.writeFile('/ssr/tmp/shadowed.py', SHADOWED_PY, 0o600);
  const r = await sb.exec(`python3 -I /ssr/tmp/shadowed.py ${[...byName.keys()].map((n) => `'${n}'`).join(' ')}`, { cwd: '/', timeoutMs: 30_000 });
  for (const name of r.stdout.split('\n').filter(Boolean)) {
    for (const p of byName.get(name) ?? []) out.set(p, `a new module that shadows the installed module ${name}`);
  }
  return out;
}

function group(ids: string[], results: TestResults): GroupCounts {
  const g = { total: ids.length, passed: 0, failed: 0, missing: 0 };
  for (const id of ids) {
    const v = results[id];
    if (v === 'passed') g.passed++;
    else if (v === 'failed') g.failed++;
    else g.missing++;
  }
  return g;
}

/**
 * Judges a predicted patch: it is applied to the buggy, weakened repository;
 * its changes to the test harness are reverted and every oracle test file is
 * reset to its original content; the tests run. Solved means the patch
 * applies, the parse succeeds, and every test that passed on the original
 * (flaky ones left out) is present and passes. Tests that already failed on
 * the original are not required to pass.
 */
export async function evaluatePatch(opts: EvaluateOptions): Promise<Evaluation> {
  const started = Date.now();
  const problem = patchProblem(opts.patch);
  if (problem) return notSolved(problem, started);
  // Decided from the patch's files alone, before anything starts: nothing is tried (applied stays false).
  const tampered = harnessDiffTampering(opts.patch);
  if (tampered) return tamperedEvaluation(tampered, started, false);
  // The original run (when needed) and the patched sandbox start side by side.
  const [origR, sbR] = await Promise.allSettled([
    opts.original ? Promise.resolve({ results: opts.original, reporter: opts.originalReporter }) : originalRun(opts),
    sandboxFor(opts),
  ]);
  if (origR.status === 'rejected' || sbR.status === 'rejected') {
    if (sbR.status === 'fulfilled') await sbR.value.dispose();
    throw origR.status === 'rejected' ? origR.reason : (sbR as PromiseRejectedResult).reason;
  }
  const { results: original, reporter: originalReporter } = origR.value;
  const sb = sbR.value;
  try {
    await initBaseline(sb);
    await installRunner(sb, opts.artifact);
    await applyBugAndWeakening(sb, opts.artifact);
    const binary = await binaryPatchProblem(opts.patch, { tracked: await listBaseline(sb), isBinary: async (p) => looksBinary(await readBaseline(sb, p)) });
    if (binary) return notSolved(binary, started);
    const applied = await applyDiff(sb, opts.patch, 'pred');
    if (!applied.ok) return notSolved(`the patch does not apply to the buggy repository: ${applied.error}`, started);
    const screened = opts.screen === false ? undefined : await runnerScreen(sb, opts, started);
    if (screened) return screened;
    const ignoredChanges = await revertHarnessChanges(sb, opts.artifact, opts.patch);
    await restoreFromBaseline(sb, opts.artifact.testFiles);
    // Canaries (canaries.ts): planted now, into the reset oracle files, checked and removed after the run.
    const flaky = opts.flaky ?? flakyOf(opts.artifact);
    const planting = opts.canaries === false ? undefined : await plantCanaries(sb, planCanaries(opts.artifact, original, flaky));
    // The tests and their configuration stay read-only during the run: code under test could otherwise
    // rewrite them on disk before the runner imports them.
    const protect = [...new Set([...opts.artifact.testFiles, ...(await listBaseline(sb)).filter((p) => !/(^|\/)node_modules\//.test(p) && (isHarnessPath(p, opts.artifact.testScript) || isSectionedConfig(p)))])];
    const run = await runTests(sb, { timeoutMs: opts.testTimeoutMs ?? DEFAULT_TEST_TIMEOUT_MS, signal: opts.signal, protect });
    if (!run.ok) return notSolved(`the tests gave no results after the patch: ${run.error}`, started, true, ignoredChanges);
    // The judge's own reporter (reporter.ts): its outcomes win over the log's, and a contradiction that favours the patch is tampering.
    const seen = corroborateSolverRun(run.results!, run.reporter, {
      addedPaths: parseDiff(opts.patch).files.filter((f) => !f.oldPath && f.newPath).map((f) => f.newPath!),
      repoPath: sb.repoPath,
      originalPlugins: originalReporter?.plugins.map((p) => p.key),
      expectSession: !run.reporterOff && originalReporter !== undefined,
    });
    if (seen.tampered) return tamperedEvaluation(seen.tampered, started, true, ignoredChanges);
    // Canaries and twins (canaries.ts): checked on what the reporter corroborated, then taken out.
    const canaries = checkCanaries(seen.results, planting);
    if (canaries.tampered) return tamperedEvaluation(canaries.tampered, started, true, ignoredChanges);
    const ev = judge(canaries.results, original, flaky, ignoredChanges, started);
    return { ...ev, detail: ev.detail + canaryNote(canaries) + (seen.notes.length ? `; ${seen.notes.join('; ')}` : '') };
  } finally {
    await sb.dispose();
  }
}

/** The runner screen (harness.ts): code that reaches into the test runner fixes nothing, whatever the tests then report. */
async function runnerScreen(sb: SandboxLike, opts: EvaluateOptions, started: number): Promise<Evaluation | undefined> {
  const tamper = await tamperFindings(opts.patch, (p) => readBaseline(sb, p), opts.artifact.testScript);
  if (!tamper.length) return undefined;
  const what = tamper.slice(0, 3).map((t) => `${t.what} in ${t.path}`).join(', ');
  return notSolved(`not solved: the patch adds code that reaches into the test runner or the process around it (${what}); a fix changes behaviour, not how tests are reported`, started, true);
}

/** The flaky tests validation recorded in the bug's metadata. */
export function flakyOf(a: ArtifactFiles): string[] {
  const f = a.meta?.flaky;
  return Array.isArray(f) ? f.filter((x): x is string => typeof x === 'string') : [];
}

/** The solved rule, from the results after the patch and on the original. */
export function judge(results: TestResults, original: TestResults, flakyList: string[], ignoredChanges: IgnoredChange[], started = Date.now()): Evaluation {
  const flaky = new Set(flakyList);
  const required = Object.keys(original).filter((id) => original[id] === 'passed' && !flaky.has(id));
  const preexisting = Object.keys(original).filter((id) => original[id] === 'failed' && !flaky.has(id));
  const failedTests = required.filter((id) => results[id] === 'failed');
  const missingTests = required.filter((id) => !(id in results));
  const other = Object.keys(results).filter((id) => !(id in original) && !flaky.has(id));
  const groups = {
    required: group(required, results),
    preexisting: group(preexisting, results),
    flaky: flaky.size,
    other: { passed: other.filter((id) => results[id] === 'passed').length, failed: other.filter((id) => results[id] === 'failed').length },
  };
  const p = passing(results).size;
  const solved = failedTests.length === 0 && missingTests.length === 0;
  const ignored = ignoredChanges.length ? `; ${ignoredChanges.length} change(s) to the test harness were reverted (${ignoredChanges.map((c) => c.path).slice(0, 3).join(', ')})` : '';
  const pre = preexisting.length ? `; ${groups.preexisting.failed + groups.preexisting.missing} of ${preexisting.length} test(s) that already failed on the original still fail (not required)` : '';
  let detail: string;
  if (solved) detail = `solved: all ${required.length} test(s) that pass on the original pass with the oracle tests restored${pre}${ignored}`;
  else if (failedTests.length) detail = `not solved: ${failedTests.length} of ${required.length} required test(s) fail, e.g. ${failedTests.slice(0, 3).join(', ')}${ignored}`;
  else detail = `not solved: ${missingTests.length} of ${required.length} required test(s) are missing, e.g. ${missingTests.slice(0, 3).join(', ')}${ignored}`;
  return {
    solved,
    reward: solverReward(solved),
    detail,
    applied: true,
    results,
    failedTests,
    missingTests,
    counts: { passed: p, failed: Object.keys(results).length - p },
    groups,
    ignoredChanges,
    durationMs: Date.now() - started,
  };
}
