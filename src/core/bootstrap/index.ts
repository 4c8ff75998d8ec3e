/**
 * The bootstrap proposer: SSR's embedded default bug injector, which needs
 * no model. In the spirit of the paper's removal strategy it finds the
 * repository's tests, runs them, picks functions the passing tests execute,
 * removes code from them (a whole body, a branch, a few statements; or
 * several functions in different files), keeps the mutation when it breaks
 * tests, deletes those tests to make the weakening, and returns the five
 * artifact files. Everything runs in one sandbox; the user's folder is only
 * read (copied in).
 *
 * Target selection is coverage-based: the suite is run once more with a
 * sys.setprofile hook (Python, via sitecustomize) or NODE_V8_COVERAGE
 * (JavaScript), and only functions that run during the tests are mutated.
 * When that trace yields nothing, names referenced from the test files are
 * the fallback.
 */
import { seededRandom } from '../base/random';
import { DockerSandbox, DEFAULT_IMAGE } from '../sandbox/docker';
import type { SandboxLike } from '../sandbox/types';
import { diffAgainstBaseline, initBaseline, resetToBaseline } from '../sandbox/baseline';
import { ARTIFACT_DIR_IN_SANDBOX, installRunner, parseParserOutput, runTests, type ReporterRecords, type TestResults } from '../judge/testRun';
import type { ArtifactFiles } from '../artifact/artifact';
import { CancelledError } from '../base/errors';
import { COVERAGE_DIR, HELPER_DIR, HELPER_PATH, HELPER_PY, SITECUSTOMIZE_PY } from './helperSource';
import { testParser, testScript, type Runner } from './templates';
import { jsMutate, jsTargets, jsWeaken, type JsTarget } from './js/sandbox';
import { span } from '../base/trace';
import { goHelper } from './go/sandbox';
import { callHelper } from './helperCall';
import { getSuite, putSuite, suiteCacheEnabled, treeKey } from './suiteCache';

export type SingleStrategy = 'body' | 'branch' | 'block';
export type Strategy = SingleStrategy | 'multi';
export type StrategyOption = Strategy | 'any';

export type NoProposalReason =
  | 'no-tests'
  | 'no-framework'
  | 'suite-fails'
  | 'too-few-tests'
  | 'nothing-covered'
  | 'exhausted';

/** The proposer could not produce a bug; `reason` says why, the message how to fix it. */
export class NoProposalError extends Error {
  constructor(
    readonly reason: NoProposalReason,
    message: string,
  ) {
    super(message);
    this.name = 'NoProposalError';
  }
}

export interface FrameworkInfo {
  language: 'python' | 'javascript' | 'go';
  framework: 'pytest' | 'unittest' | 'node:test' | 'jest' | 'vitest' | 'mocha' | 'go test';
  /** What the test script runs: python3 -m pytest, python3 -m unittest, or node per file. */
  runner: Runner;
  /** Every test file of the suite (test modules, conftest.py, helpers in test folders). */
  testFiles: string[];
  /** The files the test script runs. */
  runFiles: string[];
  /** Python packages under src/ (put on PYTHONPATH by the test script). */
  srcLayout: boolean;
  notes: string[];
  /** Test files found but not run, and why (said in the script's comments and the proposal's notes). */
  leftOut?: Array<{ file: string; why: string }>;
  /** Runner arguments learned from the repository's test command (jest, vitest, mocha). */
  runnerArgs?: string[];
  /** Where the test command was learned. */
  learnedFrom?: string;
  /** The package manager the JavaScript runner is called through (pnpm, yarn; npm: node_modules/.bin). */
  packageManager?: 'npm' | 'pnpm' | 'yarn';
}

export interface ProposalTarget {
  file: string;
  symbol: string;
  line?: number;
  strategy?: SingleStrategy;
  description?: string;
}

export interface Proposal {
  /** Stable: strategy + target(s); proposals with a key in `seen` are not made again. */
  key: string;
  strategy: Strategy;
  targets: ProposalTarget[];
  artifact: ArtifactFiles;
  notes: string[];
  /** Tests passing on the original that fail (or disappear) with the bug. */
  brokenTests: string[];
  framework: FrameworkInfo;
  seed: number;
  /** Test runs made on mutated states. */
  attempts: number;
  durationMs: number;
  /**
   * The proposer's own judged runs of the artifact's buggy and weakened
   * states (the same runner, script, parser, image and tree as validation's),
   * so a session's validation need not run them again (runCache.ts); and
   * its first judged run of the original, one of the original's repetitions.
   */
  runs: { buggy: ProposerRun; weakened: ProposerRun; original?: ProposerRun };
}

/** A judged run the proposer made of one of its artifact's states. */
export interface ProposerRun {
  results: TestResults;
  durationMs: number;
  logTail: string;
  /** What the judge's pytest reporter saw in that run (testRun.ts). */
  reporter?: ReporterRecords;
}

export interface ProposeOptions {
  repoDir: string;
  image?: string;
  seed?: number;
  /** Keys of proposals already made in this run; the returned key is added. */
  seen?: Set<string>;
  strategy?: StrategyOption;
  /** Tests that must go from passing to failing. Default 1. */
  minFailing?: number;
  signal?: AbortSignal;
  log?: (msg: string) => void;
  /** Mutated states to test before giving up. Default 40. */
  maxAttempts?: number;
  /** Time limit for a run of the original suite. Default 300 s. */
  testTimeoutMs?: number;
  /** A bug breaking more than this share of the passing tests is rejected. Default 0.6. */
  maxBrokenFraction?: number;
  /** Tests that must pass on the original (the checks' threshold). Default 5. */
  minPassing?: number;
  /** When a repository has several, which suite to use. Default: Python, then Go, then JavaScript. */
  language?: 'python' | 'javascript' | 'go';
}

// ----------------------------------------------------------------- helper

const installed = new WeakSet<SandboxLike>();

async function installHelper(sb: SandboxLike): Promise<void> {
  if (installed.has(sb)) return;
  await sb.writeFile(HELPER_PATH, HELPER_PY, 0o644);
  await sb.writeFile(`${COVERAGE_DIR}/sitecustomize.py`, SITECUSTOMIZE_PY, 0o644);
  installed.add(sb);
}

async function helper<T>(sb: SandboxLike, cmd: string, req: Record<string, unknown>, signal?: AbortSignal): Promise<T> {
  await installHelper(sb);
  return callHelper<T>(sb, 'bootstrap helper', `python3 ${HELPER_PATH} ${cmd}`, cmd, req, signal);
}

interface DetectAnswer {
  language: 'python' | 'javascript' | 'go' | null;
  framework: FrameworkInfo['framework'] | null;
  runner: Runner | null;
  runnerArgs?: string[];
  learnedFrom?: string;
  packageManager?: 'npm' | 'pnpm' | 'yarn';
  testFiles: string[];
  runFiles: string[];
  notes: string[];
  pytestAvailable: boolean;
  nodeAvailable: boolean;
  srcLayout?: boolean;
  leftOut?: Array<{ file: string; why: string }>;
}

const NO_TESTS_HELP =
  'no tests found: SSR looks for pytest/unittest tests (test_*.py or *_test.py files, usually under tests/), ' +
  'or JavaScript tests (node:test, or jest, vitest, mocha named by package.json), or Go tests (*_test.go next to a go.mod). ' +
  'Add tests to the repository (a valid bug needs at least 5 passing tests), or use a model-driven injector with a custom test_script.sh.';

/**
 * Finds the test framework of the repository in a sandbox: language, runner,
 * test files. Throws NoProposalError ('no-tests' or 'no-framework') when
 * there is nothing SSR can run.
 */
export async function detectFramework(
  sb: SandboxLike,
  opts: { signal?: AbortSignal; language?: 'python' | 'javascript' | 'go' } = {},
): Promise<FrameworkInfo> {
  const d = await helper<DetectAnswer>(sb, 'detect', { language: opts.language }, opts.signal);
  if (!d.language || d.runFiles.length === 0) {
    if (d.language === 'javascript' && d.testFiles.length) {
      throw new NoProposalError(
        'no-framework',
        `found ${d.testFiles.length} JavaScript test file(s) but no runner for them: the bootstrap proposer runs ` +
          "node:test, jest, mocha and vitest suites, learned from package.json's scripts.test, the runner's config file " +
          'or the test files themselves, and none of them was found. Declare the runner in package.json (e.g. ' +
          '"scripts": {"test": "vitest run"}) and build the environment (`ssr env build --repo DIR`), or use a ' +
          'model-driven injector with a custom test_script.sh.',
      );
    }
    throw new NoProposalError('no-tests', NO_TESTS_HELP);
  }
  if (d.language === 'javascript' && d.framework && d.framework !== 'node:test' && !d.runner) {
    throw new NoProposalError(
      'no-framework',
      `the tests run with ${d.framework} (${d.learnedFrom ?? 'package.json'}), which is not installed in the image: ` +
        'build the repository\'s environment first (`ssr env build --repo DIR`), then run again.',
    );
  }
  if (!d.runner || !d.framework) {
    const why =
      d.language === 'python'
        ? 'the tests are written for pytest but the sandbox image has no pytest; use an image with pytest installed (e.g. `FROM ssr-sandbox:bookworm` + `pip install pytest`)'
        : d.language === 'go'
          ? "the tests are Go tests (go.mod) but the sandbox image has no Go; build the repository's environment first (`ssr env build --repo DIR` installs Debian's golang-go), then run again"
          : 'the tests use node:test but the sandbox image has no node; use an image with Node.js 18 or newer';
    throw new NoProposalError('no-framework', `cannot run the tests: ${why}.`);
  }
  return {
    language: d.language,
    framework: d.framework,
    runner: d.runner,
    testFiles: d.testFiles,
    runFiles: d.runFiles,
    srcLayout: Boolean(d.srcLayout),
    notes: d.notes,
    leftOut: d.leftOut,
    runnerArgs: d.runnerArgs,
    learnedFrom: d.learnedFrom,
    packageManager: d.packageManager,
  };
}

// ------------------------------------------------------------------- RNG


function shuffle<T>(xs: T[], rng: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Weighted order without replacement. */
function weightedOrder<T>(items: Array<[T, number]>, rng: () => number): T[] {
  const pool = items.filter(([, w]) => w > 0);
  const out: T[] = [];
  while (pool.length) {
    const total = pool.reduce((s, [, w]) => s + w, 0);
    let r = rng() * total;
    let i = 0;
    for (; i < pool.length - 1; i++) {
      r -= pool[i][1];
      if (r < 0) break;
    }
    out.push(pool[i][0]);
    pool.splice(i, 1);
  }
  return out;
}

// -------------------------------------------------------------- the suite

/** A function the proposer may mutate; Python and JavaScript targets have one shape. */
type Target = JsTarget;

interface Suite {
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

let covCounter = 0;

async function prepareSuite(
  sb: SandboxLike,
  fw: FrameworkInfo,
  opts: ProposeOptions,
  log: (m: string) => void,
): Promise<Suite> {
  const packageDirs = new Set<string>();
  if (fw.runner === 'unittest') {
    const r = await sb.exec(`find . -name __init__.py -not -path '*/node_modules/*' -printf '%h\\n'`, { timeoutMs: 60_000 });
    for (const l of r.stdout.split('\n')) if (l.trim()) packageDirs.add(l.trim().replace(/^\.\//, ''));
  }
  const script = testScript({
    runner: fw.runner,
    runFiles: fw.runFiles,
    packageDirs,
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
    { timeoutMs: timeoutMs * 3, signal: opts.signal, maxOutputBytes: 8 << 20 },
  );
  const second: TestResults = cov.exitCode === 0 ? (parseParserOutput(cov.stdout).results ?? {}) : {};
  if (cov.exitCode !== 0) log('bootstrap: the coverage run failed; falling back to names referenced by the tests');

  const r1 = first.results ?? {};
  const ids = new Set([...Object.keys(r1), ...Object.keys(second)]);
  const stable = new Set<string>();
  const failing: string[] = [];
  const flaky: string[] = [];
  for (const id of ids) {
    const a = r1[id];
    const b = cov.exitCode === 0 ? second[id] : a;
    if (a === 'passed' && b === 'passed') stable.add(id);
    else if (a === 'failed' && (b === 'failed' || b === undefined)) failing.push(id);
    else flaky.push(id);
  }
  const minPassing = opts.minPassing ?? 5;
  if (stable.size === 0) {
    throw new NoProposalError(
      'suite-fails',
      `the test suite fails on the unmodified repository: none of its ${ids.size} test(s) passes` +
        `${ids.size ? ` (e.g. ${[...ids].slice(0, 3).join(', ')})` : ' (no per-test result was found in the log)'}. ` +
        'Fix the suite or the environment first: the sandbox image must hold what the tests need.\n' +
        first.logTail.slice(-1500),
    );
  }
  if (stable.size < minPassing) {
    throw new NoProposalError(
      'too-few-tests',
      `only ${stable.size} test(s) pass reliably on the unmodified repository; a valid bug needs at least ${minPassing}. Add tests.`,
    );
  }
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

// ------------------------------------------------------------- mutations

interface MutateAnswer {
  ok: boolean;
  reason?: string;
  description?: string;
}

interface WeakenAnswer {
  ok: boolean;
  reason?: string;
  removed: string[];
  missing: string[];
  files: string[];
}

interface Piece {
  target: Target;
  strategy: SingleStrategy;
  description: string;
  /** The mutated file's content, to rebuild combinations without re-running the helper. */
  content: Buffer;
  failing: string[];
  /** Results of the suite with this piece alone. */
  results: TestResults;
  durationMs: number;
  logTail: string;
}

type Outcome =
  | { kind: 'ok'; results: TestResults; failing: string[]; gone: string[] }
  | { kind: 'reject'; why: string };

function judgeBuggy(
  results: TestResults,
  suite: Suite,
  minFailing: number,
  maxBrokenFraction: number,
): Outcome {
  const failing: string[] = [];
  const gone: string[] = [];
  for (const id of suite.stable) {
    const s = results[id];
    if (s === 'failed') failing.push(id);
    else if (s === undefined) gone.push(id);
  }
  const broken = failing.length + gone.length;
  if (failing.length < minFailing) {
    return { kind: 'reject', why: broken ? `only ${failing.length} test(s) fail (${gone.length} disappear)` : 'no test breaks' };
  }
  if (broken >= suite.stable.size) return { kind: 'reject', why: 'every test breaks' };
  if (broken / suite.stable.size > maxBrokenFraction) {
    return { kind: 'reject', why: `${broken} of ${suite.stable.size} tests break (too broad)` };
  }
  return { kind: 'ok', results, failing, gone };
}

function keyOf(strategy: SingleStrategy, t: { file: string; symbol: string }): string {
  return `${strategy}:${t.file}::${t.symbol}`;
}

/**
 * Proposes one bug artifact for the repository at `repoDir`. Throws
 * NoProposalError when the repository gives the proposer nothing to work
 * with, saying what is missing.
 */
export async function proposeBug(opts: ProposeOptions): Promise<Proposal> {
  const started = Date.now();
  const log = opts.log ?? (() => undefined);
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
  const rng = seededRandom(seed);
  const seen = opts.seen ?? new Set<string>();
  const want: StrategyOption = opts.strategy ?? 'any';
  const minFailing = Math.max(1, opts.minFailing ?? 1);
  const maxAttempts = opts.maxAttempts ?? 40;
  const maxBroken = opts.maxBrokenFraction ?? 0.6;
  const signal = opts.signal;
  const check = () => {
    if (signal?.aborted) throw new CancelledError();
  };

  const image = opts.image ?? DEFAULT_IMAGE;
  // The suite, its passing tests and the coverage targets are learned once per tree and image.
  const key = suiteCacheEnabled()
    ? treeKey(opts.repoDir, [image, opts.language ?? '', String(opts.testTimeoutMs ?? ''), String(opts.minPassing ?? '')])
    : undefined;
  const known = key ? getSuite<{ fw: FrameworkInfo; suite: Suite; targets: { targets: Target[]; coverage: boolean } }>(key) : undefined;
  const sb = await DockerSandbox.create({
    repoDir: opts.repoDir,
    image,
    signal,
    labels: { 'ssr.role': 'bootstrap' },
  });
  try {
    const fw = known?.fw ?? (await detectFramework(sb, { signal, language: opts.language }));
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

    const t =
      known?.targets ??
      (fw.language === 'javascript'
        ? await jsTargets(sb, (cmd, req) => helper(sb, cmd, req, signal), fw.testFiles, suite.covDir)
        : fw.language === 'go'
          ? await goHelper<{ targets: Target[]; coverage: boolean }>(sb, 'targets', { testFiles: fw.testFiles, covFile: `${suite.covDir}/cover.out` }, signal)
          : await helper<{ targets: Target[]; coverage: boolean }>(
            sb,
            'targets',
            { language: fw.language, testFiles: fw.testFiles, covDir: suite.covDir },
            signal,
          ));
    if (key && !known) putSuite(key, { fw, suite, targets: t });
    const covered = t.targets.filter((x) => x.covered);
    const pool = covered.length ? covered : t.targets.filter((x) => x.referenced);
    const how = covered.length
      ? `${covered.length} function(s) run by the tests (${fw.language === 'python' ? 'sys.setprofile trace' : fw.language === 'go' ? 'go test -coverprofile' : 'V8 coverage'})`
      : `${pool.length} function(s) named in the test files (no coverage trace)`;
    log(`bootstrap: ${how}, of ${t.targets.length} in the non-test code`);
    if (pool.length === 0) {
      throw new NoProposalError(
        'nothing-covered',
        `none of the ${t.targets.length} function(s) in the non-test code is run by the passing tests` +
          `${t.targets.length ? '' : ' (no function with a body was found outside the test files)'}; ` +
          'the bootstrap proposer mutates functions the tests exercise. Check that the tests import the code under test from the repository.',
      );
    }
    const buggyTimeout = Math.min(opts.testTimeoutMs ?? 300_000, Math.max(30_000, suite.baselineMs * 4 + 10_000));
    const ctx = { sb, suite, fw, rng, minFailing, maxBroken, buggyTimeout, signal, log };
    let attempts = 0;
    const tried = new Set<string>();
    // Functions already used by earlier proposals (with another strategy) go last, for variety.
    const usedTargets = new Set([...seen].flatMap((k) => k.replace(/^multi:/, '').split('+').map((x) => x.replace(/^[a-z]+:/, ''))));
    const shuffled = shuffle(pool, rng);
    const fresh = (x: Target) => !usedTargets.has(`${x.file}::${x.symbol}`);
    const order = [...shuffled.filter(fresh), ...shuffled.filter((x) => !fresh(x))];

    const runState = async () => {
      attempts++;
      const run = await span('propose.mutantRun', () => runTests(sb, { timeoutMs: buggyTimeout, signal }));
      check();
      return run;
    };

    /** Mutates one target on the clean baseline and judges it alone. */
    const tryPiece = async (target: Target, strategy: SingleStrategy): Promise<Piece | string> => {
      await resetToBaseline(sb);
      const mutationSeed = Math.floor(rng() * 2 ** 31);
      const m =
        fw.language === 'javascript'
          ? await jsMutate(sb, target, strategy, mutationSeed)
          : fw.language === 'go'
            ? await goHelper<MutateAnswer>(sb, 'mutate', { file: target.file, symbol: target.symbol, line: target.line, strategy, seed: mutationSeed }, signal)
            : await helper<MutateAnswer>(
              sb,
              'mutate',
              { language: fw.language, file: target.file, symbol: target.symbol, line: target.line, strategy, seed: mutationSeed },
              signal,
            );
      if (!m.ok) return `not applicable: ${m.reason}`;
      const run = await runState();
      if (!run.ok) return `the tests did not run: ${run.error}`;
      const j = judgeBuggy(run.results ?? {}, suite, minFailing, maxBroken);
      if (j.kind === 'reject') return j.why;
      const content = await sb.readFile(target.file);
      return { target, strategy, description: m.description ?? '', content, failing: j.failing, results: j.results, durationMs: run.durationMs, logTail: run.logTail };
    };

    const strategiesFor = (target: Target): SingleStrategy[] => {
      const s = target.strategies;
      const items: Array<[SingleStrategy, number]> = [
        ['body', s.body ? 4 : 0],
        ['branch', s.branch ? 3 : 0],
        ['block', s.block ? 3 : 0],
      ];
      if (want === 'body' || want === 'branch' || want === 'block') return items.some(([k, w]) => k === want && w > 0) ? [want] : [];
      return weightedOrder(items, rng);
    };

    // --- building the proposal
    const finish = (pieces: Piece[], strategy: Strategy, key: string, w: Weakened): Proposal => {
      const { failing, gone, notes } = w;
      const artifact: ArtifactFiles = {
        testScript: suite.testScript,
        testFiles: fw.testFiles,
        testParser: suite.testParser,
        bugInjectDiff: w.bugDiff,
        testWeakenDiff: w.weakenDiff,
        meta: { source: 'bootstrap', order: 1, strategy, seed, key },
      };
      seen.add(key);
      const ms = Date.now() - started;
      const allNotes = [
        `${fw.framework} suite: ${fw.runFiles.length} test file(s) run with ${fw.runner}; ${suite.stable.size} test(s) pass on the original` +
          (suite.excluded.length ? `, ${suite.excluded.length} failing or flaky left out` : ''),
        `targets: ${how}`,
        ...fw.notes,
        ...pieces.map((p) => `${p.target.file}: ${p.description}`),
        `the bug breaks ${failing.length + gone.length} test(s): ${failing.concat(gone).slice(0, 8).join(', ')}${failing.length + gone.length > 8 ? ', ...' : ''}`,
        ...notes,
        `${attempts} mutated state(s) tested in ${ms} ms (seed ${seed})`,
      ];
      log(`bootstrap: proposal ${key} ready in ${ms} ms`);
      return {
        key,
        strategy,
        targets: pieces.map((p) => ({
          file: p.target.file,
          symbol: p.target.symbol,
          line: p.target.line,
          strategy: p.strategy,
          description: p.description,
        })),
        artifact,
        notes: allNotes,
        brokenTests: [...failing, ...gone].sort(),
        framework: fw,
        seed,
        attempts,
        durationMs: ms,
        runs: { ...w.runs, original: suite.originalRun },
      };
    };

    const multiFiles = new Set(pool.map((x) => x.file)).size;
    const doMulti = want === 'multi' || (want === 'any' && multiFiles >= 2 && rng() < 0.2);

    if (doMulti) {
      if (multiFiles < 2) {
        throw new NoProposalError(
          'exhausted',
          'a multi-file bug needs functions run by the tests in at least two non-test files; this repository has them in one file.',
        );
      }
      const k = multiFiles >= 3 && rng() < 0.4 ? 3 : 2;
      const result = await proposeMulti(ctx, order, k, () => attempts, runState, tryPiece, strategiesFor, seen, maxAttempts);
      if (result) {
        return finish(result.pieces, 'multi', result.key, result.weak);
      }
      if (want === 'multi') {
        throw new NoProposalError(
          'exhausted',
          `no multi-file bug found after ${attempts} mutated state(s): no ${k} functions in different files break tests independently.`,
        );
      }
      log('bootstrap: no multi-file bug found, trying single-function bugs');
    }

    const rejects: string[] = [];
    let skippedSeen = 0;
    for (const target of order) {
      if (attempts >= maxAttempts) break;
      for (const strategy of strategiesFor(target)) {
        const key = keyOf(strategy, target);
        if (seen.has(key)) {
          skippedSeen++;
          continue;
        }
        if (tried.has(key)) continue;
        tried.add(key);
        check();
        const before = attempts;
        const piece = await tryPiece(target, strategy);
        if (typeof piece === 'string') {
          log(`bootstrap: ${key}: ${piece}`);
          if (attempts > before) rejects.push(`${key}: ${piece}`);
          if (attempts > before) break; // tested and rejected: next function
          continue; // not applicable: another strategy on the same function
        }
        // The state is the buggy one: weaken it.
        const weak = await weakenAndVerify(ctx, [piece], runState, { results: piece.results, durationMs: piece.durationMs, logTail: piece.logTail });
        if (typeof weak === 'string') {
          log(`bootstrap: ${key}: ${weak}`);
          rejects.push(`${key}: ${weak}`);
          break;
        }
        return finish([piece], strategy, key, weak);
      }
    }
    const why =
      attempts >= maxAttempts
        ? `tried ${attempts} mutated state(s) (the limit) and none gave a valid bug`
        : `tried every candidate (${tried.size} mutation(s), ${attempts} test run(s)${skippedSeen ? `, ${skippedSeen} already proposed` : ''})`;
    throw new NoProposalError(
      'exhausted',
      `${why} among ${pool.length} function(s) the tests run. ` +
        (rejects.length ? `Last rejections: ${rejects.slice(-3).join('; ')}. ` : '') +
        'Try another seed or strategy, or a model-driven injector.',
    );

  } finally {
    await sb.dispose();
  }
}

interface Ctx {
  sb: SandboxLike;
  suite: Suite;
  fw: FrameworkInfo;
  rng: () => number;
  minFailing: number;
  maxBroken: number;
  buggyTimeout: number;
  signal?: AbortSignal;
  log: (m: string) => void;
}

interface Weakened {
  results: TestResults;
  /** The judged runs of the buggy state and of the final weakened one. */
  runs: { buggy: ProposerRun; weakened: ProposerRun };
  failing: string[];
  gone: string[];
  bugDiff: string;
  weakenDiff: string;
  notes: string[];
}

type RunState = () => Promise<Awaited<ReturnType<typeof runTests>>>;

/** Puts the pieces' files in place on a clean baseline. */
async function applyPieces(sb: SandboxLike, pieces: Piece[]): Promise<void> {
  await resetToBaseline(sb);
  for (const p of pieces) await sb.writeFile(p.target.file, p.content);
}

/**
 * From the clean baseline: applies the pieces, runs the suite, deletes the
 * tests that break, and checks that the weakened suite passes on the buggy code.
 */
async function weakenAndVerify(
  ctx: Ctx,
  pieces: Piece[],
  runState: RunState,
  known?: ProposerRun,
): Promise<Weakened | string> {
  const { sb, suite, fw } = ctx;
  await applyPieces(sb, pieces);
  let buggyRun = known;
  if (!buggyRun) {
    const run = await runState();
    if (!run.ok) return `the tests did not run with the bug: ${run.error}`;
    buggyRun = { results: run.results ?? {}, durationMs: run.durationMs, logTail: run.logTail, reporter: run.reporter };
  }
  const buggy = buggyRun.results;
  const j = judgeBuggy(buggy, suite, ctx.minFailing, ctx.maxBroken);
  if (j.kind === 'reject') return j.why;
  const bugFiles = [...new Set(pieces.map((p) => p.target.file))];
  const bugDiff = await diffAgainstBaseline(sb, { only: bugFiles });
  if (!bugDiff.trim()) return 'the mutation left no diff';

  let toRemove = [...j.failing, ...j.gone];
  const removed = new Set<string>();
  const changed = new Set<string>();
  for (let round = 0; round < 3; round++) {
    const w =
      fw.language === 'javascript'
        ? await jsWeaken(sb, fw.testFiles, toRemove)
        : fw.language === 'go'
          ? await goHelper<WeakenAnswer>(sb, 'weaken', { testFiles: fw.testFiles, ids: toRemove }, ctx.signal)
          : await helper<WeakenAnswer>(sb, 'weaken', { language: fw.language, testFiles: fw.testFiles, ids: toRemove }, ctx.signal);
    if (!w.ok) return `cannot weaken the tests: ${w.reason}`;
    w.removed.forEach((x) => removed.add(x));
    w.files.forEach((f) => changed.add(f));
    const wr = await runState();
    if (!wr.ok) return `the weakened tests did not run: ${wr.error}`;
    const stillFailing = Object.entries(wr.results ?? {})
      .filter(([, s]) => s === 'failed')
      .map(([id]) => id);
    if (stillFailing.length === 0) {
      const passing = Object.values(wr.results ?? {}).filter((s) => s === 'passed').length;
      if (passing === 0) return 'nothing passes once the broken tests are deleted';
      const weakenDiff = await diffAgainstBaseline(sb, { only: [...changed] });
      if (!weakenDiff.trim()) return 'the weakening left no diff';
      return {
        results: buggy,
        runs: { buggy: buggyRun, weakened: { results: wr.results ?? {}, durationMs: wr.durationMs, logTail: wr.logTail, reporter: wr.reporter } },
        failing: j.failing,
        gone: j.gone,
        bugDiff,
        weakenDiff,
        notes: [
          `the weakening deletes ${removed.size} test(s) from ${changed.size} file(s): ${[...changed].join(', ')}; ${passing} test(s) still pass on the buggy code`,
        ],
      };
    }
    // Tests that fail only once others are gone (or ids the first pass missed): delete them too.
    toRemove = stillFailing.filter((id) => !removed.has(id));
    if (toRemove.length === 0) return `the weakened suite still fails: ${stillFailing.slice(0, 3).join(', ')}`;
  }
  return 'the weakened suite keeps failing';
}

async function proposeMulti(
  ctx: Ctx,
  order: Target[],
  k: number,
  attempts: () => number,
  runState: RunState,
  tryPiece: (t: Target, s: SingleStrategy) => Promise<Piece | string>,
  strategiesFor: (t: Target) => SingleStrategy[],
  seen: Set<string>,
  maxAttempts: number,
): Promise<{ pieces: Piece[]; key: string; weak: Weakened } | undefined> {
  const { sb, suite, log } = ctx;
  const pieces: Piece[] = [];
  const usedFiles = new Set<string>();
  for (const target of order) {
    if (pieces.length >= k || attempts() >= maxAttempts) break;
    if (usedFiles.has(target.file)) continue;
    for (const strategy of strategiesFor(target)) {
      const before = attempts();
      const p = await tryPiece(target, strategy);
      if (typeof p !== 'string') {
        pieces.push(p);
        usedFiles.add(target.file);
        log(`bootstrap: multi: piece ${keyOf(strategy, target)} breaks ${p.failing.length} test(s)`);
        break;
      }
      if (attempts() > before) break;
    }
  }
  // Combine; drop a piece whose file is not needed (inverse mutation) and retry.
  while (pieces.length >= 2) {
    const key = `multi:${pieces.map((p) => keyOf(p.strategy, p.target)).sort().join('+')}`;
    if (seen.has(key)) return undefined;
    await applyPieces(sb, pieces);
    const full = await runState();
    if (!full.ok) return undefined;
    const F = [...suite.stable].filter((id) => full.results?.[id] === 'failed');
    let dead: Piece | undefined;
    for (const p of pieces) {
      await applyPieces(
        sb,
        pieces.filter((q) => q !== p),
      );
      const r = await runState();
      const flipped = r.ok ? F.filter((id) => r.results?.[id] === 'passed') : [];
      if (flipped.length === 0) {
        dead = p;
        break;
      }
    }
    if (!dead) {
      const w = await weakenAndVerify(ctx, pieces, runState, { results: full.results ?? {}, durationMs: full.durationMs, logTail: full.logTail });
      if (typeof w === 'string') {
        log(`bootstrap: multi: ${w}`);
        return undefined;
      }
      return { pieces, key, weak: w };
    }
    log(`bootstrap: multi: ${dead.target.file} is not needed once the others are in; dropping it`);
    pieces.splice(pieces.indexOf(dead), 1);
  }
  return undefined;
}

export { testScript, testParser } from './templates';
