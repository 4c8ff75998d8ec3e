/**
 * The sandbox contract every other part of core programs against.
 * The Docker implementation lives in sandbox.ts.
 */

export interface ExecOptions {
  /** Working directory inside the container; defaults to the sandbox's repo path. */
  cwd?: string;
  /** Per-command timeout; the whole process group is killed when it passes. Default 120 s. */
  timeoutMs?: number;
  /** Bytes written to the command's standard input, then closed. */
  stdin?: string | Buffer;
  env?: Record<string, string>;
  /** Output cap (stdout and stderr each); head and tail are kept, the middle is cut with a marker. Default 1 MiB. */
  maxOutputBytes?: number;
  signal?: AbortSignal;
  /**
   * Keep processes the command started in the background alive after it
   * exits. Default false: the command's whole process group is killed when
   * it ends, so nothing it left behind (a fork bomb, a stray server) lingers.
   */
  keepBackground?: boolean;
  /**
   * Who runs the command: 'root' (SSR's own work: git, diffs; the default)
   * or 'test', the unprivileged user that runs tested code and the model's
   * own tools, and cannot reach the judge's files (docs/judging.md, "Who can
   * do what"). Processes of 'test' are all killed when the command ends,
   * unless keepBackground.
   */
  user?: 'root' | 'test';
  /**
   * Hand the working copy (the sandbox's repository) to `user` before the
   * command runs: files another user owns there become its own.
   */
  ownRepo?: boolean;
}

/** One judged test run: see JudgedRunResult. */
export interface JudgedRunOptions {
  /** The test script (absolute path in the sandbox, root-owned). */
  script: string;
  /** The parser (absolute path in the sandbox, root-owned). */
  parser: string;
  timeoutMs: number;
  parserTimeoutMs: number;
  /** Cap on the parser's output. */
  parserOutputCap: number;
  /** Bytes of the log's end to return. */
  tailBytes: number;
  /**
   * Repository files the test user may read but not change or replace during
   * this run (evaluation: the tests, which code under test could otherwise
   * rewrite on disk before the runner imports them).
   */
  protect?: string[];
  /**
   * The judge's reporters: for each runner, a module (name and source) the runner
   * installs in a root-owned folder and loads into the test processes the script
   * starts (pytest: a plugin on PYTEST_ADDOPTS; node: a preload first in
   * NODE_OPTIONS), all writing to one pipe outside the log (docs/judging.md).
   */
  reporter?: ReporterSpec[];
  signal?: AbortSignal;
}

/** One of the judge's reporters: which runner it is for, the module name it is installed under, its source. */
export interface ReporterSpec {
  runner: 'pytest' | 'node';
  module: string;
  source: string;
}

/** What the judge's reporter saw in one run, folded by the runner (py/runner/ssr_reporters.py reporter_summary). */
export interface ReporterRecords {
  /** Test id (pytest's node id relative to the working folder) -> outcome; skipped and xfail left out. */
  tests: Record<string, 'passed' | 'failed'>;
  /** Node ids of collectors (files, classes) that failed to collect. */
  collectErrors: string[];
  /** The plugins pytest had registered: a key stable between runs, and the file its code is in. */
  plugins: Array<{ key: string; file: string | null }>;
  /** Core reporting functions whose identity differs between the plugin's load and the session's end. */
  identityChanged: string[];
  /** Every pytest process that loaded the reporter reached its session's end, and every record was well formed. */
  complete: boolean;
  /** Pytest processes that loaded the reporter. */
  sessions: number;
}

export interface JudgedRunResult {
  scriptExitCode: number | null;
  timedOut: boolean;
  /** Bytes the test script printed (stdout and stderr together). */
  logBytes: number;
  logTail: string;
  /** Absent when the script timed out (the parser does not run then). */
  parser?: { exitCode: number | null; timedOut: boolean; stdout: string; stderr: string; truncated: boolean };
  /** The judge's reporter's records, when reporter was asked for and a pytest loaded it. */
  reporter?: ReporterRecords;
  durationMs: number;
}

export interface ExecResult {
  /** Exit code; null when killed by the timeout or a signal. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** True when output was cut to head and tail. */
  truncated: boolean;
  durationMs: number;
}

/** A running, isolated container holding a copy of a repository. */
export interface SandboxLike {
  readonly id: string;
  /** Absolute path of the repository inside the container (default /repo). */
  readonly repoPath: string;
  /**
   * SSR's git directory holding the original state of this repository
   * (default /ssr/base.git). Workers that share one container each have their own.
   */
  readonly baseGitDir?: string;
  /** Runs `bash -c command` inside the container. Never throws for a non-zero exit. */
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  /** Writes a file; a relative path is taken from repoPath. Parent folders are created. */
  writeFile(path: string, content: string | Buffer, mode?: number): Promise<void>;
  /** Reads a file; a relative path is taken from repoPath. Throws if missing. */
  readFile(path: string): Promise<Buffer>;
  /**
   * Runs the test script as the unprivileged test user, kills every process
   * it left, then runs the parser on the finished log as another
   * unprivileged user in an empty folder. One round trip.
   */
  judgedRun(opts: JudgedRunOptions): Promise<JudgedRunResult>;
  /** Removes the container. Safe to call twice. */
  dispose(): Promise<void>;
}
