/**
 * Test helper: builds (once, cached) the tiny Llama model with
 * scripts/make-tiny-model.sh and returns its folder, or null when this
 * machine's Python has no PyTorch (the suite then skips with a message).
 *
 * Folder: $SSR_TINY_MODEL_DIR, else <os.tmpdir()>/ssr-tiny-model. The script is
 * idempotent (stamp of the sources) and serialised with a lock file.
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const PYTHON = process.env.SSR_PYTHON ?? '/usr/bin/python3';

let cached: { dir: string | null; reason?: string } | undefined;

export function tinyModelDir(): string {
  return process.env.SSR_TINY_MODEL_DIR ?? path.join(os.tmpdir(), 'ssr-tiny-model');
}

export function ensureTinyModel(): { dir: string | null; reason?: string } {
  if (cached) return cached;
  const dir = tinyModelDir();
  const res = spawnSync('bash', [path.join(REPO_ROOT, 'scripts', 'make-tiny-model.sh'), dir], {
    encoding: 'utf8',
    env: { ...process.env, SSR_PYTHON: PYTHON },
    timeout: 180_000,
  });
  if (res.status === 3) {
    cached = { dir: null, reason: res.stderr.trim() };
  } else if (res.status !== 0) {
    throw new Error(`make-tiny-model.sh failed (${res.status ?? res.signal}): ${res.stderr}`);
  } else {
    cached = { dir };
  }
  return cached;
}

/** Runs `python3 -m ssr_runtime.<module> ...args` from runtime/ and returns stdout. */
export function runPython(args: string[], input?: string): string {
  const res = spawnSync(PYTHON, args, { cwd: path.join(REPO_ROOT, 'runtime'), encoding: 'utf8', input, timeout: 120_000, maxBuffer: 256 * 1024 * 1024 });
  if (res.status !== 0) throw new Error(`${PYTHON} ${args.join(' ')} failed: ${res.stderr}`);
  return res.stdout;
}
