/**
 * The Go side of the bootstrap proposer, in a sandbox that has Go: a small
 * helper on the standard library's go/ast and go/parser (./ssr_go.go), built
 * with the image's own Go (sandbox/goProgram.ts), lists the functions of
 * the non-test sources (covered by `go test -coverprofile`, or named in the
 * tests), mutates one (its body replaced by a return of zero values, or one
 * if condition negated), and deletes test functions for the weakening.
 */
import type { SandboxLike } from '../../sandbox/types';
import { SandboxError } from '../../base/errors';
import { ensureGoProgram, type GoProgram } from '../../sandbox/goProgram';
import { callHelper } from '../helperCall';
import GO_SOURCE from './ssr_go.go';

export const GO_HELPER_DIR = '/ssr/bootstrap/go';
const PROGRAM: GoProgram = { dir: GO_HELPER_DIR, binary: 'ssrgo', module: 'ssrgo', sources: { 'main.go': GO_SOURCE }, what: 'the Go bootstrap helper' };

/** Runs one helper command (targets, mutate, weaken) on the sandbox's repository. */
export async function goHelper<T>(sb: SandboxLike, cmd: 'targets' | 'mutate' | 'weaken', req: Record<string, unknown>, signal?: AbortSignal): Promise<T> {
  const bin = await ensureGoProgram(sb, PROGRAM, signal);
  if ('error' in bin) throw new SandboxError(bin.error);
  return callHelper<T>(sb, 'Go bootstrap helper', `${bin.path} ${cmd}`, cmd, req, signal);
}
