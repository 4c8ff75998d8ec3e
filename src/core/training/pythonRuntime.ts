/**
 * Spawning the Python runtime bundled in runtime/: finds the folder that
 * holds ssr_runtime/ and an interpreter with torch, starts
 * `python -m ssr_runtime.<module>` in its own process group with PYTHONPATH
 * on the runtime, reads its stdout and stderr line by line, and kills the
 * whole group when asked.
 *
 * Which Python: `opts.python`, else $SSR_PYTHON, else /usr/bin/python3 when
 * it can import torch (Debian's python3-torch lives there), else `python3`.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { EnvironmentError } from '../base/errors';

export interface RuntimeOptions {
  /** Python interpreter; default $SSR_PYTHON, else /usr/bin/python3 when it has torch, else python3. */
  python?: string;
  /** The folder holding ssr_runtime/ (default: the bundled runtime/, found next to this file or dist/). */
  runtimeDir?: string;
  /** Extra environment for the process (merged over process.env). */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

const MARKER = path.join('ssr_runtime', 'train.py');

function isRuntimeDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, MARKER));
}

/** Looks for `runtime/ssr_runtime/train.py` next to each start folder and up to five parents up. */
export function findRuntimeDir(starts: string[]): string | null {
  for (const start of starts) {
    let dir = path.resolve(start);
    for (let i = 0; i < 6; i++) {
      const cand = path.basename(dir) === 'runtime' ? dir : path.join(dir, 'runtime');
      if (isRuntimeDir(cand)) return cand;
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return null;
}

/**
 * The folder holding ssr_runtime/: `explicit`, else $SSR_RUNTIME_DIR, else a `runtime/` folder
 * next to this file or one of its parents (src/core/training/pythonRuntime.ts under tsx -> ../../runtime;
 * a bundled dist/cli.js or dist/extension.js -> ../runtime), else near the main script.
 */
export function resolveRuntimeDir(explicit?: string): string {
  const given = explicit ?? process.env.SSR_RUNTIME_DIR;
  if (given) {
    const abs = path.resolve(given);
    if (!isRuntimeDir(abs)) throw new EnvironmentError(`runtime folder ${abs} does not hold ${MARKER}`);
    return abs;
  }
  const starts = [__dirname];
  if (process.argv[1]) starts.push(path.dirname(path.resolve(process.argv[1])));
  const found = findRuntimeDir(starts);
  if (found) return found;
  throw new EnvironmentError(
    `cannot find the bundled Python runtime (runtime/${MARKER}) near ${__dirname}; pass runtimeDir or set SSR_RUNTIME_DIR`,
  );
}

const SYSTEM_PYTHON = '/usr/bin/python3';
let pythonPromise: Promise<string> | undefined;

function canImportTorch(python: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(python, ['-c', 'import torch'], { timeout: 60_000 }, (err) => resolve(!err));
  });
}

/** The interpreter to run the runtime with: $SSR_PYTHON, else /usr/bin/python3 if it has torch, else python3. Cached. */
export function resolvePython(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.SSR_PYTHON) return Promise.resolve(env.SSR_PYTHON);
  pythonPromise ??= (async () => {
    if (fs.existsSync(SYSTEM_PYTHON) && (await canImportTorch(SYSTEM_PYTHON))) return SYSTEM_PYTHON;
    return 'python3';
  })();
  return pythonPromise;
}

function runtimeEnv(runtimeDir: string, extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  // The trainer stops by itself when this process dies (it runs in its own process group).
  const base: NodeJS.ProcessEnv = { ...process.env, SSR_TRAIN_PARENT_PID: String(process.pid), ...extra };
  const prev = base.PYTHONPATH;
  return {
    ...base,
    PYTHONPATH: prev ? `${runtimeDir}${path.delimiter}${prev}` : runtimeDir,
    PYTHONUNBUFFERED: '1',
    PYTHONIOENCODING: 'utf-8',
  };
}

const STDERR_KEEP = 40;

export function killTree(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  try {
    if (process.platform !== 'win32') process.kill(-child.pid, sig);
    else child.kill(sig);
  } catch {
    try {
      child.kill(sig);
    } catch {
      /* already gone */
    }
  }
}

export interface Spawned {
  child: ChildProcess;
  stderrTail: string[];
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnRuntime(
  python: string,
  args: string[],
  runtimeDir: string,
  env: NodeJS.ProcessEnv | undefined,
  onLine: (line: string) => void,
  onStderr?: (line: string) => void,
): Spawned {
  const child = spawn(python, args, {
    env: runtimeEnv(runtimeDir, env),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: process.platform !== 'win32', // own process group: abort kills its children too
  });
  const stderrTail: string[] = [];
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'ENOENT'
          ? new EnvironmentError(
              `cannot run ${python}: not found. Install Python 3 with PyTorch (apt-get install python3-torch, or pip install torch) or set SSR_PYTHON`,
            )
          : new EnvironmentError(`cannot run ${python}: ${err.message}`),
      );
    });
    const out = readline.createInterface({ input: child.stdout! });
    const errs = readline.createInterface({ input: child.stderr! });
    out.on('line', onLine);
    errs.on('line', (line) => {
      stderrTail.push(line);
      if (stderrTail.length > STDERR_KEEP) stderrTail.shift();
      onStderr?.(line);
    });
    let closed = 0;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const finish = () => {
      if (closed < 2 || !exit) return;
      resolve(exit);
    };
    out.once('close', () => {
      closed++;
      finish();
    });
    errs.once('close', () => {
      closed++;
      finish();
    });
    child.once('close', (code, signal) => {
      exit = { code, signal };
      // readline may close before or after the child; wait for both.
      finish();
    });
  });
  return { child, stderrTail, done };
}
