/**
 * SSR's own Go programs (the bootstrap's helper, the judge's helper), built
 * inside a sandbox with the image's own Go (standard library only, no
 * network, no cgo). The binary is static: it is built once per program and
 * Go version, kept on the host, and copied into later sandboxes instead of
 * compiled again (a build is about 10 s).
 */
import { createHash } from 'node:crypto';
import type { SandboxLike } from './types';

export interface GoProgram {
  /** Root-owned folder in the sandbox for its sources and binary. */
  dir: string;
  /** The binary's file name in `dir`. */
  binary: string;
  /** Its go.mod module name. */
  module: string;
  /** File name -> source. */
  sources: Record<string, string>;
  /** Its name for people, in messages ("the Go bootstrap helper"). */
  what: string;
}

const GO_ENV = 'export GOFLAGS= GOTOOLCHAIN=local GOPROXY=off GOWORK=off CGO_ENABLED=0';
/** (program, Go version) -> the built binary. */
const built = new Map<string, Buffer>();
/** Sandboxes that already hold a program's binary. */
const placed = new WeakMap<SandboxLike, Set<string>>();

function programKey(p: GoProgram): string {
  const h = createHash('sha256').update(p.module);
  for (const [name, text] of Object.entries(p.sources).sort()) h.update(`\0${name}\0${text}`);
  return h.digest('hex');
}

/** Builds (or copies) the program into the sandbox; returns its binary's path, or why not (no Go, a build error). */
export async function ensureGoProgram(sb: SandboxLike, p: GoProgram, signal?: AbortSignal): Promise<{ path: string } | { error: string }> {
  const path = `${p.dir}/${p.binary}`;
  const mine = placed.get(sb) ?? placed.set(sb, new Set()).get(sb)!;
  if (mine.has(path)) return { path };
  const v = await sb.exec(`command -v go >/dev/null || exit 127; ${GO_ENV}; go version`, { cwd: '/', timeoutMs: 30_000, signal });
  if (v.exitCode === 127) return { error: 'the image has no Go' };
  if (v.exitCode !== 0) return { error: `go version failed: ${v.stderr.trim().slice(-300)}` };
  const key = `${programKey(p)} ${v.stdout.trim()}`;
  const bin = built.get(key);
  if (bin) {
    await sb.writeFile(path, bin, 0o755);
  } else {
    for (const [name, text] of Object.entries(p.sources)) await sb.writeFile(`${p.dir}/${name}`, text, 0o644);
    await sb.writeFile(`${p.dir}/go.mod`, `module ${p.module}\n\ngo 1.18\n`, 0o644);
    const b = await sb.exec(`${GO_ENV}; cd ${p.dir} && go build -o ${p.binary} . 2>&1`, { cwd: '/', timeoutMs: 300_000, signal });
    if (b.exitCode !== 0) return { error: `${p.what} does not build with the image's Go: ${(b.stdout + b.stderr).trim().slice(-1500)}` };
    built.set(key, await sb.readFile(path));
  }
  mine.add(path);
  return { path };
}
