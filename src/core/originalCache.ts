/**
 * The original state's test results, kept for a session: within a session
 * the repository, and so its original results, do not change, while every
 * validation needs them. The key is what the results depend on: the
 * repository's files (paths, sizes and modification times, so an edit made
 * while a session runs is seen), the image, the test script and the parser.
 * With it the original state runs several times per session (to find flaky
 * tests) and costs nothing in later validations.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { ArtifactFiles } from './artifact';
import type { TestResults } from './testRun';
import type { StateRun } from './checks';

export interface CachedOriginal {
  run: StateRun;
  /** Every repetition's results (flaky detection). */
  repetitions: TestResults[];
}

/** An in-memory cache of original-state runs, one per session (or per process). */
export class OriginalRunCache {
  private readonly entries = new Map<string, CachedOriginal>();
  hits = 0;
  misses = 0;

  get(key: string): CachedOriginal | undefined {
    const e = this.entries.get(key);
    if (e) this.hits++;
    else this.misses++;
    return e;
  }

  set(key: string, value: CachedOriginal): void {
    this.entries.set(key, value);
  }
}

const SKIP = new Set(['.git', '.ssr']);

/** Paths, sizes and modification times of every file under a folder. */
async function treeFingerprint(dir: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (d: string): Promise<void> => {
    const entries = await fs.readdir(d, { withFileTypes: true }).catch(() => []);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (d === dir && SKIP.has(e.name)) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        h.update(`d ${path.relative(dir, p)}\n`);
        await walk(p);
      } else {
        const st = await fs.lstat(p).catch(() => undefined);
        h.update(`f ${path.relative(dir, p)} ${st?.size ?? -1} ${st?.mtimeMs ?? -1}\n`);
      }
    }
  };
  await walk(dir);
  return h.digest('hex');
}

/** The cache key of an original-state run. */
export async function originalKey(o: { repoDir?: string; repoInImage?: string; image: string; artifact: ArtifactFiles }): Promise<string> {
  const h = createHash('sha256');
  h.update(`image ${o.image}\n`);
  if (o.repoInImage) h.update(`in-image ${o.repoInImage}\n`);
  if (o.repoDir) h.update(`tree ${path.resolve(o.repoDir)} ${await treeFingerprint(path.resolve(o.repoDir))}\n`);
  h.update(`script ${o.artifact.testScript}\n`);
  h.update(`parser ${o.artifact.testParser}\n`);
  return h.digest('hex');
}
