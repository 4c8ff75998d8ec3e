/**
 * A bug's solver attempts side by side: outcome, reward, step count, the
 * files each patch touches, and the patch text; and the reference fix (the
 * bug_inject.diff reversed) each attempt is compared with.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parsePatch } from 'diff';
import { readJson } from '../runs/store';
import { listAttempts } from '../selfplay/actions';
import type { Trajectory } from '../base/trajectory';
import type { Tampered } from '../judge/evaluate';

export interface AttemptSummary {
  n: number;
  /** The attempt has finished (evaluation.json is there). */
  done: boolean;
  solved?: boolean;
  /** The judge's Tampered verdict, when it gave one. */
  tampered?: Tampered;
  reward?: number;
  status?: string;
  /** The evaluation's sentence, or the episode's error (untrusted text). */
  detail?: string;
  steps?: number;
  failedTests: string[];
  files: string[];
  patch?: string;
  patchLines: { added: number; removed: number };
}

/** The files a unified diff touches and its +/- line counts. */
export function patchStats(patch: string | undefined): { files: string[]; added: number; removed: number } {
  if (!patch?.trim()) return { files: [], added: 0, removed: 0 };
  let parsed;
  try {
    parsed = parsePatch(patch);
  } catch {
    return { files: [], added: 0, removed: 0 };
  }
  const strip = (p?: string) => (p ?? '').replace(/^[ab]\//, '');
  const files = [...new Set(parsed.map((p) => (p.newFileName && p.newFileName !== '/dev/null' ? strip(p.newFileName) : strip(p.oldFileName))).filter(Boolean))];
  let added = 0;
  let removed = 0;
  for (const p of parsed) for (const h of p.hunks) for (const l of h.lines) (l[0] === '+' ? added++ : l[0] === '-' ? removed++ : 0);
  return { files, added, removed };
}

/** bug_inject.diff reversed (the reference fix): the agents' git-style reversal, the solver's spec is made with it too. */
export { reverseDiff } from '../agents/diffs';

export async function attemptSummaries(runDir: string, bugId: string): Promise<AttemptSummary[]> {
  const out: AttemptSummary[] = [];
  for (const e of await listAttempts(runDir, bugId)) {
    const ev = e.result;
    const t = e.trajectory ? await readJson<Trajectory>(e.trajectory).catch(() => undefined) : undefined;
    const patch = e.patch ? fs.readFileSync(e.patch, 'utf8') : undefined;
    const st = patchStats(patch);
    out.push({
      n: e.n,
      done: Boolean(ev),
      solved: ev?.solved,
      tampered: ev?.evaluation?.tampered,
      reward: ev?.reward,
      status: ev?.status ?? t?.status,
      detail: ev?.evaluation?.detail ?? ev?.error ?? t?.error,
      steps: Array.isArray(t?.steps) ? t!.steps.length : undefined,
      failedTests: ev?.evaluation?.failedTests ?? [],
      files: st.files,
      patch,
      patchLines: { added: st.added, removed: st.removed },
    });
  }
  return out;
}

/** The attempt a tree node stands for ({runDir, bugId, attempt: {n}}), if it is one. */
function attemptOf(node: unknown): { runDir: string; bugId: string; n: number } | undefined {
  if (!node || typeof node !== 'object') return undefined;
  const a = node as { runDir?: unknown; bugId?: unknown; attempt?: { n?: unknown } };
  if (typeof a.runDir !== 'string' || typeof a.bugId !== 'string' || !a.attempt || typeof a.attempt.n !== 'number') return undefined;
  return { runDir: a.runDir, bugId: a.bugId, n: a.attempt.n };
}

/**
 * From a tree's context menu VS Code passes the clicked node and the whole selection: with two or more attempts of
 * the clicked attempt's bug selected, those are the ones to compare (in their order); otherwise undefined (pick).
 */
export function selectedAttempts(arg: unknown, selection: unknown, bug: { runDir: string; bugId: string }): number[] | undefined {
  if (!Array.isArray(selection)) return undefined;
  const picked = selection.map(attemptOf).filter((a): a is NonNullable<typeof a> => !!a && path.resolve(a.runDir) === path.resolve(bug.runDir) && a.bugId === bug.bugId);
  const clicked = attemptOf(arg);
  if (clicked && !picked.some((a) => a.n === clicked.n)) return undefined;
  const ns = [...new Set(picked.map((a) => a.n))].sort((x, y) => x - y);
  return ns.length >= 2 ? ns : undefined;
}
