/**
 * What the bootstrap proposer learns about a repository's suite before it
 * mutates anything (framework, the passing tests, the script and parser,
 * the coverage trace's targets), kept for the process so that the next
 * proposal on the same tree and image skips the two original runs and the
 * trace. Keyed by the repository's files (path, size, modification time),
 * the image and the options that change the answer; a changed file is a
 * new key. SSR_SUITE_CACHE=0 turns it off (the benchmark's "before").
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

const SKIP = new Set(['.git', '.ssr', 'node_modules', '__pycache__', '.pytest_cache', '.tox', '.nox', '.venv']);

export function treeKey(repoDir: string, extra: string[]): string {
  const h = createHash('sha256');
  for (const e of extra) h.update(`${e}\0`);
  const visit = (rel: string) => {
    const entries = fs.readdirSync(path.join(repoDir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      if (SKIP.has(e.name)) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) visit(r);
      else {
        const st = fs.lstatSync(path.join(repoDir, r));
        h.update(`${r}\0${st.size}\0${st.mtimeMs}\0`);
      }
    }
  };
  visit('');
  return h.digest('hex');
}

const cache = new Map<string, unknown>();

/** Forgets every suite learned in this process (the benchmark starts each session cold). */
export function clearSuiteCache(): void {
  cache.clear();
}

export function suiteCacheEnabled(): boolean {
  return process.env.SSR_SUITE_CACHE !== '0';
}

export function getSuite<T>(key: string): T | undefined {
  return cache.get(key) as T | undefined;
}

export function putSuite<T>(key: string, value: T): void {
  if (cache.size > 32) cache.delete(cache.keys().next().value as string);
  cache.set(key, value);
}
