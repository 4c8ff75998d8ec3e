import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listSandboxes } from '../../src/core/sandbox';

/**
 * Every sandbox this test run starts, in this process and in the CLI
 * processes it spawns (they inherit the environment), carries this label,
 * so checks for leftovers ignore other runs on the same engine.
 */
export const TEST_RUN_LABEL = 'ssr.testrun';
if (!/ssr\.testrun=/.test(process.env.SSR_LABELS ?? '')) {
  const tag = `${process.pid}-${crypto.randomBytes(3).toString('hex')}`;
  process.env.SSR_LABELS = [process.env.SSR_LABELS, `${TEST_RUN_LABEL}=${tag}`].filter(Boolean).join(',');
}
export const testRunTag = (/ssr\.testrun=([^,]+)/.exec(process.env.SSR_LABELS!) ?? [])[1];

/** This test run's SSR containers. */
export function ourSandboxes(): Promise<string[]> {
  return listSandboxes({ [TEST_RUN_LABEL]: testRunTag });
}

/** Fails the test if any SSR container of this test run is still around. */
export async function assertNoContainers(): Promise<void> {
  // Auto-removal is asynchronous in the engine: give it a moment.
  for (let i = 0; i < 50; i++) {
    if ((await ourSandboxes()).length === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(await ourSandboxes(), [], 'SSR containers were left behind');
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
