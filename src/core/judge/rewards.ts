/**
 * The paper's rewards.
 *
 * Solver: +1 if the bug is solved, -1 otherwise.
 * Injector: -1 if the artifact is invalid; -alpha if the solve rate s is 0 or
 * 1 (too hard or too easy: nothing to learn); otherwise 1 - (1 + alpha) s, so
 * bugs the solver rarely but sometimes solves pay the most. alpha = 0.8.
 */
export const DEFAULT_ALPHA = 0.8;

export function solverReward(solved: boolean): 1 | -1 {
  return solved ? 1 : -1;
}

export function injectorReward(valid: boolean, solveRate?: number, alpha = DEFAULT_ALPHA): number {
  if (!valid) return -1;
  if (solveRate === undefined || Number.isNaN(solveRate)) {
    throw new RangeError('a valid artifact needs a solve rate to be rewarded');
  }
  if (solveRate < 0 || solveRate > 1) throw new RangeError(`solve rate ${solveRate} is outside [0, 1]`);
  if (solveRate === 0 || solveRate === 1) return -alpha;
  return 1 - (1 + alpha) * solveRate;
}

/** Solve rate of a group of attempts. */
export function solveRate(solved: boolean[]): number {
  if (solved.length === 0) return NaN;
  return solved.filter(Boolean).length / solved.length;
}
