/**
 * The sandboxes of this process: the live ones and the containers the engine
 * is creating right now, all removed by disposeAll() and on SIGINT/SIGTERM
 * (then no new container is made).
 */
import type Docker from 'dockerode';

/** What this module needs of a sandbox. */
interface Disposable {
  dispose(): Promise<void>;
}

/** Sandboxes of this process still alive: removed on SIGINT/SIGTERM and by disposeAll(). */
const live = new Set<Disposable>();
/**
 * Containers the engine is creating right now: a signal that arrives while a
 * creation is in flight must remove that container too, or it stays behind
 * in the Created state (auto-removal applies only once a container ran).
 */
export const creating = new Set<Promise<Docker.Container>>();
let signalHandlersInstalled = false;
/** A signal is taking the process down: no new container is made. */
let closing = false;

export function installSignalHandlers(): void {
  if (signalHandlersInstalled) return;
  signalHandlersInstalled = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      closing = true;
      void disposeAll().finally(() => {
        // Re-raise with the default behaviour once our containers are gone.
        process.kill(process.pid, sig);
      });
    });
  }
}

export async function disposeAll(): Promise<void> {
  await Promise.allSettled([...live].map((s) => s.dispose()));
  // Creations already sent to the engine: remove what they make (until none is left in flight).
  while (creating.size) {
    await Promise.allSettled(
      [...creating].map(async (p) => {
        const c = await p;
        await c.remove({ force: true }).catch(() => undefined);
      }),
    );
  }
}

export function liveSandboxCount(): number {
  return live.size;
}

/** A signal is taking the process down. */
export function isClosing(): boolean {
  return closing;
}

export function track(sb: Disposable): void {
  live.add(sb);
}

export function untrack(sb: Disposable): void {
  live.delete(sb);
}
