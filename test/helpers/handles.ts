/**
 * The sockets this process holds open (the ones that keep it alive), read
 * from its handles through scripts/handle-report.cjs, the same code that
 * names them when the test command's watchdog stops a suite that hangs.
 */
import * as net from 'node:net';
import * as path from 'node:path';
import { ROOT } from './paths';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const report = require(path.join(ROOT, 'scripts/handle-report.cjs')) as { openHandles(): unknown[]; describeHandle(h: unknown): string };

/** Open sockets that keep this process alive: to the engine, in a test that talks to no other server. */
export function openEngineSockets(): net.Socket[] {
  return report.openHandles().filter((h): h is net.Socket => h instanceof net.Socket && !h.destroyed);
}

/** Waits until no socket beyond `before` is open; returns the descriptions of those still open after `ms`. */
export async function waitForNoNewSockets(before: Set<unknown>, ms: number): Promise<string[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const extra = openEngineSockets().filter((s) => !before.has(s));
    if (!extra.length) return [];
    if (Date.now() > deadline) return extra.map((s) => report.describeHandle(s));
    await new Promise((r) => setTimeout(r, 100));
  }
}
