/**
 * Test results kept for a session, so no state is run twice for the same
 * answer.
 *
 * - The original state: within a session the repository, and so its
 *   original results, do not change, while every validation needs them.
 *   The key is what the results depend on: the repository's files (paths,
 *   sizes and modification times, so an edit made while a session runs is
 *   seen), the image, the test script and the parser. The original state
 *   runs several times once per session (to find flaky tests) and costs
 *   nothing in later validations.
 * - The buggy and weakened states the bootstrap proposer ran itself: the
 *   proposer is SSR's own code, and it runs those states with the judge's
 *   runner (runTests: the unprivileged test user, the root-only log), the
 *   same script, parser, image and tree, on a baseline reset like
 *   validation's, so its results are what validation would get. Keyed by
 *   the original's key and the exact diffs applied. A policy's runs never
 *   enter this cache: whatever a model ran in its own shell is not evidence.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { ArtifactFiles } from '../artifact/artifact';
import type { ReporterRecords, TestResults } from './testRun';
import type { StateRun } from './stateRun';

export interface CachedOriginal {
  run: StateRun;
  /** Every repetition's results (flaky detection). */
  repetitions: TestResults[];
  /** Fewer repetitions than validation wants (the proposer's one run): validation runs the rest. */
  partial?: boolean;
}

/** A judged run of a mutated state, made by SSR's bootstrap proposer. */
export interface CachedStateRun {
  results: TestResults;
  durationMs: number;
  logTail: string;
  /** What the judge's pytest reporter saw in that run. */
  reporter?: ReporterRecords;
}

/** An in-memory cache of a session's runs (or a process's). */
export class RunCache {
  private readonly entries = new Map<string, CachedOriginal>();
  private readonly states = new Map<string, CachedStateRun>();
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

  /** The proposer's judged run of the original: one repetition, unless validation already ran them all. */
  seedOriginal(key: string, run: CachedStateRun): void {
    if (this.entries.has(key)) return;
    this.entries.set(key, {
      run: { state: 'original', ok: true, results: { ...run.results }, durationMs: run.durationMs, repetitions: 1, logTail: run.logTail, reporter: run.reporter },
      repetitions: [run.results],
      partial: true,
    });
  }

  /** The proposer's run of the state the diffs make from the original (`key`: originalKey). */
  getState(key: string, diffs: string[]): CachedStateRun | undefined {
    const e = this.states.get(stateKey(key, diffs));
    if (e) this.hits++;
    else this.misses++;
    return e;
  }

  setState(key: string, diffs: string[], run: CachedStateRun): void {
    // A session's proposals are few; a long session keeps at most the last few hundred.
    if (this.states.size >= 512) this.states.delete(this.states.keys().next().value as string);
    this.states.set(stateKey(key, diffs), run);
  }
}

function stateKey(originalKey: string, diffs: string[]): string {
  const h = createHash('sha256');
  h.update(`original ${originalKey}\n`);
  for (const d of diffs) h.update(`diff ${d.length}\n${d}`);
  return h.digest('hex');
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
