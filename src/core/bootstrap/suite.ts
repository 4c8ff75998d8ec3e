/**
 * Learning the repository's suite in the sandbox: the test script and parser
 * the checks will run, the tests that pass reliably on the original (two
 * runs, the second with a coverage trace), and the failing or flaky ones
 * left out. Learned once per tree and image (suiteCache.ts).
 */
import type { SandboxLike } from '../sandbox/types';
import { initBaseline } from '../sandbox/baseline';
import { ARTIFACT_DIR_IN_SANDBOX, installRunner, parseParserOutput, runTests, type TestResults } from '../judge/testRun';
import { span } from '../base/trace';
import { COVERAGE_DIR } from './helperSource';
import { testParser, testScript } from './templates';
import { detectFramework } from './detect';
import { NoProposalError, type FrameworkInfo, type ProposeOptions, type ProposerRun } from './proposal';

export interface Suite {
  fw: FrameworkInfo;
  /** Ids passing in both runs of the original. */
  stable: Set<string>;
  excluded: string[];
  testScript: string;
  testParser: string;
  baselineMs: number;
  covDir: string;
  /** The first (judged) run of the original, when the final parser is the one it ran with. */
  originalRun?: ProposerRun;
}

/** What an earlier proposal on the same tree learned; `T` is the targets' answer. */
export interface KnownSuite<T> {
  fw: FrameworkInfo;
  suite: Suite;
  targets: T;
}

/**
 * The framework and suite in a fresh sandbox, the runner installed and the
 * baseline taken: learned here, or put back from what an earlier proposal learned.
 */
export async function learnSuite(
  sb: SandboxLike,
  opts: ProposeOptions,
  known: KnownSuite<unknown> | undefined,
  check: () => void,
  log: (m: string) => void,
  started: number,
): Promise<{ fw: FrameworkInfo; suite: Suite }> {
  const fw = known?.fw ?? (await detectFramework(sb, { signal: opts.signal, language: opts.language }));
  log(`bootstrap: ${fw.framework} suite (${fw.runFiles.length} test file(s), runner ${fw.runner})`);
  check();
  await initBaseline(sb);
  let suite: Suite;
  if (known) {
    suite = known.suite;
    await installRunner(sb, { testScript: suite.testScript, testParser: suite.testParser, testFiles: fw.testFiles, bugInjectDiff: '', testWeakenDiff: '' });
    log(`bootstrap: the suite and its coverage trace are known from an earlier proposal on the same tree (${suite.stable.size} passing test(s))`);
  } else {
    suite = await span('propose.suite', () => prepareSuite(sb, fw, opts, log));
    log(`bootstrap: ${suite.stable.size} test(s) pass on the original (${Date.now() - started} ms so far)`);
  }
  check();
  return { fw, suite };
}

let covCounter = 0;

async function prepareSuite(sb: SandboxLike, fw: FrameworkInfo, opts: ProposeOptions, log: (m: string) => void): Promise<Suite> {
  const script = testScript({
    runner: fw.runner,
    runFiles: fw.runFiles,
    packageDirs: await packageDirs(sb, fw),
    srcLayout: fw.srcLayout,
    leftOut: fw.leftOut,
    runnerArgs: fw.runnerArgs,
    learnedFrom: fw.learnedFrom,
    packageManager: fw.packageManager,
  });
  let parser = testParser(fw.runner);
  const timeoutMs = opts.testTimeoutMs ?? 300_000;
  await installRunner(sb, { testScript: script, testParser: parser, testFiles: fw.testFiles, bugInjectDiff: '', testWeakenDiff: '' });

  // Run 1: exactly what the checks will run.
  const first = await runTests(sb, { timeoutMs, signal: opts.signal });
  if (!first.ok) {
    throw new NoProposalError(
      'suite-fails',
      `the test suite could not be run on the unmodified repository: ${first.error}. ` +
        `Make sure the tests run in the sandbox image (dependencies installed, no network needed).\n${first.logTail.slice(-1500)}`,
    );
  }
  // Run 2: the same suite with a coverage trace; it doubles as the flakiness check.
  const covDir = `/ssr/tmp/cov-${process.pid}-${++covCounter}`;
  const second = await coverageRun(sb, fw, covDir, timeoutMs, opts.signal);
  if (!second) log('bootstrap: the coverage run failed; falling back to names referenced by the tests');

  const r1 = first.results ?? {};
  const { ids, stable, failing, flaky } = classifyTests(r1, second);
  checkEnoughPassing(ids, stable, opts.minPassing ?? 5, first.logTail);
  const excluded = [...failing, ...flaky].sort();
  // Go: the parser knows the original's tests, to fail them when their package does not build or dies.
  const known = fw.runner === 'go' ? [...stable] : [];
  if (excluded.length || known.length) {
    if (excluded.length) log(`bootstrap: leaving out ${failing.length} failing and ${flaky.length} flaky test(s)`);
    parser = testParser(fw.runner, excluded, known);
    await installRunner(sb, { testScript: script, testParser: parser, testFiles: fw.testFiles, bugInjectDiff: '', testWeakenDiff: '' });
  }
  return {
    fw,
    stable,
    excluded,
    testScript: script,
    testParser: parser,
    baselineMs: first.durationMs,
    covDir,
    originalRun: excluded.length ? undefined : { results: r1, durationMs: first.durationMs, logTail: first.logTail, reporter: first.reporter },
  };
}

/** unittest: the folders holding an __init__.py (the script puts them on the path). */
async function packageDirs(sb: SandboxLike, fw: FrameworkInfo): Promise<Set<string>> {
  const dirs = new Set<string>();
  if (fw.runner === 'unittest') {
    const r = await sb.exec(`find . -name __init__.py -not -path '*/node_modules/*' -printf '%h\\n'`, { timeoutMs: 60_000 });
    for (const l of r.stdout.split('\n')) if (l.trim()) dirs.add(l.trim().replace(/^\.\//, ''));
  }
  return dirs;
}

/** The installed script and parser once more, with the language's coverage trace into `covDir`; undefined when it failed. */
async function coverageRun(
  sb: SandboxLike,
  fw: FrameworkInfo,
  covDir: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<TestResults | undefined> {
  const env =
    fw.language === 'python'
      ? `SSR_COV_DIR=${covDir} PYTHONPATH=${COVERAGE_DIR}\${PYTHONPATH:+:$PYTHONPATH}`
      : fw.language === 'go'
        ? `SSR_GO_COVERPROFILE=${covDir}/cover.out`
        : `NODE_V8_COVERAGE=${covDir}`;
  const logFile = `/ssr/tmp/cov-log-${covCounter}`;
  const cov = await sb.exec(
    `rm -rf ${covDir}; mkdir -p ${covDir}; ${env} bash ${ARTIFACT_DIR_IN_SANDBOX}/test_script.sh > ${logFile} 2>&1; ` +
      `python3 ${ARTIFACT_DIR_IN_SANDBOX}/test_parser.py < ${logFile}; rc=$?; rm -f ${logFile}; exit $rc`,
    { timeoutMs: timeoutMs * 3, signal, maxOutputBytes: 8 << 20 },
  );
  return cov.exitCode === 0 ? (parseParserOutput(cov.stdout).results ?? {}) : undefined;
}

/** Passing in both runs (stable), failing in both, or anything else (flaky); without a second run, the first decides. */
function classifyTests(r1: TestResults, second: TestResults | undefined) {
  const ids = new Set([...Object.keys(r1), ...Object.keys(second ?? {})]);
  const stable = new Set<string>();
  const failing: string[] = [];
  const flaky: string[] = [];
  for (const id of ids) {
    const a = r1[id];
    const b = second ? second[id] : a;
    if (a === 'passed' && b === 'passed') stable.add(id);
    else if (a === 'failed' && (b === 'failed' || b === undefined)) failing.push(id);
    else flaky.push(id);
  }
  return { ids, stable, failing, flaky };
}

function checkEnoughPassing(ids: Set<string>, stable: Set<string>, minPassing: number, logTail: string): void {
  if (stable.size === 0) {
    throw new NoProposalError(
      'suite-fails',
      `the test suite fails on the unmodified repository: none of its ${ids.size} test(s) passes` +
        `${ids.size ? ` (e.g. ${[...ids].slice(0, 3).join(', ')})` : ' (no per-test result was found in the log)'}. ` +
        'Fix the suite or the environment first: the sandbox image must hold what the tests need.\n' +
        logTail.slice(-1500),
    );
  }
  if (stable.size < minPassing) {
    throw new NoProposalError(
      'too-few-tests',
      `only ${stable.size} test(s) pass reliably on the unmodified repository; a valid bug needs at least ${minPassing}. Add tests.`,
    );
  }
}
