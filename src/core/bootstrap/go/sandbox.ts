/**
 * The Go side of the bootstrap proposer, in a sandbox that has Go: a small
 * helper on the standard library's go/ast and go/parser (./ssr_go.go),
 * compiled once per sandbox with the image's own Go, lists the functions of
 * the non-test sources (covered by `go test -coverprofile`, or named in the
 * tests), mutates one (its body replaced by a return of zero values, or one
 * if condition negated), and deletes test functions for the weakening.
 */
import type { SandboxLike } from '../../sandbox/types';
import { SandboxError } from '../../base/errors';
import { callHelper } from '../helperCall';
import GO_SOURCE from './ssr_go.go';

export const GO_HELPER_DIR = '/ssr/bootstrap/go';
const built = new WeakSet<SandboxLike>();

async function ensureBuilt(sb: SandboxLike, signal?: AbortSignal): Promise<void> {
  if (built.has(sb)) return;
  await sb.writeFile(`${GO_HELPER_DIR}/main.go`, GO_SOURCE, 0o644);
  await sb.writeFile(`${GO_HELPER_DIR}/go.mod`, 'module ssrgo\n\ngo 1.18\n', 0o644);
  const r = await sb.exec(`cd ${GO_HELPER_DIR} && GOFLAGS= GOTOOLCHAIN=local GOPROXY=off GOWORK=off go build -o ssrgo . 2>&1`, { timeoutMs: 300_000, signal });
  if (r.exitCode !== 0) throw new SandboxError(`the Go bootstrap helper does not build with the image's Go: ${(r.stdout + r.stderr).trim().slice(-1500)}`);
  built.add(sb);
}

/** Runs one helper command (targets, mutate, weaken) on the sandbox's repository. */
export async function goHelper<T>(sb: SandboxLike, cmd: 'targets' | 'mutate' | 'weaken', req: Record<string, unknown>, signal?: AbortSignal): Promise<T> {
  await ensureBuilt(sb, signal);
  return callHelper<T>(sb, 'Go bootstrap helper', `${GO_HELPER_DIR}/ssrgo ${cmd}`, cmd, req, signal);
}
