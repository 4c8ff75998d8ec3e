/**
 * Errors that callers tell apart. The CLI maps EnvironmentError and
 * UsageError to exit code 2 ("could not run") and prints the message, which
 * always says how to fix the problem.
 */

/** Something outside the artifact is missing or broken: engine, image, disk, Python. */
export class EnvironmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvironmentError';
  }
}

/** Bad arguments or input files given by the user. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The sandbox failed (container died, runner stopped answering). */
export class SandboxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxError';
  }
}

/** The operation was cancelled through its AbortSignal. */
export class CancelledError extends Error {
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'CancelledError';
  }
}

export function isCancelled(err: unknown): boolean {
  return err instanceof CancelledError || (err instanceof Error && err.name === 'AbortError');
}

/**
 * The infrastructure under the work failed: the container engine is gone or
 * refuses requests, a sandbox container was killed or removed from outside,
 * or the disk is full. Never the policy's fault: a session that meets one
 * pauses the unit of work in flight (no reward, no failed check, no
 * "no proposal") and `--resume` redoes it. The CLI exits with code 2.
 *
 * What counts (`isInfrastructureFailure`):
 * - an `InfrastructureError`, or an `EnvironmentError` (engine, image, Python missing);
 * - the engine cannot be reached: ENOENT, ECONNREFUSED, ECONNRESET, EPIPE,
 *   ETIMEDOUT or EACCES on the connection to its socket or address;
 * - the engine answers with a 5xx status (it failed, not the request);
 * - no space left on device: ENOSPC on the host, the runner's `[Errno 28]` answer in a sandbox
 *   (an engine that cannot write answers 5xx);
 * - a sandbox whose container stopped, lost its connection or was removed
 *   while SSR still used it (`sandbox <id> stopped|connection failed|was removed`).
 *   The tested code runs as an unprivileged user and cannot stop the runner,
 *   so a container that dies under SSR was stopped by the engine or by
 *   someone outside. The one exception, the kernel's out-of-memory killer
 *   choosing the runner, needs the engine: `classifyFailure` asks it.
 *
 * What never counts: a command that fails, times out or is killed inside a
 * healthy sandbox (its exit code is the artifact's business), the runner's
 * own answers (a process limit reached, a bad path), an unresponsive runner
 * removed by SSR's host-side timeout, and cancellation.
 */
export class InfrastructureError extends Error {
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
    this.name = 'InfrastructureError';
  }
}

const ENGINE_CONNECT_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EACCES', 'EHOSTUNREACH']);
/** The messages DockerSandbox gives when its container died under it (the id is the container's 12 hex digits). */
const SANDBOX_DIED = /^sandbox ([0-9a-f]{12}) (stopped|connection failed|was removed)\b/;
/**
 * The runner's answer when the disk is full ("OSError: [Errno 28] No space left on device"). Anchored at the
 * start, which is the exception's type: a path the model chose (which may contain any words) comes later.
 */
const RUNNER_NO_SPACE = /^\w+: \[Errno (28|122)\] /;

interface ErrLike {
  message?: unknown;
  code?: unknown;
  syscall?: unknown;
  address?: unknown;
  statusCode?: unknown;
  errno?: unknown;
}

function fields(err: unknown): ErrLike | undefined {
  return err !== null && typeof err === 'object' ? (err as ErrLike) : undefined;
}

/** The id of the sandbox container whose death the error reports, if it reports one. */
export function diedSandboxId(err: unknown): string | undefined {
  const e = fields(err);
  if (!(err instanceof SandboxError) || typeof e?.message !== 'string') return undefined;
  return SANDBOX_DIED.exec(e.message)?.[1];
}

/** Why the error is an infrastructure failure, in words, or undefined when it is not one. */
function infrastructureReason(err: unknown, depth = 0): string | undefined {
  const e = fields(err);
  if (!e || depth > 4) return undefined;
  if (isCancelled(err)) return undefined;
  const message = typeof e.message === 'string' ? e.message : '';
  if (err instanceof InfrastructureError) return message;
  if (err instanceof EnvironmentError) return message;
  if (typeof e.code === 'string' && e.code === 'ENOSPC') return `no space left on device (${message})`;
  if (typeof e.code === 'string' && ENGINE_CONNECT_CODES.has(e.code) && (e.syscall === 'connect' || /\bconnect\b/.test(message))) {
    return `the container engine cannot be reached (${message})`;
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 500 && e.statusCode <= 599) {
    return `the container engine failed (HTTP ${e.statusCode}: ${message})`;
  }
  if (err instanceof SandboxError && SANDBOX_DIED.test(message)) return `the sandbox container died under SSR (${message})`;
  if (err instanceof SandboxError && RUNNER_NO_SPACE.test(message)) return `no space left on device (${message})`;
  const cause = (err as { cause?: unknown }).cause;
  if (cause !== undefined && cause !== err) return infrastructureReason(cause, depth + 1);
  return undefined;
}

/** Whether the error is the infrastructure's fault (engine, container, disk), never the policy's. */
export function isInfrastructureFailure(err: unknown): boolean {
  return infrastructureReason(err) !== undefined;
}

/** The error as an InfrastructureError when it is an infrastructure failure (the same object when it already is one). */
export function asInfrastructureError(err: unknown): InfrastructureError | undefined {
  if (err instanceof InfrastructureError) return err;
  const reason = infrastructureReason(err);
  return reason === undefined ? undefined : new InfrastructureError(reason, err);
}

/** The part of a Docker client the async classifier uses (dockerode's Docker satisfies it). */
export interface EngineProbe {
  ping(): Promise<unknown>;
  getEvents?(opts: { since?: number; until?: number; filters?: string | Record<string, string[]> }): Promise<NodeJS.ReadableStream>;
}

/**
 * Like asInfrastructureError, and it asks the engine when the answer depends on it:
 * - any error at all while the engine does not answer a ping is infrastructure
 *   (a failed command in a sandbox whose engine just went away proves nothing);
 * - a sandbox that died while the engine is healthy is infrastructure unless
 *   the engine recorded that the kernel's out-of-memory killer hit that container:
 *   then the tested code used the memory, and the failure is the artifact's.
 * Cancellation is never infrastructure.
 */
export async function classifyFailure(err: unknown, engine?: EngineProbe): Promise<InfrastructureError | undefined> {
  if (isCancelled(err)) return undefined;
  const sync = asInfrastructureError(err);
  if (!engine) return sync;
  let healthy = true;
  try {
    await engine.ping();
  } catch (pingErr) {
    healthy = false;
    const why = pingErr instanceof Error ? pingErr.message : String(pingErr);
    if (sync) return sync;
    return new InfrastructureError(`the container engine cannot be reached (${why})`, err);
  }
  const died = diedSandboxId(err);
  if (healthy && died && engine.getEvents && (await oomKilled(engine, died))) return undefined;
  return sync;
}

/** Whether the engine's recent events hold an out-of-memory kill of that container. */
async function oomKilled(engine: EngineProbe, containerId: string): Promise<boolean> {
  const now = Math.floor(Date.now() / 1000);
  let stream: NodeJS.ReadableStream;
  try {
    stream = await engine.getEvents!({
      since: now - 3600,
      until: now + 1,
      filters: { type: ['container'], event: ['oom'] },
    });
  } catch {
    return false;
  }
  let text = '';
  try {
    for await (const chunk of stream as AsyncIterable<Buffer | string>) text += chunk.toString();
  } catch {
    return false;
  } finally {
    // The events connection is ours: closed whether the engine ended it or not.
    (stream as { destroy?: () => void }).destroy?.();
  }
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const ev = JSON.parse(line) as { id?: string; Actor?: { ID?: string } };
      const id = ev.Actor?.ID ?? ev.id ?? '';
      if (id.startsWith(containerId)) return true;
    } catch {
      /* not an event */
    }
  }
  return false;
}

/** The words a person reads for an infrastructure failure. */
export function infrastructureMessage(err: unknown): string {
  const infra = asInfrastructureError(err);
  return infra ? infra.message : err instanceof Error ? err.message : String(err);
}
