import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listSandboxes } from '../../src/core/sandbox';

/** Fails the test if any SSR container is still around. */
export async function assertNoContainers(): Promise<void> {
  // Auto-removal is asynchronous in the engine: give it a moment.
  for (let i = 0; i < 50; i++) {
    if ((await listSandboxes()).length === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(await listSandboxes(), [], 'SSR containers were left behind');
}

/** A hash of every file under a folder (paths and contents), to prove it was not modified. */
export function hashTree(dir: string): string {
  const h = crypto.createHash('sha256');
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      h.update(path.relative(dir, p));
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) h.update(fs.readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}
