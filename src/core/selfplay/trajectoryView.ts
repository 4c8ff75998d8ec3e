/**
 * Trajectories for people: a trajectory and its steps as the stepper shows
 * them, the repository state before a step, and the count of a run's
 * trajectory records (the trainer's input).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ArtifactFiles } from '../artifact/artifact';
import { JsonlFile } from '../runs/store';
import type { Trajectory, TrajectoryRecord, TrajectoryStep } from '../base/trajectory';
import { readerAfter, type FileReader } from '../artifact/review';

/** What the stepper shows of one step. */
export interface StepView {
  index: number;
  tool: string;
  /** The assistant's text of the turn that made the call. */
  assistant: string;
  arguments: string;
  output: string;
  exitCode: number | null;
  durationMs: number;
  error?: string;
  truncated: boolean;
  restarted?: string;
  hasDiff: boolean;
  diffTruncated?: boolean;
}

export interface TrajectoryView {
  id: string;
  role: string;
  status: string;
  error?: string;
  reward?: number;
  policy: string;
  strategy?: string;
  task: string;
  steps: StepView[];
  totalMs?: number;
}

/** One step as the stepper shows it. */
export function stepView(t: Pick<Trajectory, 'messages'>, s: TrajectoryStep): StepView {
  const m = t.messages?.[s.messageIndex];
  return {
    index: s.index,
    tool: s.tool,
    assistant: m && m.role === 'assistant' ? m.content : '',
    arguments: s.arguments ?? '',
    output: s.output ?? '',
    exitCode: s.exitCode ?? null,
    durationMs: s.durationMs ?? 0,
    error: s.error,
    truncated: Boolean(s.truncated),
    restarted: s.restarted,
    hasDiff: Boolean(s.diff && s.diff.trim()),
    diffTruncated: s.diffTruncated,
  };
}

/** A trajectory as the stepper shows it (no token ids, no log-probabilities). */
export function trajectoryView(t: Trajectory): TrajectoryView {
  const user = t.messages?.find((m) => m.role === 'user');
  return {
    id: t.id,
    role: t.role,
    status: t.status,
    error: t.error,
    reward: t.reward,
    policy: [t.policy?.kind, t.policy?.model].filter(Boolean).join(' '),
    strategy: t.strategy,
    task: user?.content ?? '',
    steps: (t.steps ?? []).map((s) => stepView(t, s)),
    totalMs: t.timings?.totalMs,
  };
}

/**
 * A reader for the repository state right before step `index` of a
 * trajectory: the original (from `original`), plus the bug and the weakening
 * for a solver (the state the solver started from), plus every earlier
 * step's diff. Files a diff could not be applied to read as unknown.
 */
export function stateBeforeStep(original: FileReader, t: Pick<Trajectory, 'role' | 'steps'>, index: number, artifact?: ArtifactFiles): FileReader {
  const diffs: string[] = [];
  if (t.role === 'solver' && artifact) diffs.push(artifact.bugInjectDiff, artifact.testWeakenDiff);
  for (const s of t.steps) {
    if (s.index >= index) break;
    if (s.diff) diffs.push(s.diff);
  }
  return readerAfter(original, diffs);
}

/** Reads a repository file for review, read-only; undefined when it does not exist or is not a file. */
export function repoFileReader(repoDir: string): FileReader {
  const root = path.resolve(repoDir);
  return (rel) => {
    const abs = path.resolve(root, rel);
    if (abs !== root && !abs.startsWith(root + path.sep)) return undefined;
    try {
      return fs.readFileSync(abs, 'utf8');
    } catch {
      return undefined;
    }
  };
}

/** Counts trajectory records of a run (the trainer's input), tolerating torn lines. */
export function countTrajectoryRecords(runDir: string): { solver: number; injector: number } {
  const { records } = JsonlFile.read<TrajectoryRecord>(path.join(runDir, 'trajectories.jsonl'));
  return { solver: records.filter((r) => r.role === 'solver').length, injector: records.filter((r) => r.role === 'injector').length };
}
