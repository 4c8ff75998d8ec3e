/**
 * One call of a bootstrap helper inside a sandbox (the Python one, the Go
 * one): a JSON request on stdin, one JSON object on stdout; no answer, or an
 * `error` field, is a SandboxError naming the helper and its command.
 */
import type { SandboxLike } from '../sandbox/types';
import { SandboxError } from '../base/errors';

export async function callHelper<T>(
  sb: SandboxLike,
  what: string,
  command: string,
  cmd: string,
  req: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<T> {
  const r = await sb.exec(command, {
    stdin: JSON.stringify({ root: sb.repoPath, ...req }),
    timeoutMs: 180_000,
    signal,
    maxOutputBytes: 16 << 20,
  });
  let out: Record<string, unknown>;
  try {
    out = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    throw new SandboxError(`the ${what} (${cmd}) gave no answer (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim().slice(-1500)}`);
  }
  if (typeof out.error === 'string') {
    throw new SandboxError(`the ${what} (${cmd}) failed: ${out.error}${out.trace ? `\n${String(out.trace)}` : ''}`);
  }
  return out as T;
}
