/**
 * The JavaScript/TypeScript side of the bootstrap proposer, in a sandbox:
 * targets (functions of the non-test sources, covered ones first), one
 * mutation, and test deletion, all on @babel/parser ASTs (./ast.ts,
 * ./testDeletion.ts). The sandbox's Python helper only lists files and
 * reads the V8 coverage.
 */
import { seededRandom } from '../../base/random';
import type { SandboxLike } from '../../sandbox/types';
import { listFunctions, mutate, strategiesOf } from './ast';
import { deleteTests, referencedNames } from './testDeletion';

export type Helper = <T>(cmd: string, req: Record<string, unknown>) => Promise<T>;

export interface JsTarget {
  file: string;
  symbol: string;
  line: number;
  covered: boolean;
  referenced: boolean;
  strategies: { body: boolean; branch: number; block: number };
  size: number;
}

const MAX_SOURCES = 400;
const MAX_BYTES = 400_000;

export async function jsTargets(sb: SandboxLike, helper: Helper, testFiles: string[], covDir: string): Promise<{ targets: JsTarget[]; coverage: boolean }> {
  const info = await helper<{ covered: Array<[string, string]>; coverage: boolean; sources: string[] }>('jsinfo', { testFiles, covDir });
  const covered = new Set(info.covered.map(([f, n]) => `${f}\0${n}`));
  const refs = new Set<string>();
  for (const f of testFiles.slice(0, 200)) {
    try {
      for (const n of referencedNames(f, (await sb.readFile(f)).toString('utf8'))) refs.add(n);
    } catch {
      // unreadable or unparsable test file: no names from it
    }
  }
  const targets: JsTarget[] = [];
  for (const file of info.sources.slice(0, MAX_SOURCES)) {
    let text: string;
    try {
      const buf = await sb.readFile(file);
      if (buf.length > MAX_BYTES) continue;
      text = buf.toString('utf8');
    } catch {
      continue;
    }
    let fns;
    try {
      fns = listFunctions(file, text);
    } catch {
      continue;
    }
    for (const fn of fns) {
      const st = strategiesOf(fn, text);
      if (!st.body && !st.branch && !st.block) continue;
      targets.push({
        file,
        symbol: fn.symbol,
        line: fn.line,
        covered: covered.has(`${file}\0${fn.name}`),
        referenced: refs.has(fn.name),
        strategies: st,
        size: fn.node.loc.end.line - fn.node.loc.start.line + 1,
      });
    }
  }
  return { targets, coverage: info.coverage };
}

export async function jsMutate(
  sb: SandboxLike,
  t: { file: string; symbol: string; line: number },
  strategy: 'body' | 'branch' | 'block',
  seed: number,
): Promise<{ ok: boolean; reason?: string; description?: string }> {
  const text = (await sb.readFile(t.file)).toString('utf8');
  const m = mutate(t.file, text, t.symbol, t.line, strategy, seededRandom(seed));
  if (!m.ok) return { ok: false, reason: m.reason };
  await sb.writeFile(t.file, m.text!);
  return { ok: true, description: m.description };
}

/** Deletes the tests with these ids (`file::suite > title`) from the test files. */
export async function jsWeaken(
  sb: SandboxLike,
  testFiles: string[],
  ids: string[],
): Promise<{ ok: boolean; reason?: string; removed: string[]; missing: string[]; files: string[] }> {
  const byFile = new Map<string, string[]>();
  const missing: string[] = [];
  for (const id of ids) {
    const i = id.indexOf('::');
    const file = i < 0 ? id : id.slice(0, i);
    if (!testFiles.includes(file) || i < 0) {
      missing.push(id);
      continue;
    }
    byFile.set(file, [...(byFile.get(file) ?? []), id.slice(i + 2)]);
  }
  const removed: string[] = [];
  const files: string[] = [];
  for (const [file, titles] of byFile) {
    const text = (await sb.readFile(file)).toString('utf8');
    let w;
    try {
      w = deleteTests(file, text, titles);
    } catch (e) {
      return { ok: false, reason: `cannot parse ${file}: ${(e as Error).message}`, removed, missing, files };
    }
    missing.push(...w.missing.map((t) => `${file}::${t}`));
    if (!w.removed.length) continue;
    removed.push(...w.removed.map((t) => `${file}::${t}`));
    files.push(file);
    if (w.empty) await sb.exec(`rm -f -- '${file.replace(/'/g, `'\\''`)}'`, { timeoutMs: 10_000 });
    else await sb.writeFile(file, w.text);
  }
  if (!removed.length) return { ok: false, reason: `none of the ${ids.length} test(s) was found in the test files (${missing.slice(0, 3).join(', ')})`, removed, missing, files };
  return { ok: true, removed, missing, files };
}
