/**
 * Go files for the behaviour-neutral check (neutral.ts): the judge's own
 * comparison on go/ast (`go/ssr_neutral.go`, `go/normalise.go`, standard
 * library only), compiled with the image's own Go inside the validation
 * sandbox. The binary is static: built once per Go version, then kept on the
 * host and copied into later sandboxes instead of compiled again.
 */
import type { SandboxLike } from '../sandbox/types';
import type { FileStates } from '../sandbox/baseline';
import type { NeutralVerdict } from './neutralJs';
import MAIN_GO from './go/ssr_neutral.go';
import NORMALISE_GO from './go/normalise.go';

const DIR = '/ssr/tmp/neutral-go';
const BIN = `${DIR}/ssrneutral`;
const GO_ENV = 'export GOFLAGS= GOTOOLCHAIN=local GOPROXY=off GOWORK=off CGO_ENABLED=0';
/** Go version line -> the compiled comparison. */
const built = new Map<string, Buffer>();

export const isGo = (p: string): boolean => p.endsWith('.go');

/** The comparison's binary in the sandbox; why not, when it cannot be had. */
async function ensureBinary(sb: SandboxLike, signal?: AbortSignal): Promise<string | undefined> {
  const v = await sb.exec(`command -v go >/dev/null || exit 127; ${GO_ENV}; go version`, { cwd: '/', timeoutMs: 30_000, signal });
  if (v.exitCode === 127) return 'the image has no Go';
  if (v.exitCode !== 0) return `go version failed: ${v.stderr.trim().slice(-300)}`;
  const key = v.stdout.trim();
  const bin = built.get(key);
  if (bin) {
    await sb.writeFile(BIN, bin, 0o700);
    return undefined;
  }
  await sb.writeFile(`${DIR}/main.go`, MAIN_GO, 0o600);
  await sb.writeFile(`${DIR}/normalise.go`, NORMALISE_GO, 0o600);
  await sb.writeFile(`${DIR}/go.mod`, 'module ssrneutral\n\ngo 1.18\n', 0o600);
  const b = await sb.exec(`${GO_ENV}; cd ${DIR} && go build -o ssrneutral . 2>&1`, { cwd: '/', timeoutMs: 300_000, signal });
  if (b.exitCode !== 0) return `the comparison does not build with the image's Go: ${(b.stdout + b.stderr).trim().slice(-500)}`;
  built.set(key, await sb.readFile(BIN));
  return undefined;
}

/** Go files compared in the sandbox, as root, from the comparison's standard input. */
export async function compareGo(sb: SandboxLike, files: FileStates[], signal?: AbortSignal): Promise<NeutralVerdict[] | string> {
  if (!files.length) return [];
  const missing = await ensureBinary(sb, signal);
  if (missing) return missing;
  const r = await sb.exec(BIN, { cwd: '/', stdin: JSON.stringify({ files }), timeoutMs: 60_000, maxOutputBytes: 4 << 20, signal });
  try {
    if (r.exitCode !== 0) throw new Error(r.stderr.trim().slice(-300) || `exit ${r.exitCode}`);
    return (JSON.parse(r.stdout) as { results: NeutralVerdict[] }).results;
  } catch (err) {
    return `the comparison failed: ${(err as Error).message}`;
  }
}
