/**
 * The bash tool's persistent shell session, emulated on top of the
 * sandbox's one-shot `exec`: after every command the shell's working
 * directory and exported environment are saved to a state file (from an
 * EXIT trap, so `exit 3` and failing commands save too) and restored before
 * the next command. Shell functions, aliases and unexported variables do not
 * persist. Background jobs keep running when their output is redirected
 * (the runner stops waiting for a command's output 2 s after it exits and
 * then kills what still holds the output pipe).
 *
 * Why not a long-lived bash: the sandbox's runner answers one request with
 * one result, which keeps timeouts, output caps and kills exact, and a
 * restart is just "forget the state file". One command costs one round trip.
 *
 * Output: stdout and stderr are merged in order (as a terminal shows them)
 * and pass through `head -c`, so a flood (more than `maxOutputBytes`) stops
 * the writer with SIGPIPE at once instead of running to the timeout. A
 * flood or a timeout restarts the session: the state is dropped, and the
 * result says why.
 *
 * Who: the shell runs as the sandbox's unprivileged test user, in a working
 * copy handed over to it when the session (re)starts. It cannot write the
 * judge's files, read the runner's working files or SSR's git directories
 * (docs/judging.md, "Who can do what").
 */
import type { SandboxLike } from '../sandbox/types';
import { sh } from '../sandbox/baseline';
import { SandboxError } from '../base/errors';

export const AGENT_DIR = '/ssr/agent';
/** The home of the user the agent's tools run as (the runner's TEST_HOME, sandbox/py/runner/ssr_common.py). */
export const AGENT_HOME = '/home/ssrtest';
/** The git identity of the agent's commits (a solver may commit): the test user has no global git config. */
const GIT_IDENTITY = { GIT_AUTHOR_NAME: 'agent', GIT_AUTHOR_EMAIL: 'agent@localhost', GIT_COMMITTER_NAME: 'agent', GIT_COMMITTER_EMAIL: 'agent@localhost' };
export const DEFAULT_COMMAND_TIMEOUT_MS = 120_000;
/** About 480 KB of output ends the command and restarts the session. */
export const DEFAULT_FLOOD_BYTES = 480 * 1024;
const CMD_ENV = 'SSR_AGENT_CMD';

export interface ShellResult {
  /** Merged stdout and stderr (at most maxOutputBytes). */
  output: string;
  exitCode: number | null;
  timedOut: boolean;
  /** More than maxOutputBytes were written; the command was stopped. */
  flooded: boolean;
  /** The session was restarted after this command; `restartReason` says why. */
  restarted: boolean;
  restartReason?: string;
  durationMs: number;
}

export interface ShellOptions {
  timeoutMs?: number;
  maxOutputBytes?: number;
  /** Where the state file lives inside the sandbox (default: in the agent user's home). */
  stateFile?: string;
}

/** Options every command of the agent's tools runs with: as the unprivileged test user. */
export const AGENT_USER = { user: 'test' } as const;

export class ShellSession {
  private readonly stateFile: string;
  private readonly timeoutMs: number;
  private readonly floodBytes: number;
  private _cwd: string;

  constructor(
    private readonly sb: SandboxLike,
    opts: ShellOptions = {},
  ) {
    this.stateFile = opts.stateFile ?? `${AGENT_HOME}/.ssr-shell/state`;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.floodBytes = opts.maxOutputBytes ?? DEFAULT_FLOOD_BYTES;
    this._cwd = sb.repoPath;
  }

  /** The shell's current working directory (as of the last command). */
  get cwd(): string {
    return this._cwd;
  }

  /** The script that wraps one command: restore state, run, save state. */
  private script(): string {
    const st = sh(this.stateFile);
    const dir = sh(this.stateFile.replace(/\/[^/]*$/, '') || '/');
    return [
      `mkdir -p -- ${dir} 2>/dev/null`,
      `if [ -f ${st} ]; then . ${st} >/dev/null 2>&1; fi`,
      `__ssr_cmd=$${CMD_ENV}; unset ${CMD_ENV}`,
      // fd 3: the runner's stderr, where the trap reports the final cwd.
      `__ssr_save() { __ssr_rc=$?; trap - EXIT; { { export -p; printf 'cd -- %q 2>/dev/null\\n' "$PWD"; } > ${st}.tmp && mv -f ${st}.tmp ${st}; } 2>/dev/null; printf '%s' "$PWD" >&3; exit $__ssr_rc; }`,
      `exec 3>&2 > >(exec head -c ${this.floodBytes + 1}) 2>&1 </dev/null`,
      `trap __ssr_save EXIT`,
      `eval "$__ssr_cmd" 3>&-`,
    ].join('\n');
  }

  async run(command: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<ShellResult> {
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const r = await this.sb.exec(this.script(), {
      cwd: this.sb.repoPath,
      env: { ...GIT_IDENTITY, [CMD_ENV]: command },
      ...AGENT_USER,
      timeoutMs,
      maxOutputBytes: this.floodBytes + 64 * 1024,
      // The output filter (head) must outlive bash to flush, and a server the
      // agent starts in the background (output redirected) should keep running.
      keepBackground: true,
      signal: opts.signal,
    });
    const flooded = Buffer.byteLength(r.stdout) > this.floodBytes || r.truncated;
    let output = r.stdout;
    if (flooded) output = Buffer.from(output).subarray(0, this.floodBytes).toString('utf8');
    const cwd = r.stderr.trim();
    if (!r.timedOut && cwd.startsWith('/')) this._cwd = cwd;
    let restartReason: string | undefined;
    if (r.timedOut) {
      restartReason = `the command did not finish within ${Math.round(timeoutMs / 1000)} s and was killed`;
    } else if (flooded) {
      restartReason = `the command wrote more than ${Math.round(this.floodBytes / 1024)} KB of output and was stopped`;
    }
    if (restartReason) await this.restart();
    return {
      output,
      exitCode: r.timedOut ? null : r.exitCode,
      timedOut: r.timedOut,
      flooded,
      restarted: Boolean(restartReason),
      restartReason,
      durationMs: r.durationMs,
    };
  }

  /**
   * Forgets the working directory and environment: the next command starts
   * fresh in the repository. Hands the working copy to the agent's user
   * (files SSR's own git work wrote belong to root until then).
   */
  async restart(): Promise<void> {
    this._cwd = this.sb.repoPath;
    const dir = this.stateFile.replace(/\/[^/]*$/, '') || '/';
    const r = await this.sb.exec(`mkdir -p ${sh(dir)} && rm -f ${sh(this.stateFile)} ${sh(this.stateFile + '.tmp')}`, {
      cwd: '/',
      timeoutMs: 120_000,
      ownRepo: true,
      ...AGENT_USER,
    });
    if (r.exitCode !== 0) throw new SandboxError(`starting the agent's shell failed: ${(r.stderr || r.stdout).trim().slice(-500)}`);
  }

  /** Resolves a path the model gave against the shell's current directory. */
  resolve(p: string): string {
    if (p.startsWith('/')) return normalize(p);
    if (p === '~' || p.startsWith('~/')) return normalize(`${AGENT_HOME}${p.slice(1)}`);
    return normalize(`${this._cwd}/${p}`);
  }
}

function normalize(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (!part || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return '/' + out.join('/');
}
