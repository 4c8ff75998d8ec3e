/**
 * "Run the tests": run test_script.sh from the repository root in the
 * sandbox's current state, pipe its output to test_parser.py, read the JSON
 * map test id -> "passed" | "failed". Every way this can go wrong (timeout,
 * parser crash, non-JSON, flood) becomes a result with a reason.
 */
import type { ReporterRecords, ReporterSpec, SandboxLike } from '../sandbox/types';
import REPORTER_PY from './py/ssr_judge_pytest.py';
import REPORTER_NODE from './js/ssr_judge_node.sandbox.cjs';
import type { ArtifactFiles } from '../artifact/artifact';
import { SandboxError } from '../base/errors';
import { SandboxLostError } from '../sandbox/docker';
import { span } from '../base/trace';

export type TestStatus = 'passed' | 'failed';
export type TestResults = Record<string, TestStatus>;

export const ARTIFACT_DIR_IN_SANDBOX = '/ssr/artifact';
export const DEFAULT_TEST_TIMEOUT_MS = 120_000;
export const PARSER_TIMEOUT_MS = 60_000;
/** The parser's output must fit here; more is a flood. */
export const PARSER_OUTPUT_CAP = 8 * 1024 * 1024;
const LOG_TAIL_BYTES = 4000;
/** The judge's pytest reporter (./py/ssr_judge_pytest.py): the module name it is loaded under. */
export const REPORTER_MODULE = 'ssr_judge_pytest';
/** The judge's Node reporter (./js/ssr_judge_node.sandbox.cjs, node:test and mocha): the module name it is installed under. */
export const NODE_REPORTER_MODULE = 'ssr_judge_node';
/** Every run gets both: the script may start pytest, node, or both; a reporter no runner loads writes nothing. */
const REPORTERS: ReporterSpec[] = [
  { runner: 'pytest', module: REPORTER_MODULE, source: REPORTER_PY },
  { runner: 'node', module: NODE_REPORTER_MODULE, source: REPORTER_NODE },
];

export type { ReporterRecords } from '../sandbox/types';

export interface TestRunResult {
  ok: boolean;
  results?: TestResults;
  /** Why the run gave no usable results. */
  error?: string;
  scriptExitCode: number | null;
  timedOut: boolean;
  /** The end of the test log, for people. */
  logTail: string;
  /** What the judge's own reporters saw (absent when no pytest, node:test or mocha session ran, or the reporter was off). */
  reporter?: ReporterRecords;
  /** Set when the run was made without the judge's reporter (RunTestsOptions.reporter). */
  reporterOff?: true;
  durationMs: number;
}

export interface RunTestsOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  protect?: string[];
  /** Load the judge's reporters (pytest, node) into the run (default true; SSR_JUDGE_REPORTER=0 turns them off, for comparisons). */
  reporter?: boolean;
}

/** Writes the script and the parser where test runs read them (outside the repository). */
export async function installRunner(sb: SandboxLike, a: ArtifactFiles): Promise<void> {
  await sb.writeFile(`${ARTIFACT_DIR_IN_SANDBOX}/test_script.sh`, a.testScript, 0o755);
  await sb.writeFile(`${ARTIFACT_DIR_IN_SANDBOX}/test_parser.py`, a.testParser, 0o644);
}

/**
 * Parses the parser's output: one JSON object whose values are "passed" or
 * "failed". Returns the results or why they are not acceptable.
 */
export function parseParserOutput(stdout: string): { results?: TestResults; error?: string } {
  const text = stdout.trim();
  if (!text) return { error: 'the parser printed nothing' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Tolerate chatter before the object: take the last line that parses.
    const lines = text.split('\n').reverse();
    for (const line of lines) {
      const l = line.trim();
      if (!l.startsWith('{')) continue;
      try {
        value = JSON.parse(l);
        break;
      } catch {
        /* keep looking */
      }
    }
    if (value === undefined) {
      return { error: `the parser did not print a JSON object (starts with ${JSON.stringify(text.slice(0, 80))})` };
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { error: 'the parser printed JSON that is not an object mapping test ids to "passed"/"failed"' };
  }
  const bad = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== 'passed' && v !== 'failed');
  if (bad.length) {
    const [k, v] = bad[0];
    return {
      error: `the parser gave ${bad.length} value(s) other than "passed"/"failed", e.g. ${JSON.stringify(k)}: ${JSON.stringify(v)}`,
    };
  }
  return { results: value as TestResults };
}

/** Runs the suite in the sandbox's current state. installRunner must have been called. */
export async function runTests(sb: SandboxLike, opts: RunTestsOptions = {}): Promise<TestRunResult> {
  const started = Date.now();
  try {
    return await span('tests.run', () => runTestsOnce(sb, opts), { sandbox: (sb as { id?: string }).id });
  } catch (err) {
    // A lost sandbox (container gone, engine unreachable) is not the tests' result: the caller retries or stops.
    if (!(err instanceof SandboxError) || err instanceof SandboxLostError) throw err;
    // The runner could not do the run (process limit reached, processes that cannot be killed): a failed run, with the reason.
    return { ok: false, error: `the tests could not run: ${err.message}`, scriptExitCode: null, timedOut: false, logTail: '', durationMs: Date.now() - started };
  }
}

/**
 * The script runs as the sandbox's unprivileged test user with its output
 * piped into a log only SSR's runner can write; once it ends (or times out)
 * every process of that user is killed, and only then does the parser read
 * the log, as another unprivileged user in an empty folder (docs/judging.md).
 */
async function runTestsOnce(sb: SandboxLike, opts: RunTestsOptions): Promise<TestRunResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TEST_TIMEOUT_MS;
  const reporter = opts.reporter ?? process.env.SSR_JUDGE_REPORTER !== '0';
  const r = await sb.judgedRun({
    script: `${ARTIFACT_DIR_IN_SANDBOX}/test_script.sh`,
    parser: `${ARTIFACT_DIR_IN_SANDBOX}/test_parser.py`,
    timeoutMs,
    parserTimeoutMs: PARSER_TIMEOUT_MS,
    parserOutputCap: PARSER_OUTPUT_CAP,
    tailBytes: LOG_TAIL_BYTES,
    protect: opts.protect,
    ...(reporter ? { reporter: REPORTERS } : {}),
    signal: opts.signal,
  });
  const base = { scriptExitCode: r.scriptExitCode, timedOut: r.timedOut, logTail: r.logTail, durationMs: r.durationMs, ...(r.reporter ? { reporter: r.reporter } : {}), ...(reporter ? {} : { reporterOff: true as const }) };
  if (r.timedOut || !r.parser) {
    return { ...base, ok: false, error: `test_script.sh did not finish within ${Math.round(timeoutMs / 1000)} s and was killed` };
  }
  const parsed = r.parser;
  if (parsed.timedOut) return { ...base, ok: false, error: `test_parser.py did not finish within ${PARSER_TIMEOUT_MS / 1000} s` };
  if (parsed.truncated) return { ...base, ok: false, error: `test_parser.py printed more than ${PARSER_OUTPUT_CAP} bytes` };
  if (parsed.exitCode !== 0) {
    const err = parsed.stderr.trim().split('\n').slice(-3).join(' | ');
    return { ...base, ok: false, error: `test_parser.py exited with ${parsed.exitCode ?? 'a signal'}${err ? `: ${err}` : ''}` };
  }
  const { results, error } = parseParserOutput(parsed.stdout);
  if (error) return { ...base, ok: false, error };
  return { ...base, ok: true, results };
}

export function passing(r: TestResults | undefined): Set<string> {
  return new Set(Object.entries(r ?? {}).filter(([, v]) => v === 'passed').map(([k]) => k));
}

export function failing(r: TestResults | undefined): Set<string> {
  return new Set(Object.entries(r ?? {}).filter(([, v]) => v === 'failed').map(([k]) => k));
}

export function counts(r: TestResults | undefined): { passed: number; failed: number } {
  return { passed: passing(r).size, failed: failing(r).size };
}
