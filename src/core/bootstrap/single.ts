/**
 * Single-function bugs: each target in order, each strategy that applies,
 * until one breaks tests and its tests can be weakened, or the attempts run out.
 */
import { NoProposalError, type SingleStrategy } from './proposal';
import { keyOf, strategiesFor, type Target } from './pick';
import { checkCancelled, tryPiece, type Search } from './mutate';
import { weakenAndVerify } from './weaken';
import type { Found } from './multi';

/** The first valid single-function bug in `order`; a NoProposalError saying what was tried when there is none. */
export async function proposeSingle(s: Search, order: Target[], seen: Set<string>): Promise<Found & { strategy: SingleStrategy }> {
  const tried = new Set<string>();
  const rejects: string[] = [];
  let skippedSeen = 0;
  for (const target of order) {
    if (s.attempts >= s.maxAttempts) break;
    for (const strategy of strategiesFor(target, s.want, s.rng)) {
      const key = keyOf(strategy, target);
      if (seen.has(key)) {
        skippedSeen++;
        continue;
      }
      if (tried.has(key)) continue;
      tried.add(key);
      checkCancelled(s);
      const before = s.attempts;
      const piece = await tryPiece(s, target, strategy);
      if (typeof piece === 'string') {
        s.log(`bootstrap: ${key}: ${piece}`);
        if (s.attempts > before) rejects.push(`${key}: ${piece}`);
        if (s.attempts > before) break; // tested and rejected: next function
        continue; // not applicable: another strategy on the same function
      }
      // The state is the buggy one: weaken it.
      const weak = await weakenAndVerify(s, [piece], { results: piece.results, durationMs: piece.durationMs, logTail: piece.logTail, reporter: piece.reporter });
      if (typeof weak === 'string') {
        s.log(`bootstrap: ${key}: ${weak}`);
        rejects.push(`${key}: ${weak}`);
        break;
      }
      return { pieces: [piece], key, weak, strategy };
    }
  }
  throw exhausted(s, order.length, tried.size, skippedSeen, rejects);
}

function exhausted(s: Search, candidates: number, tried: number, skippedSeen: number, rejects: string[]): NoProposalError {
  const why =
    s.attempts >= s.maxAttempts
      ? `tried ${s.attempts} mutated state(s) (the limit) and none gave a valid bug`
      : `tried every candidate (${tried} mutation(s), ${s.attempts} test run(s)${skippedSeen ? `, ${skippedSeen} already proposed` : ''})`;
  return new NoProposalError(
    'exhausted',
    `${why} among ${candidates} function(s) the tests run. ` +
      (rejects.length ? `Last rejections: ${rejects.slice(-3).join('; ')}. ` : '') +
      'Try another seed or strategy, or a model-driven injector.',
  );
}
