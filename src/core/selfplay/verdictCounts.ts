/**
 * Solver verdicts counted from trajectories.jsonl: how many judged attempts
 * were solved, not solved, or tampered (the judge's third outcome, rewarded
 * -1), per round and per policy version. A policy that learns to game the
 * judge shows here first: tampered attempts that climb while the solve rate
 * does too.
 */
import type { PolicyVersion, TrajectoryRecord } from '../base/trajectory';

/** A policy version's name: "MODEL@STEP", or "unversioned" for a session that does not train. */
export function policyVersionName(v: PolicyVersion | undefined): string {
  return v ? `${v.model}@${v.step}` : 'unversioned';
}

export interface VersionVerdicts {
  /** policyVersionName() of the version that sampled the attempts. */
  policyVersion: string;
  /** Updates behind it (-1 when unversioned), for ordering. */
  step: number;
  attempts: number;
  solved: number;
  tampered: number;
}

const solverRecords = (records: TrajectoryRecord[]) => records.filter((r) => r && r.role === 'solver');

/** Tampered attempts in the records, all of them or one round's. */
export function tamperedCount(records: TrajectoryRecord[], round?: number): number {
  return solverRecords(records).filter((r) => r.tampered === true && (round === undefined || r.round === round)).length;
}

/** Judged solver attempts per policy version, in the order of their steps. */
export function verdictsPerPolicyVersion(records: TrajectoryRecord[]): VersionVerdicts[] {
  const out = new Map<string, VersionVerdicts>();
  for (const r of solverRecords(records)) {
    const v = r.policyVersion ?? r.policy?.version;
    const name = policyVersionName(v);
    const row = out.get(name) ?? { policyVersion: name, step: v ? v.step : -1, attempts: 0, solved: 0, tampered: 0 };
    row.attempts++;
    if (r.reward > 0) row.solved++;
    if (r.tampered === true) row.tampered++;
    out.set(name, row);
  }
  return [...out.values()].sort((a, b) => a.step - b.step || a.policyVersion.localeCompare(b.policyVersion));
}
