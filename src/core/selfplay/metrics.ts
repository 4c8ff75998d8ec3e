/**
 * A session's metrics, computed from what its run directory holds (the bugs,
 * session.json's rounds, trajectories.jsonl); also used by `ssr runs` and
 * the extension.
 */
import { CHECK_IDS } from '../judge/checks';
import { type BugRecord, JsonlFile, RunStore } from '../runs/store';
import type { TrajectoryRecord } from '../base/trajectory';
import { tamperedCount, verdictsPerPolicyVersion } from './verdictCounts';
import type { SessionFile, SessionMetrics } from './sessionFile';

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined);

/** How many bugs failed first at each check (every check listed, 0 when none). */
function failuresPerCheck(bugs: BugRecord[]): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(CHECK_IDS.map((id) => [id, 0]));
  for (const b of bugs) if (b.firstFailure) out[b.firstFailure] = (out[b.firstFailure] ?? 0) + 1;
  return out;
}

/** Bugs per solve-rate bin. */
function solveRateHistogram(bugs: BugRecord[]): Record<string, number> {
  const hist: Record<string, number> = { 's=0': 0, '(0,0.25]': 0, '(0.25,0.5]': 0, '(0.5,0.75]': 0, '(0.75,1)': 0, 's=1': 0 };
  for (const b of bugs) {
    if (b.solveRate === undefined) continue;
    const s = b.solveRate;
    const bin = s === 0 ? 's=0' : s === 1 ? 's=1' : s <= 0.25 ? '(0,0.25]' : s <= 0.5 ? '(0.25,0.5]' : s <= 0.75 ? '(0.5,0.75]' : '(0.75,1)';
    hist[bin]++;
  }
  return hist;
}

function perRound(bugs: BugRecord[], records: TrajectoryRecord[]): SessionMetrics['perRound'] {
  const roundNums = [...new Set(bugs.map((b) => b.round))].sort((a, b) => a - b);
  return roundNums.map((round) => {
    const rb = bugs.filter((b) => b.round === round);
    return {
      round,
      bugs: rb.length,
      meanRInject: mean(rb.map((b) => b.rInject).filter((x): x is number => x !== undefined)),
      meanRSolve: mean(records.filter((x) => x.role === 'solver' && x.round === round).map((x) => x.reward)),
      tampered: tamperedCount(records, round),
    };
  });
}

/** Session metrics from the store's contents (also used by `ssr runs` and the extension). */
export async function computeMetrics(store: RunStore, session: SessionFile, activeMs: number, peakRss = 0): Promise<SessionMetrics> {
  const bugs = await store.listBugs();
  const first = bugs.filter((b) => b.order === 1);
  const rounds = Object.values(session.rounds);
  const { records } = JsonlFile.read<TrajectoryRecord>(store.trajectories.file);
  const valid = bugs.filter((b) => b.valid).length;
  const judgedProposals = first.length;
  return {
    proposals: rounds.length,
    proposalsFailed: rounds.filter((r) => r.status === 'no-proposal').length,
    validBugs: valid,
    validOnScriptOnly: bugs.filter((b) => b.valid && b.brokenSeenByScriptOnly).length,
    invalidBugs: bugs.filter((b) => b.valid === false).length,
    validShare: judgedProposals ? first.filter((b) => b.valid).length / judgedProposals : 0,
    failuresPerCheck: failuresPerCheck(bugs),
    higherOrderBugs: bugs.filter((b) => b.order > 1).length,
    attempts: bugs.reduce((s, b) => s + (b.attempts ?? 0), 0),
    solved: bugs.reduce((s, b) => s + (b.solved ?? 0), 0),
    tampered: tamperedCount(records),
    perPolicyVersion: verdictsPerPolicyVersion(records),
    solveRateHistogram: solveRateHistogram(bugs),
    perRound: perRound(bugs, records),
    meanRInject: mean(bugs.map((b) => b.rInject).filter((x): x is number => x !== undefined)),
    meanRSolve: mean(records.filter((x) => x.role === 'solver').map((x) => x.reward)),
    artifactsPerHour: activeMs > 0 ? valid / (activeMs / 3_600_000) : 0,
    activeMs,
    peakRssMb: Math.round(peakRss / (1024 * 1024)),
  };
}
