/**
 * The judge's Go helper (`go/`: standard library only): the behaviour-neutral
 * comparison of Go files (neutral.ts) and the planting of canaries and twins
 * into Go test files (canaries.ts), on go/ast. Compiled with the image's own
 * Go inside the sandbox; the binary is static, so it is built once per Go
 * version, kept on the host, and copied into later sandboxes.
 */
import type { SandboxLike } from '../sandbox/types';
import MAIN_GO from './go/ssr_judge.go';
import NORMALISE_GO from './go/normalise.go';
import PLANT_GO from './go/plant.go';

const DIR = '/ssr/tmp/judge-go';
const BIN = `${DIR}/ssrjudge`;
const GO_ENV = 'export GOFLAGS= GOTOOLCHAIN=local GOPROXY=off GOWORK=off CGO_ENABLED=0';
const SOURCES: Record<string, string> = { 'main.go': MAIN_GO, 'normalise.go': NORMALISE_GO, 'plant.go': PLANT_GO };
/** Go version line -> the compiled helper. */
const built = new Map<string, Buffer>();
/** Sandboxes that already hold the helper. */
const placed = new WeakSet<SandboxLike>();

export const isGo = (p: string): boolean => p.endsWith('.go');

/** The helper in the sandbox; why not, when it cannot be had (no Go, a build error). */
async function ensureHelper(sb: SandboxLike, signal?: AbortSignal): Promise<string | undefined> {
  if (placed.has(sb)) return undefined;
  const v = await sb.exec(`command -v go >/dev/null || exit 127; ${GO_ENV}; go version`, { cwd: '/', timeoutMs: 30_000, signal });
  if (v.exitCode === 127) return 'the image has no Go';
  if (v.exitCode !== 0) return `go version failed: ${v.stderr.trim().slice(-300)}`;
  const key = v.stdout.trim();
  const bin = built.get(key);
  if (bin) {
    await sb.writeFile(BIN, bin, 0o700);
  } else {
    for (const [name, text] of Object.entries(SOURCES)) await sb.writeFile(`${DIR}/${name}`, text, 0o600);
    await sb.writeFile(`${DIR}/go.mod`, 'module ssrjudge\n\ngo 1.18\n', 0o600);
    const b = await sb.exec(`${GO_ENV}; cd ${DIR} && go build -o ssrjudge . 2>&1`, { cwd: '/', timeoutMs: 300_000, signal });
    if (b.exitCode !== 0) return `the judge's Go helper does not build with the image's Go: ${(b.stdout + b.stderr).trim().slice(-500)}`;
    built.set(key, await sb.readFile(BIN));
  }
  placed.add(sb);
  return undefined;
}

/** Runs one command of the helper as root (`neutral` or `plant`), the request on stdin; its JSON answer, or why not. */
export async function goJudge<T>(sb: SandboxLike, cmd: 'neutral' | 'plant', request: unknown, opts: { cwd?: string; signal?: AbortSignal } = {}): Promise<T | string> {
  const missing = await ensureHelper(sb, opts.signal);
  if (missing) return missing;
  const r = await sb.exec(`${BIN} ${cmd}`, { cwd: opts.cwd ?? '/', stdin: JSON.stringify(request), timeoutMs: 60_000, maxOutputBytes: 4 << 20, signal: opts.signal });
  try {
    if (r.exitCode !== 0) throw new Error(r.stderr.trim().slice(-300) || `exit ${r.exitCode}`);
    return JSON.parse(r.stdout) as T;
  } catch (err) {
    return `the judge's Go helper failed: ${(err as Error).message}`;
  }
}
