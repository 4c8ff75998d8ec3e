/**
 * Picking what to mutate: the functions the passing tests run (from the
 * coverage trace; names the tests reference when there is none), in a seeded
 * random order with functions earlier proposals used last, and the removal
 * strategies to try on each.
 */
import type { SandboxLike } from '../sandbox/types';
import { jsTargets, type JsTarget } from './js/sandbox';
import { goHelper } from './go/sandbox';
import { helper } from './pyHelper';
import { NoProposalError, type FrameworkInfo, type SingleStrategy, type StrategyOption } from './proposal';
import type { Suite } from './suite';

/** A function the proposer may mutate; Python and JavaScript targets have one shape. */
export type Target = JsTarget;

/** The helper's answer: every function with a body outside the tests, and whether a coverage trace said which ran. */
export interface Targets {
  targets: Target[];
  coverage: boolean;
}

function shuffle<T>(xs: T[], rng: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Weighted order without replacement. */
function weightedOrder<T>(items: Array<[T, number]>, rng: () => number): T[] {
  const pool = items.filter(([, w]) => w > 0);
  const out: T[] = [];
  while (pool.length) {
    const total = pool.reduce((s, [, w]) => s + w, 0);
    let r = rng() * total;
    let i = 0;
    for (; i < pool.length - 1; i++) {
      r -= pool[i][1];
      if (r < 0) break;
    }
    out.push(pool[i][0]);
    pool.splice(i, 1);
  }
  return out;
}

/** The functions outside the tests, asked of the language's helper with the suite's coverage trace. */
export async function findTargets(sb: SandboxLike, fw: FrameworkInfo, suite: Suite, signal?: AbortSignal): Promise<Targets> {
  if (fw.language === 'javascript') return jsTargets(sb, (cmd, req) => helper(sb, cmd, req, signal), fw.testFiles, suite.covDir);
  if (fw.language === 'go') return goHelper<Targets>(sb, 'targets', { testFiles: fw.testFiles, covFile: `${suite.covDir}/cover.out` }, signal);
  return helper<Targets>(sb, 'targets', { language: fw.language, testFiles: fw.testFiles, covDir: suite.covDir }, signal);
}

/** The functions the tests run (else those they name), and how they were found; none is a NoProposalError. */
export function candidates(t: Targets, fw: FrameworkInfo, log: (m: string) => void): { pool: Target[]; how: string } {
  const covered = t.targets.filter((x) => x.covered);
  const pool = covered.length ? covered : t.targets.filter((x) => x.referenced);
  const how = covered.length
    ? `${covered.length} function(s) run by the tests (${fw.language === 'python' ? 'sys.setprofile trace' : fw.language === 'go' ? 'go test -coverprofile' : 'V8 coverage'})`
    : `${pool.length} function(s) named in the test files (no coverage trace)`;
  log(`bootstrap: ${how}, of ${t.targets.length} in the non-test code`);
  if (pool.length === 0) {
    throw new NoProposalError(
      'nothing-covered',
      `none of the ${t.targets.length} function(s) in the non-test code is run by the passing tests` +
        `${t.targets.length ? '' : ' (no function with a body was found outside the test files)'}; ` +
        'the bootstrap proposer mutates functions the tests exercise. Check that the tests import the code under test from the repository.',
    );
  }
  return { pool, how };
}

/** The pool shuffled; functions already used by earlier proposals (with another strategy) go last, for variety. */
export function targetOrder(pool: Target[], seen: Set<string>, rng: () => number): Target[] {
  const usedTargets = new Set([...seen].flatMap((k) => k.replace(/^multi:/, '').split('+').map((x) => x.replace(/^[a-z]+:/, ''))));
  const shuffled = shuffle(pool, rng);
  const fresh = (x: Target) => !usedTargets.has(`${x.file}::${x.symbol}`);
  return [...shuffled.filter(fresh), ...shuffled.filter((x) => !fresh(x))];
}

/** The strategies to try on a target: the one asked for when it applies, else all that apply in a weighted order. */
export function strategiesFor(target: Target, want: StrategyOption, rng: () => number): SingleStrategy[] {
  const s = target.strategies;
  const items: Array<[SingleStrategy, number]> = [
    ['body', s.body ? 4 : 0],
    ['branch', s.branch ? 3 : 0],
    ['block', s.block ? 3 : 0],
  ];
  if (want === 'body' || want === 'branch' || want === 'block') return items.some(([k, w]) => k === want && w > 0) ? [want] : [];
  return weightedOrder(items, rng);
}

/** A proposal's key part for one target and strategy. */
export function keyOf(strategy: SingleStrategy, t: { file: string; symbol: string }): string {
  return `${strategy}:${t.file}::${t.symbol}`;
}
