/**
 * Mutating one target on the clean baseline and judging the buggy state:
 * enough of the passing tests must break, not too many. The search's state
 * (the sandbox, the suite, the seeded RNG, the count of states tested) is
 * carried in a Search.
 */
import type { SandboxLike } from '../sandbox/types';
import { resetToBaseline } from '../sandbox/baseline';
import { runTests, type ReporterRecords, type TestResults } from '../judge/testRun';
import { CancelledError } from '../base/errors';
import { span } from '../base/trace';
import { jsMutate } from './js/sandbox';
import { goHelper } from './go/sandbox';
import { helper } from './pyHelper';
import type { FrameworkInfo, SingleStrategy, StrategyOption } from './proposal';
import type { Suite } from './suite';
import type { Target } from './pick';

/** One proposal's search, from the suite to the artifact. */
export interface Search {
  sb: SandboxLike;
  suite: Suite;
  fw: FrameworkInfo;
  rng: () => number;
  want: StrategyOption;
  minFailing: number;
  maxBroken: number;
  maxAttempts: number;
  buggyTimeout: number;
  signal?: AbortSignal;
  log: (m: string) => void;
  /** Mutated states tested so far. */
  attempts: number;
}

/** One target mutated, judged alone. */
export interface Piece {
  target: Target;
  strategy: SingleStrategy;
  description: string;
  /** The mutated file's content, to rebuild combinations without re-running the helper. */
  content: Buffer;
  failing: string[];
  /** Results of the suite with this piece alone. */
  results: TestResults;
  durationMs: number;
  logTail: string;
  /** What the judge's reporter saw in that run, so validation can corroborate the broken tests. */
  reporter?: ReporterRecords;
}

interface MutateAnswer {
  ok: boolean;
  reason?: string;
  description?: string;
}

type Outcome = { kind: 'ok'; results: TestResults; failing: string[]; gone: string[] } | { kind: 'reject'; why: string };

export function checkCancelled(s: Search): void {
  if (s.signal?.aborted) throw new CancelledError();
}

/** Runs the suite on the sandbox's current (mutated) state; counted as an attempt. */
export async function runState(s: Search): Promise<Awaited<ReturnType<typeof runTests>>> {
  s.attempts++;
  const run = await span('propose.mutantRun', () => runTests(s.sb, { timeoutMs: s.buggyTimeout, signal: s.signal }));
  checkCancelled(s);
  return run;
}

/** Which passing tests the buggy state breaks (fail or disappear), and whether that makes a bug. */
export function judgeBuggy(results: TestResults, suite: Suite, minFailing: number, maxBrokenFraction: number): Outcome {
  const failing: string[] = [];
  const gone: string[] = [];
  for (const id of suite.stable) {
    const st = results[id];
    if (st === 'failed') failing.push(id);
    else if (st === undefined) gone.push(id);
  }
  const broken = failing.length + gone.length;
  if (failing.length < minFailing) {
    return { kind: 'reject', why: broken ? `only ${failing.length} test(s) fail (${gone.length} disappear)` : 'no test breaks' };
  }
  if (broken >= suite.stable.size) return { kind: 'reject', why: 'every test breaks' };
  if (broken / suite.stable.size > maxBrokenFraction) {
    return { kind: 'reject', why: `${broken} of ${suite.stable.size} tests break (too broad)` };
  }
  return { kind: 'ok', results, failing, gone };
}

/** Asks the language's helper to remove code from the target; the sandbox's file is changed in place. */
function mutateTarget(s: Search, target: Target, strategy: SingleStrategy, seed: number): Promise<MutateAnswer> {
  const { sb, fw, signal } = s;
  if (fw.language === 'javascript') return jsMutate(sb, target, strategy, seed);
  const req = { file: target.file, symbol: target.symbol, line: target.line, strategy, seed };
  if (fw.language === 'go') return goHelper<MutateAnswer>(sb, 'mutate', req, signal);
  return helper<MutateAnswer>(sb, 'mutate', { language: fw.language, ...req }, signal);
}

/** Mutates one target on the clean baseline and judges it alone: the piece, or why not. */
export async function tryPiece(s: Search, target: Target, strategy: SingleStrategy): Promise<Piece | string> {
  await resetToBaseline(s.sb);
  const m = await mutateTarget(s, target, strategy, Math.floor(s.rng() * 2 ** 31));
  if (!m.ok) return `not applicable: ${m.reason}`;
  const run = await runState(s);
  if (!run.ok) return `the tests did not run: ${run.error}`;
  const j = judgeBuggy(run.results ?? {}, s.suite, s.minFailing, s.maxBroken);
  if (j.kind === 'reject') return j.why;
  const content = await s.sb.readFile(target.file);
  return { target, strategy, description: m.description ?? '', content, failing: j.failing, results: j.results, durationMs: run.durationMs, logTail: run.logTail, reporter: run.reporter };
}

/** Puts the pieces' files in place on a clean baseline. */
export async function applyPieces(sb: SandboxLike, pieces: Piece[]): Promise<void> {
  await resetToBaseline(sb);
  for (const p of pieces) await sb.writeFile(p.target.file, p.content);
}
