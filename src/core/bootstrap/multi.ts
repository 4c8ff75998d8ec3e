/**
 * Multi-file bugs: k functions in different files, each breaking tests
 * alone, combined; a piece whose file is not needed once the others are in
 * (its tests fail anyway) is dropped.
 */
import { NoProposalError } from './proposal';
import { keyOf, strategiesFor, type Target } from './pick';
import { applyPieces, runState, tryPiece, type Piece, type Search } from './mutate';
import { weakenAndVerify, type Weakened } from './weaken';

export interface Found {
  pieces: Piece[];
  key: string;
  weak: Weakened;
}

/**
 * A multi-file bug when one is asked for (or, for 'any', one time in five
 * where the tests run functions in two files or more); undefined when the
 * search should go on with single functions.
 */
export async function maybeMulti(s: Search, pool: Target[], order: Target[], seen: Set<string>): Promise<Found | undefined> {
  const multiFiles = new Set(pool.map((x) => x.file)).size;
  const doMulti = s.want === 'multi' || (s.want === 'any' && multiFiles >= 2 && s.rng() < 0.2);
  if (!doMulti) return undefined;
  if (multiFiles < 2) {
    throw new NoProposalError(
      'exhausted',
      'a multi-file bug needs functions run by the tests in at least two non-test files; this repository has them in one file.',
    );
  }
  const k = multiFiles >= 3 && s.rng() < 0.4 ? 3 : 2;
  const result = await proposeMulti(s, order, k, seen);
  if (result) return result;
  if (s.want === 'multi') {
    throw new NoProposalError(
      'exhausted',
      `no multi-file bug found after ${s.attempts} mutated state(s): no ${k} functions in different files break tests independently.`,
    );
  }
  s.log('bootstrap: no multi-file bug found, trying single-function bugs');
  return undefined;
}

async function proposeMulti(s: Search, order: Target[], k: number, seen: Set<string>): Promise<Found | undefined> {
  const pieces = await pickPieces(s, order, k);
  // Combine; drop a piece whose file is not needed (inverse mutation) and retry.
  while (pieces.length >= 2) {
    const key = `multi:${pieces.map((p) => keyOf(p.strategy, p.target)).sort().join('+')}`;
    if (seen.has(key)) return undefined;
    await applyPieces(s.sb, pieces);
    const full = await runState(s);
    if (!full.ok) return undefined;
    const F = [...s.suite.stable].filter((id) => full.results?.[id] === 'failed');
    const dead = await unneededPiece(s, pieces, F);
    if (!dead) {
      const w = await weakenAndVerify(s, pieces, { results: full.results ?? {}, durationMs: full.durationMs, logTail: full.logTail, reporter: full.reporter });
      if (typeof w === 'string') {
        s.log(`bootstrap: multi: ${w}`);
        return undefined;
      }
      return { pieces, key, weak: w };
    }
    s.log(`bootstrap: multi: ${dead.target.file} is not needed once the others are in; dropping it`);
    pieces.splice(pieces.indexOf(dead), 1);
  }
  return undefined;
}

/** Up to k pieces, one per file, each breaking tests alone. */
async function pickPieces(s: Search, order: Target[], k: number): Promise<Piece[]> {
  const pieces: Piece[] = [];
  const usedFiles = new Set<string>();
  for (const target of order) {
    if (pieces.length >= k || s.attempts >= s.maxAttempts) break;
    if (usedFiles.has(target.file)) continue;
    for (const strategy of strategiesFor(target, s.want, s.rng)) {
      const before = s.attempts;
      const p = await tryPiece(s, target, strategy);
      if (typeof p !== 'string') {
        pieces.push(p);
        usedFiles.add(target.file);
        s.log(`bootstrap: multi: piece ${keyOf(strategy, target)} breaks ${p.failing.length} test(s)`);
        break;
      }
      if (s.attempts > before) break;
    }
  }
  return pieces;
}

/** The first piece without which none of the combination's failing tests F passes again. */
async function unneededPiece(s: Search, pieces: Piece[], F: string[]): Promise<Piece | undefined> {
  for (const p of pieces) {
    await applyPieces(
      s.sb,
      pieces.filter((q) => q !== p),
    );
    const r = await runState(s);
    const flipped = r.ok ? F.filter((id) => r.results?.[id] === 'passed') : [];
    if (flipped.length === 0) return p;
  }
  return undefined;
}
