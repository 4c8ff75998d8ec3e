/**
 * `ssr export --format swebench`: one JSON line per valid bug, so other
 * harnesses can evaluate models on the bugs SSR made. SWE-bench's fields:
 * `patch` is the fix (bug_inject.diff reversed), `test_patch` restores the
 * tests (test_weaken.diff reversed), FAIL_TO_PASS are the tests the bug
 * breaks, PASS_TO_PASS the tests it leaves passing. The buggy starting state
 * is the original commit plus `ssr_setup_patch` (the bug and the weakening).
 * Reversed diffs are made with git in a private scratch copy (scratchRepo.ts),
 * after the diffs pass the artifact's path checks, so `git apply` takes them.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { simpleGit } from 'simple-git';
import type { ArtifactFiles } from '../artifact/artifact';
import { withScratchRepo } from '../judge/scratchRepo';
import { RunStore, readJson } from '../runs/store';
import type { ValidationReport } from '../judge/checks';
import { passing } from '../judge/testRun';

export interface SwebenchInstance {
  instance_id: string;
  repo: string;
  base_commit: string | null;
  image_name: string;
  problem_statement: string;
  patch: string;
  test_patch: string;
  FAIL_TO_PASS: string[];
  PASS_TO_PASS: string[];
  /** Applied to base_commit, gives the buggy repository with the weakened tests. */
  ssr_setup_patch: string;
  ssr_test_script: string;
  ssr_test_parser: string;
  ssr_test_files: string[];
  ssr_order: number;
  ssr_solve_rate: number | null;
}

async function headCommit(repoDir: string): Promise<string | null> {
  try {
    return (await simpleGit(repoDir).revparse(['HEAD'])).trim();
  } catch {
    return null;
  }
}

/** The fix and the test patch of an artifact, computed with git. */
export async function reversedDiffs(repoDir: string, a: ArtifactFiles): Promise<{ patch: string; testPatch: string }> {
  return withScratchRepo(repoDir, async (scratch) => {
    const apply = async (text: string, name: string) => {
      await scratch.apply(text, name);
      await scratch.commit(name);
    };
    await apply(a.bugInjectDiff, 'bug');
    await apply(a.testWeakenDiff, 'weaken');
    // HEAD = weakened, HEAD~1 = buggy, HEAD~2 = original.
    const testPatch = await scratch.git.raw(['diff', '--no-color', 'HEAD', 'HEAD~1']);
    const patch = await scratch.git.raw(['diff', '--no-color', 'HEAD~1', 'HEAD~2']);
    return { patch, testPatch };
  });
}

export async function exportSwebench(runDir: string, repoDir?: string): Promise<SwebenchInstance[]> {
  const store = await RunStore.open(runDir);
  const session = await store.readSession<{ config: { repoDir: string; image: string } }>();
  const repo = repoDir ?? session!.config.repoDir;
  const base = await headCommit(repo);
  const repoName = path.basename(path.resolve(repo));
  const out: SwebenchInstance[] = [];
  for (const bug of await store.listBugs()) {
    if (!bug.valid) continue;
    const a = (await store.readArtifact(bug.id))!;
    const v = (await readJson<ValidationReport>(path.join(store.bugDir(bug.id), 'validation.json')))!;
    const { patch, testPatch } = await reversedDiffs(repo, a);
    const broken = new Set(v.brokenTests);
    const p2p = [...passing(v.original)].filter((t) => !broken.has(t) && !v.flaky.includes(t)).sort();
    out.push({
      instance_id: `${repoName}__ssr-${bug.id}`,
      repo: repoName,
      base_commit: base,
      image_name: session!.config.image,
      problem_statement: 'Make the tests in test_patch pass. (SSR bugs carry no natural-language issue: the tests are the specification.)',
      patch,
      test_patch: testPatch,
      FAIL_TO_PASS: [...broken].sort(),
      PASS_TO_PASS: p2p,
      ssr_setup_patch: a.bugInjectDiff + (a.bugInjectDiff.endsWith('\n') ? '' : '\n') + a.testWeakenDiff,
      ssr_test_script: a.testScript,
      ssr_test_parser: a.testParser,
      ssr_test_files: a.testFiles,
      ssr_order: bug.order,
      ssr_solve_rate: bug.solveRate ?? null,
    });
  }
  return out;
}

/** Instances as JSON Lines: one per line, and a last newline when there is any (what `ssr export` prints and the extension writes). */
export function swebenchJsonl(rows: SwebenchInstance[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
}

/** Exports a run to a JSON Lines file (its folder made if needed); returns how many instances it holds. */
export async function writeSwebench(runDir: string, out: string, repoDir?: string): Promise<number> {
  const rows = await exportSwebench(runDir, repoDir);
  await fsp.mkdir(path.dirname(out), { recursive: true });
  await fsp.writeFile(out, swebenchJsonl(rows));
  return rows.length;
}
