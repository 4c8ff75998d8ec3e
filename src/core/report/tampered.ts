/**
 * The run's tampered attempts, listed: which bug and attempt, the layer that
 * saw it and its evidence (from each attempt's evaluation.json). The
 * dashboard and `ssr report` show this list beside the tampered series.
 */
import * as path from 'node:path';
import type { TrajectoryRecord } from '../base/trajectory';
import type { AttemptMarker } from '../selfplay/solveAttempt';
import { policyVersionName } from '../selfplay/verdictCounts';
import { type RunStore, readJson } from '../runs/store';

export interface TamperedAttempt {
  bugId: string;
  attempt: number;
  round?: number;
  policyVersion: string;
  /** The judge's sentence and evidence (untrusted paths and names: shown as text). */
  reason: string;
  evidence: string[];
}

/** Every tampered solver attempt of the run, in the order they were recorded. */
export async function tamperedAttempts(store: RunStore, records: TrajectoryRecord[]): Promise<TamperedAttempt[]> {
  const out: TamperedAttempt[] = [];
  for (const r of records) {
    if (!r || r.role !== 'solver' || r.tampered !== true || !r.bugId || r.attempt === undefined) continue;
    const marker = await readJson<AttemptMarker>(path.join(store.attemptDir(r.bugId, r.attempt), 'evaluation.json')).catch(() => undefined);
    const t = marker?.tampered ?? marker?.evaluation?.tampered;
    out.push({
      bugId: r.bugId,
      attempt: r.attempt,
      round: r.round,
      policyVersion: policyVersionName(r.policyVersion ?? r.policy?.version),
      reason: typeof t?.reason === 'string' ? t.reason : '(the attempt record has no reason)',
      evidence: Array.isArray(t?.evidence) ? t.evidence.filter((e): e is string => typeof e === 'string') : [],
    });
  }
  return out;
}
