/**
 * The data behind the session dashboard, `ssr report` and the Bugs view's
 * lineage: everything is computed from a run directory as the run store
 * writes it (session.json, bugs/*, events.jsonl, trajectories.jsonl) and,
 * when the run was trained, the trainer's per-update metrics. No vscode
 * import: the extension's webview and the CLI's HTML file render the same
 * object.
 *
 * Where the numbers come from:
 *   per round mean r_inject / r_solve, histogram, failures per check, valid
 *     share, artifacts per hour    computeMetrics() of the session (the same
 *                                  numbers the session prints at its end)
 *   time per stage                 events.jsonl timestamps: propose = round-started
 *                                  -> proposal (or proposal-failed); validate =
 *                                  proposal / higher-order -> validated; solve =
 *                                  validated -> reward (or the last attempt-finished)
 *   order mix, lineage             bug.json (order, parent, parentAttempt)
 *   learning curves                train/updates.jsonl (per update), else the trainer's
 *                                  per-step metrics.jsonl; see readTrainingMetrics()
 */
import * as path from 'node:path';
import { computeMetrics, type SessionEvent, type SessionFile, type SessionMetrics } from '../selfplay/session';
import { type BugRecord, JsonlFile, RunStore, readJson } from '../runs/store';
import { CHECK_IDS } from '../judge/checks';
import type { TrajectoryRecord } from '../base/trajectory';
import type { VersionVerdicts } from '../selfplay/verdictCounts';
import { tamperedAttempts, type TamperedAttempt } from './tampered';
import { readTrainingMetrics, TRAINING_FIELDS, type TrainingPoint } from './trainingCurves';

export { readTrainingMetrics, TRAINING_FIELDS, type TrainingPoint } from './trainingCurves';

export const REPORT_FORMAT = 'ssr-report/1';

export const HISTOGRAM_BINS = ['s=0', '(0,0.25]', '(0.25,0.5]', '(0.5,0.75]', '(0.75,1)', 's=1'] as const;

export interface StageTime {
  stage: 'propose' | 'validate' | 'solve';
  /** How many times the stage was timed. */
  count: number;
  totalMs: number;
  meanMs?: number;
}

export interface LineageBug {
  id: string;
  order: number;
  round: number;
  status: BugRecord['status'];
  valid?: boolean;
  firstFailure?: string;
  solveRate?: number;
  rInject?: number;
  attempts?: number;
  solved?: number;
  /** Attempts the judge found tampered (absent when none). */
  tampered?: number;
  parent?: string;
  /** The parent's attempt whose failed patch made this bug. */
  parentAttempt?: number;
  children: string[];
}

export interface RunReportData {
  format: typeof REPORT_FORMAT;
  run: {
    id: string;
    /** A name for people: "Inject Bug, 22:28" or "Self-play, 4 rounds". */
    name: string;
    kind: 'inject' | 'selfplay';
    status: SessionFile['status'];
    note?: string;
    createdAt: string;
    updatedAt: string;
    policy: string;
    rounds: number;
    roundsDone: number;
    attemptsPerBug: number;
    repoDir: string;
  };
  totals: {
    proposals: number;
    proposalsFailed: number;
    bugs: number;
    validBugs: number;
    invalidBugs: number;
    /** Valid first-order bugs / judged first-order proposals; undefined before any was judged. */
    validShare?: number;
    higherOrderBugs: number;
    attempts: number;
    solved: number;
    /** Judged attempts the judge found tampered (among `attempts`, never `solved`). */
    tampered: number;
    meanRInject?: number;
    meanRSolve?: number;
    /** Valid artifacts per hour of session time; undefined when there is none yet. */
    artifactsPerHour?: number;
    activeMs: number;
  };
  perRound: Array<{ round: number; bugs: number; meanRInject?: number; meanRSolve?: number; tampered: number }>;
  /** Judged attempts per policy version: solved and tampered among them. */
  perPolicyVersion: VersionVerdicts[];
  /** Every tampered attempt, with the judge's reason and evidence. */
  tampered: TamperedAttempt[];
  histogram: Array<{ bin: string; bugs: number }>;
  failuresPerCheck: Array<{ check: string; failures: number }>;
  stages: StageTime[];
  /** Cumulative valid artifacts against session minutes (from the validated events). */
  validOverTime: Array<{ minutes: number; valid: number }>;
  orderMix: Array<{ order: number; bugs: number; valid: number }>;
  training: TrainingPoint[];
  /** The fields of the trainer's metrics the curves read (documentation shown next to the chart). */
  trainingFields: string[];
  bugs: LineageBug[];
  /** Whether solving ran at all (a model was configured). */
  solving: boolean;
}

/** A run's name for people. */
export function runName(session: Pick<SessionFile, 'config' | 'createdAt'>, id: string): string {
  const c = session.config;
  const when = session.createdAt ? new Date(session.createdAt) : undefined;
  const hhmm = when && !Number.isNaN(when.getTime()) ? `${String(when.getHours()).padStart(2, '0')}:${String(when.getMinutes()).padStart(2, '0')}` : id;
  if (isInjectRun(session)) return `Inject Bug, ${hhmm}`;
  const n = c?.rounds ?? 0;
  return `Self-play, ${n} round${n === 1 ? '' : 's'}, ${hhmm}`;
}

/** Runs made by "Inject Bug" (one round, one attempt, no higher-order bugs). */
export function isInjectRun(session: Pick<SessionFile, 'config'>): boolean {
  const c = session.config;
  return Boolean(c && c.rounds === 1 && c.attempts === 1 && c.higherOrder === false);
}

const tsOf = (e: { ts: string }) => Date.parse(e.ts);

/** Time per stage from the events' timestamps (the first complete pair of each unit; resumed duplicates are ignored). */
export function stageTimes(events: SessionEvent[]): StageTime[] {
  const sum: Record<StageTime['stage'], { count: number; totalMs: number }> = {
    propose: { count: 0, totalMs: 0 },
    validate: { count: 0, totalMs: 0 },
    solve: { count: 0, totalMs: 0 },
  };
  const add = (stage: StageTime['stage'], from?: number, to?: number) => {
    if (from === undefined || to === undefined || !(to >= from)) return;
    sum[stage].count++;
    sum[stage].totalMs += to - from;
  };
  const roundStart = new Map<number, number>();
  const bugStart = new Map<string, number>();
  const validatedAt = new Map<string, number>();
  const solveEnd = new Map<string, number>();
  const proposed = new Set<number>();
  for (const e of events) {
    const t = tsOf(e);
    if (Number.isNaN(t)) continue;
    switch (e.type) {
      case 'round-started':
        roundStart.set(e.round, t);
        break;
      case 'proposal':
      case 'proposal-failed':
        if (!proposed.has(e.round)) {
          proposed.add(e.round);
          add('propose', roundStart.get(e.round), t);
        }
        if (e.type === 'proposal' && !bugStart.has(e.bugId)) bugStart.set(e.bugId, t);
        break;
      case 'higher-order':
        if (e.bugId && !bugStart.has(e.bugId)) bugStart.set(e.bugId, t);
        break;
      case 'validated':
        if (!validatedAt.has(e.bugId)) {
          validatedAt.set(e.bugId, t);
          add('validate', bugStart.get(e.bugId), t);
        }
        break;
      case 'attempt-finished':
      case 'reward':
        if (validatedAt.has(e.bugId) && (e.type === 'attempt-finished' || e.solveRate !== undefined)) solveEnd.set(e.bugId, t);
        break;
      default:
        break;
    }
  }
  for (const [bug, end] of solveEnd) add('solve', validatedAt.get(bug), end);
  return (['propose', 'validate', 'solve'] as const).map((stage) => ({
    stage,
    count: sum[stage].count,
    totalMs: sum[stage].totalMs,
    meanMs: sum[stage].count ? sum[stage].totalMs / sum[stage].count : undefined,
  }));
}

/** Cumulative valid artifacts over the session's minutes (wall time from the first event). */
export function validOverTime(events: SessionEvent[]): Array<{ minutes: number; valid: number }> {
  const first = events.find((e) => !Number.isNaN(tsOf(e)));
  if (!first) return [];
  const t0 = tsOf(first);
  const seen = new Set<string>();
  const out: Array<{ minutes: number; valid: number }> = [];
  for (const e of events) {
    if (e.type !== 'validated' || !e.valid || seen.has(e.bugId)) continue;
    seen.add(e.bugId);
    out.push({ minutes: Math.round(((tsOf(e) - t0) / 60_000) * 100) / 100, valid: seen.size });
  }
  return out;
}

/** Parent/children links of a run's bugs. */
export function lineage(bugs: BugRecord[]): LineageBug[] {
  const children = new Map<string, string[]>();
  for (const b of bugs) if (b.parent) children.set(b.parent, [...(children.get(b.parent) ?? []), b.id]);
  return bugs.map((b) => ({
    id: b.id,
    order: b.order,
    round: b.round,
    status: b.status,
    valid: b.valid,
    firstFailure: b.firstFailure,
    solveRate: b.solveRate,
    rInject: b.rInject,
    attempts: b.attempts,
    solved: b.solved,
    tampered: b.tampered,
    parent: b.parent,
    parentAttempt: b.parentAttempt,
    children: children.get(b.id) ?? [],
  }));
}

function readEvents(runDir: string): SessionEvent[] {
  return JsonlFile.read<SessionEvent>(path.join(runDir, 'events.jsonl')).records.filter((e) => e && typeof e === 'object' && typeof e.type === 'string');
}

function policyText(p: SessionFile['config']['policy']): string {
  if (!p) return 'no model (bootstrap proposer)';
  return [p.kind, p.model].filter(Boolean).join(' ');
}

/** Everything the dashboard and the report show, from one run directory. */
export async function loadRunReport(runDir: string): Promise<RunReportData> {
  const store = new RunStore(path.resolve(runDir));
  const session = await readJson<SessionFile>(path.join(store.dir, 'session.json'));
  if (!session || typeof session !== 'object' || !session.config) {
    throw new Error(`${runDir} is not a run directory (no readable session.json)`);
  }
  const bugs = await store.listBugs();
  // Session time: what the session recorded (updated at each round's end); a run with none yet counts from its start.
  const activeMs = session.metrics?.activeMs && session.status !== 'running' ? session.metrics.activeMs : session.activeMs || sinceCreated(session);
  const m: SessionMetrics = await computeMetrics(store, session, activeMs);
  const events = readEvents(store.dir);
  const orders = [...new Set(bugs.map((b) => b.order))].sort((a, b) => a - b);
  const training = readTrainingMetrics(store.dir);
  return {
    format: REPORT_FORMAT,
    run: runInfo(store, session),
    totals: totalsOf(m, bugs, activeMs),
    perRound: m.perRound.map((r) => ({ round: r.round, bugs: r.bugs, meanRInject: r.meanRInject, meanRSolve: r.meanRSolve, tampered: r.tampered })),
    perPolicyVersion: m.perPolicyVersion,
    tampered: await tamperedAttempts(store, JsonlFile.read<TrajectoryRecord>(store.trajectories.file).records),
    histogram: HISTOGRAM_BINS.map((bin) => ({ bin, bugs: m.solveRateHistogram[bin] ?? 0 })),
    failuresPerCheck: CHECK_IDS.map((check) => ({ check, failures: m.failuresPerCheck[check] ?? 0 })),
    stages: stageTimes(events),
    validOverTime: validOverTime(events),
    orderMix: orders.map((order) => ({ order, bugs: bugs.filter((b) => b.order === order).length, valid: bugs.filter((b) => b.order === order && b.valid).length })),
    training,
    trainingFields: TRAINING_FIELDS,
    bugs: lineage(bugs),
    solving: Boolean(session.config.policy) || bugs.some((b) => (b.attempts ?? 0) > 0),
  };
}

function runInfo(store: RunStore, session: SessionFile): RunReportData['run'] {
  return {
    id: store.id,
    name: runName(session, store.id),
    kind: isInjectRun(session) ? 'inject' : 'selfplay',
    status: session.status,
    note: session.note,
    createdAt: session.createdAt,
    updatedAt: session.updatedAt,
    policy: policyText(session.config.policy),
    rounds: session.config.rounds,
    roundsDone: Object.keys(session.rounds ?? {}).length,
    attemptsPerBug: session.config.attempts,
    repoDir: session.config.repoDir,
  };
}

function totalsOf(m: SessionMetrics, bugs: BugRecord[], activeMs: number): RunReportData['totals'] {
  const judgedFirst = bugs.filter((b) => b.order === 1 && b.valid !== undefined);
  return {
    proposals: m.proposals,
    proposalsFailed: m.proposalsFailed,
    bugs: bugs.length,
    validBugs: m.validBugs,
    invalidBugs: m.invalidBugs,
    validShare: judgedFirst.length ? judgedFirst.filter((b) => b.valid).length / judgedFirst.length : undefined,
    higherOrderBugs: m.higherOrderBugs,
    attempts: m.attempts,
    solved: m.solved,
    tampered: m.tampered,
    meanRInject: m.meanRInject,
    meanRSolve: m.meanRSolve,
    artifactsPerHour: m.validBugs > 0 && activeMs > 0 ? m.artifactsPerHour : undefined,
    activeMs,
  };
}

function sinceCreated(s: SessionFile): number {
  if (s.status !== 'running') return 0;
  const t = Date.parse(s.createdAt);
  return Number.isNaN(t) ? 0 : Math.max(0, Date.now() - t);
}
