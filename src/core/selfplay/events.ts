/**
 * The session's event stream (events.jsonl, and what the CLI's progress
 * display and the extension consume), and a validation's test runs turned
 * into session events.
 */
import type { CheckResult, ValidationEvent } from '../judge/checks';
import type { SelfPlayConfig } from './config';
import type { SessionFile, SessionMetrics } from './sessionFile';

/** The typed event stream the CLI's progress display and the extension consume. */
export type SessionEvent = { ts: string } & (
  | { type: 'session-started'; runId: string; runDir: string; resumed: boolean; config: SelfPlayConfig }
  | { type: 'round-started'; round: number }
  | { type: 'proposal'; round: number; bugId: string; order: number; source: string; strategy?: string; key?: string; notes?: string[] }
  | { type: 'proposal-failed'; round: number; reason: string }
  /** What the bootstrap proposer is doing now (its suite run, coverage trace, mutants). */
  | { type: 'proposing'; round: number; detail: string }
  /** Validation's test runs, for progress: the runs planned (`suiteMs`: T_suite when known from the session's cache), each start and end. */
  | { type: 'runs-planned'; bugId: string; states: string[]; cached?: string[]; parallel: number; suiteMs?: number }
  | { type: 'run-started'; bugId: string; state: string }
  | { type: 'run-finished'; bugId: string; state: string; ok: boolean; durationMs: number; repetitions: number }
  | { type: 'check'; bugId: string; check: CheckResult }
  | { type: 'validated'; bugId: string; valid: boolean; firstFailure?: string }
  | { type: 'attempt-started'; bugId: string; attempt: number }
  | { type: 'attempt-step'; bugId: string; attempt: number; step: number; tool: string }
  | { type: 'attempt-finished'; bugId: string; attempt: number; solved: boolean; reward?: number; detail: string; tampered?: boolean }
  | { type: 'reward'; bugId: string; solveRate?: number; rInject: number; note?: string }
  | { type: 'higher-order'; parent: string; attempt: number; bugId?: string; skipped?: string }
  | { type: 'training'; round: number; detail: string }
  | { type: 'note'; message: string }
  | { type: 'error'; message: string; bugId?: string; round?: number }
  /** The infrastructure failed (engine, container, disk): the session paused; `resume` is the command that continues it. */
  | { type: 'interrupted'; message: string; resume: string }
  | { type: 'session-finished'; status: SessionFile['status']; note?: string; metrics: SessionMetrics }
);

/** An event before its timestamp is added. */
export type EventBody = SessionEvent extends infer E ? (E extends { ts: string } ? Omit<E, 'ts'> : never) : never;

export interface SessionOptions {
  signal?: AbortSignal;
  onEvent?: (e: SessionEvent) => void;
}

/** A validation's test runs as session events (progress); its checks are not forwarded here. */
export function forwardRun(emit: (body: EventBody) => void, bugId: string, e: ValidationEvent): void {
  if (e.type === 'runs-planned') {
    emit({ type: 'runs-planned', bugId, states: e.states, ...(e.cached?.length ? { cached: e.cached } : {}), parallel: e.parallel, ...(e.suiteMs !== undefined ? { suiteMs: e.suiteMs } : {}) });
  }
  else if (e.type === 'run-started') emit({ type: 'run-started', bugId, state: e.state });
  else if (e.type === 'run-finished') emit({ type: 'run-finished', bugId, state: e.run.state, ok: e.run.ok, durationMs: e.run.durationMs, repetitions: e.run.repetitions });
}
