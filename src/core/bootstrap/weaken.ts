/**
 * Weakening the tests for a buggy state: delete the tests it breaks (and
 * those that fail only once the others are gone), then check that the
 * weakened suite passes on the buggy code. Gives the two diffs.
 */
import type { SandboxLike } from '../sandbox/types';
import { diffAgainstBaseline } from '../sandbox/baseline';
import type { TestResults } from '../judge/testRun';
import { jsWeaken } from './js/sandbox';
import { goHelper } from './go/sandbox';
import { helper } from './pyHelper';
import type { FrameworkInfo, ProposerRun } from './proposal';
import { applyPieces, judgeBuggy, runState, type Piece, type Search } from './mutate';

export interface Weakened {
  results: TestResults;
  /** The judged runs of the buggy state and of the final weakened one. */
  runs: { buggy: ProposerRun; weakened: ProposerRun };
  failing: string[];
  gone: string[];
  bugDiff: string;
  weakenDiff: string;
  notes: string[];
}

interface WeakenAnswer {
  ok: boolean;
  reason?: string;
  removed: string[];
  missing: string[];
  files: string[];
}

/** Rounds of deleting tests before the weakened suite must pass. */
const WEAKEN_ROUNDS = 3;

function deleteTests(sb: SandboxLike, fw: FrameworkInfo, ids: string[], signal?: AbortSignal): Promise<WeakenAnswer> {
  if (fw.language === 'javascript') return jsWeaken(sb, fw.testFiles, ids);
  if (fw.language === 'go') return goHelper<WeakenAnswer>(sb, 'weaken', { testFiles: fw.testFiles, ids }, signal);
  return helper<WeakenAnswer>(sb, 'weaken', { language: fw.language, testFiles: fw.testFiles, ids }, signal);
}

/** The buggy state's judged run: the one given, else a run of the pieces just applied. */
async function buggyRunOf(s: Search, known?: ProposerRun): Promise<ProposerRun | string> {
  if (known) return known;
  const run = await runState(s);
  if (!run.ok) return `the tests did not run with the bug: ${run.error}`;
  return { results: run.results ?? {}, durationMs: run.durationMs, logTail: run.logTail, reporter: run.reporter };
}

/**
 * From the clean baseline: applies the pieces, runs the suite, deletes the
 * tests that break, and checks that the weakened suite passes on the buggy code.
 */
export async function weakenAndVerify(s: Search, pieces: Piece[], known?: ProposerRun): Promise<Weakened | string> {
  const { sb, suite, fw } = s;
  await applyPieces(sb, pieces);
  const buggyRun = await buggyRunOf(s, known);
  if (typeof buggyRun === 'string') return buggyRun;
  const j = judgeBuggy(buggyRun.results, suite, s.minFailing, s.maxBroken);
  if (j.kind === 'reject') return j.why;
  const bugFiles = [...new Set(pieces.map((p) => p.target.file))];
  const bugDiff = await diffAgainstBaseline(sb, { only: bugFiles });
  if (!bugDiff.trim()) return 'the mutation left no diff';

  let toRemove = [...j.failing, ...j.gone];
  const removed = new Set<string>();
  const changed = new Set<string>();
  for (let round = 0; round < WEAKEN_ROUNDS; round++) {
    const w = await deleteTests(sb, fw, toRemove, s.signal);
    if (!w.ok) return `cannot weaken the tests: ${w.reason}`;
    w.removed.forEach((x) => removed.add(x));
    w.files.forEach((f) => changed.add(f));
    const wr = await runState(s);
    if (!wr.ok) return `the weakened tests did not run: ${wr.error}`;
    const stillFailing = Object.entries(wr.results ?? {})
      .filter(([, st]) => st === 'failed')
      .map(([id]) => id);
    if (stillFailing.length === 0) {
      const passing = Object.values(wr.results ?? {}).filter((st) => st === 'passed').length;
      if (passing === 0) return 'nothing passes once the broken tests are deleted';
      const weakenDiff = await diffAgainstBaseline(sb, { only: [...changed] });
      if (!weakenDiff.trim()) return 'the weakening left no diff';
      return {
        results: buggyRun.results,
        runs: { buggy: buggyRun, weakened: { results: wr.results ?? {}, durationMs: wr.durationMs, logTail: wr.logTail, reporter: wr.reporter } },
        failing: j.failing,
        gone: j.gone,
        bugDiff,
        weakenDiff,
        notes: [
          `the weakening deletes ${removed.size} test(s) from ${changed.size} file(s): ${[...changed].join(', ')}; ${passing} test(s) still pass on the buggy code`,
        ],
      };
    }
    // Tests that fail only once others are gone (or ids the first pass missed): delete them too.
    toRemove = stillFailing.filter((id) => !removed.has(id));
    if (toRemove.length === 0) return `the weakened suite still fails: ${stillFailing.slice(0, 3).join(', ')}`;
  }
  return 'the weakened suite keeps failing';
}
