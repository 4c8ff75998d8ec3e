/**
 * The next round's bootstrap proposal, started as soon as the current
 * round's bug is stored, so that it runs while the current bug is validated
 * and solved (the proposer uses one sandbox; validation and solving use the
 * others). Proposals are deterministic per round (seeded, and the seen-set
 * then holds every earlier round's bug), so a proposal made ahead is the
 * one the round would have made.
 */
export class ProposalsAhead<T> {
  private readonly pending = new Map<number, Promise<T>>();

  start(round: number, make: () => Promise<T>): void {
    if (this.pending.has(round)) return;
    const p = make();
    p.catch(() => undefined); // surfaces when the round takes it
    this.pending.set(round, p);
  }

  /** The proposal made ahead for this round, else a fresh one. */
  take(round: number, make: () => Promise<T>): Promise<T> {
    const p = this.pending.get(round);
    this.pending.delete(round);
    return p ?? make();
  }
}

/**
 * Whether to start round r+1's proposal during round r: bootstrap proposals
 * only, with cores to spare (concurrency 2 or more), not past the last
 * round, not when a wall-time budget may stop the session first, and not
 * when the next round is already done (resume). SSR_OVERLAP=0 turns it off.
 */
export function proposeAhead(
  cfg: { proposer: string; rounds: number; concurrency: number; maxWallMs?: number },
  r: number,
  nextDone: boolean,
): boolean {
  if (process.env.SSR_OVERLAP === '0') return false;
  return cfg.proposer === 'bootstrap' && r + 1 < cfg.rounds && cfg.concurrency >= 2 && !cfg.maxWallMs && !nextDone;
}
