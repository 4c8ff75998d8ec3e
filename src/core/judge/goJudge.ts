/**
 * The judge's Go helper (`go/`: standard library only): the behaviour-neutral
 * comparison of Go files (neutral.ts) and the planting of canaries and twins
 * into Go test files (canaries.ts), on go/ast. Built with the image's own Go
 * inside the sandbox, once per Go version (sandbox/goProgram.ts).
 */
import type { SandboxLike } from '../sandbox/types';
import { ensureGoProgram, type GoProgram } from '../sandbox/goProgram';
import MAIN_GO from './go/ssr_judge.go';
import NORMALISE_GO from './go/normalise.go';
import PLANT_GO from './go/plant.go';

const PROGRAM: GoProgram = {
  dir: '/ssr/tmp/judge-go',
  binary: 'ssrjudge',
  module: 'ssrjudge',
  sources: { 'main.go': MAIN_GO, 'normalise.go': NORMALISE_GO, 'plant.go': PLANT_GO },
  what: "the judge's Go helper",
};

export const isGo = (p: string): boolean => p.endsWith('.go');

/** Runs one command of the helper as root (`neutral` or `plant`), the request on stdin; its JSON answer, or why not. */
export async function goJudge<T>(sb: SandboxLike, cmd: 'neutral' | 'plant', request: unknown, opts: { cwd?: string; signal?: AbortSignal } = {}): Promise<T | string> {
  const bin = await ensureGoProgram(sb, PROGRAM, opts.signal);
  if ('error' in bin) return bin.error;
  const r = await sb.exec(`${bin.path} ${cmd}`, { cwd: opts.cwd ?? '/', stdin: JSON.stringify(request), timeoutMs: 60_000, maxOutputBytes: 4 << 20, signal: opts.signal });
  try {
    if (r.exitCode !== 0) throw new Error(r.stderr.trim().slice(-300) || `exit ${r.exitCode}`);
    return JSON.parse(r.stdout) as T;
  } catch (err) {
    return `the judge's Go helper failed: ${(err as Error).message}`;
  }
}
