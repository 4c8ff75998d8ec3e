/**
 * Progress people can see: one status line per stage (a round of a session,
 * a validation, an injection), computed from the events core already emits
 * (SessionEvent, ValidationEvent). Each line says what runs now, runs done
 * of runs planned, the elapsed time and, once one run of the suite has been
 * timed (T_suite), an estimate of what is left. The CLI draws it as a live
 * line on a terminal and line by line otherwise (src/cli/stages.ts); the
 * extension's progress notification shows the same text (progressReport).
 * No clock of its own: the caller's (tests pass a fake one).
 */
import type { ValidationEvent } from '../judge/checks';
import type { SessionEvent } from './events';

/** One stage's line, as data. */
export interface StageView {
  /** The stage: "round 1/3", "validate", "inject", "solve". */
  label: string;
  /** What runs now. */
  now: string;
  /** What is counted: test runs (validation) or solver attempts. */
  unit: 'runs' | 'attempts';
  done: number;
  /** 0 when not known yet. */
  planned: number;
  elapsedMs: number;
  /** What is left, from T_suite: test runs only, once T_suite is known. */
  etaMs?: number;
  /** T_suite: one run of the suite. */
  suiteMs?: number;
  /** How far the whole job is, 0..1; it never goes back (a progress bar). */
  fraction: number;
}

export type StageChange = 'start' | 'update' | 'end';

/** 7s, 1m05s. */
export function secs(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** T_suite: tenths of a second under 10 s (a fast suite is not "0s"). */
function suiteSecs(ms: number): string {
  return ms < 9_950 ? `${(ms / 1000).toFixed(1)}s` : secs(ms);
}

/** The one-line text of a stage: `round 1/3: validating r000-ab12: buggy, weakened | runs 1/3 | 14s, ~6s left (T_suite 6.0s)`. */
export function formatStage(v: StageView): string {
  const count = v.planned ? ` | ${v.unit} ${v.done}/${v.planned}` : v.done ? ` | ${v.unit} ${v.done}` : '';
  const eta = v.etaMs !== undefined && v.suiteMs !== undefined ? `, ~${secs(v.etaMs)} left (T_suite ${suiteSecs(v.suiteMs)})` : '';
  return `${v.label}: ${v.now}${count} | ${secs(v.elapsedMs)}${eta}`;
}

/**
 * What a progress notification reports for a view: the same text as the
 * CLI's line, and the increment (in percent) since `reportedPct`.
 */
export function progressReport(v: StageView, reportedPct: number): { message: string; increment: number; pct: number } {
  const pct = Math.max(reportedPct, Math.min(100, Math.round(v.fraction * 1000) / 10));
  return { message: formatStage(v), increment: Math.round((pct - reportedPct) * 10) / 10, pct };
}

/**
 * A stage model whose every change becomes a progress notification's report
 * (the extension's jobs): the CLI line's text, and the bar's increment.
 */
export function notificationStages(report: (message: string, increment?: number) => void, clock: () => number = Date.now): StageProgress {
  let reportedPct = 0;
  return new StageProgress((_kind, view) => {
    const r = progressReport(view, reportedPct);
    reportedPct = r.pct;
    report(r.message, r.increment || undefined);
  }, clock);
}

/** The state machine behind the lines; `onChange` hears each start, update and end of a stage. */
export class StageProgress {
  private label = '';
  private now = '';
  private unit: StageView['unit'] = 'runs';
  private done = 0;
  private planned = 0;
  private startedAt = 0;
  private suiteMs?: number;
  private parallel = 1;
  private fraction = 0;
  /** Session: rounds planned, the current round, attempts per bug. */
  private rounds = 0;
  private round?: number;
  private attempts = 0;
  /** The bug whose runs or attempts are counted, and the states running now. */
  private subject?: string;
  private running: string[] = [];

  constructor(
    private readonly onChange: (kind: StageChange, view: StageView) => void = () => undefined,
    private readonly clock: () => number = Date.now,
  ) {}

  get active(): boolean {
    return this.label !== '';
  }

  view(): StageView | undefined {
    if (!this.label) return undefined;
    const left = this.unit === 'runs' && this.suiteMs !== undefined && this.planned > this.done ? this.planned - this.done : undefined;
    return {
      label: this.label,
      now: this.now,
      unit: this.unit,
      done: this.done,
      planned: this.planned,
      elapsedMs: Math.max(0, this.clock() - this.startedAt),
      ...(left !== undefined ? { etaMs: Math.ceil(left / this.parallel) * this.suiteMs!, suiteMs: this.suiteMs } : this.suiteMs !== undefined ? { suiteMs: this.suiteMs } : {}),
      fraction: this.fraction,
    };
  }

  /** The current line; '' between stages. */
  text(): string {
    const v = this.view();
    return v ? formatStage(v) : '';
  }

  /** T_suite, once known: the estimate is (planned - done) / parallel runs of it. */
  suiteTime(ms: number, parallel?: number): void {
    this.suiteMs = ms;
    if (parallel !== undefined) this.parallel = Math.max(1, parallel);
  }

  start(label: string, planned = 0, now = 'starting', unit: StageView['unit'] = 'runs'): void {
    this.end();
    this.label = label;
    this.startedAt = this.clock();
    this.done = 0;
    this.planned = planned;
    this.now = now;
    this.unit = unit;
    this.subject = undefined;
    this.running = [];
    this.changed('start');
  }

  /** What runs now (and, when given, how many runs are done of how many). */
  update(now: string, done?: number, planned?: number): void {
    if (!this.label) this.start('working', 0, now);
    this.now = now;
    if (done !== undefined) this.done = done;
    if (planned !== undefined) this.planned = planned;
    this.changed('update');
  }

  runDone(): void {
    if (!this.label) return;
    this.done++;
    this.changed('update');
  }

  /** Ends the current stage; its line stays with a final word. */
  end(final?: string): void {
    if (!this.label) return;
    if (final) this.now = final;
    this.changed('end');
    this.label = '';
  }

  /** A validation's events; `subject` names what is validated ("validating r000-ab12"). */
  onValidation(e: ValidationEvent, subject?: string): void {
    if (e.type === 'runs-planned') {
      this.subject = subject;
      this.unit = 'runs';
      this.running = [];
      if (e.suiteMs !== undefined) this.suiteMs = e.suiteMs;
      this.parallel = Math.max(1, e.parallel);
      const reused = e.cached?.length ? `the checks (${e.cached.join(', ')} from the session's cache)` : 'the checks';
      this.update(this.validatingNow(e.states.length ? 'starting sandboxes' : reused), 0, e.states.length);
    } else if (e.type === 'run-started') {
      this.running.push(e.state);
      this.update(this.validatingNow());
    } else if (e.type === 'run-finished') {
      this.running = this.running.filter((s, i) => i !== this.running.indexOf(e.run.state));
      // The first measurement stands (an original state that continues the proposer's run times only part of its repetitions).
      if (e.run.state === 'original' && e.run.ok && this.suiteMs === undefined) this.suiteMs = e.run.durationMs / Math.max(1, e.run.repetitions);
      this.done++;
      this.update(this.validatingNow(this.done >= this.planned && this.planned ? 'the checks' : undefined));
    }
  }

  private validatingNow(what?: string): string {
    const doing = what ?? (this.running.length ? this.running.join(', ') : 'waiting for a sandbox');
    return `validating${this.subject ? ` ${this.subject}` : ''}: ${doing}`;
  }

  /** A self-play session's events (also Inject Bug's one-round session and Solve Bug's attempts). */
  onSession(e: SessionEvent): void {
    switch (e.type) {
      case 'session-started':
        this.rounds = e.config.rounds;
        this.attempts = e.config.attempts;
        this.parallel = Math.max(1, e.config.concurrency);
        this.start('session', 0, e.resumed ? 'resuming' : 'starting');
        break;
      case 'round-started':
        this.end();
        this.round = e.round;
        this.start(`round ${e.round + 1}${this.rounds ? `/${this.rounds}` : ''}`, 0, 'proposing');
        break;
      case 'proposing':
        // A proposal made ahead of its round (overlap) does not take the line of the round being worked on.
        if (this.isCurrent(e.round)) this.update(`proposing: ${e.detail}`);
        break;
      case 'proposal':
        if (this.isCurrent(e.round)) {
          this.subject = e.bugId;
          this.update(`validating ${e.bugId}`, 0, 0);
        }
        break;
      case 'proposal-failed':
        if (this.isCurrent(e.round)) this.update('no proposal');
        break;
      case 'training':
        this.update(`training: ${e.detail}`);
        break;
      case 'interrupted':
        this.end('interrupted');
        break;
      case 'session-finished':
        if (this.label) this.end(e.status);
        break;
      default:
        this.onBug(e);
        break;
    }
  }

  /** The events of one bug's work: its validation's runs, its verdict, its solver attempts, the higher-order bugs it gives. */
  private onBug(e: SessionEvent): void {
    switch (e.type) {
      case 'runs-planned':
        this.onValidation({ type: 'runs-planned', states: e.states, cached: e.cached, parallel: e.parallel, suiteMs: e.suiteMs }, e.bugId);
        break;
      case 'run-started':
        this.subject = e.bugId;
        this.onValidation({ type: 'run-started', state: e.state }, e.bugId);
        break;
      case 'run-finished':
        this.onValidation({ type: 'run-finished', run: { state: e.state, ok: e.ok, durationMs: e.durationMs, repetitions: e.repetitions } }, e.bugId);
        break;
      case 'validated':
        this.update(`${e.bugId}: ${e.valid ? 'valid' : `invalid at ${e.firstFailure ?? '?'}`}`);
        break;
      case 'attempt-started':
        this.attemptStarted(e.bugId, e.attempt);
        break;
      case 'attempt-step':
        this.update(`solving ${e.bugId}: attempt ${e.attempt + 1}, step ${e.step + 1} (${e.tool || 'no tool'})`);
        break;
      case 'attempt-finished':
        this.done++;
        this.update(`${e.bugId}: attempt ${e.attempt + 1} ${e.solved ? 'solved' : e.tampered ? 'tampered' : 'not solved'}`);
        break;
      case 'higher-order':
        if (e.bugId) this.update(`higher-order bug ${e.bugId} from attempt ${e.attempt + 1}`);
        break;
      default:
        break;
    }
  }

  /** A solver attempt starts: the line counts the bug's attempts. */
  private attemptStarted(bugId: string, attempt: number): void {
    if (!this.label) this.start('solve', 0, 'starting', 'attempts');
    if (this.unit !== 'attempts' || this.subject !== bugId) {
      this.unit = 'attempts';
      this.subject = bugId;
      this.done = 0;
      this.planned = this.attempts;
    }
    this.update(`solving ${bugId}: attempt ${attempt + 1}`);
  }

  private isCurrent(round: number): boolean {
    return this.round === undefined || round === this.round;
  }

  private changed(kind: StageChange): void {
    const within = this.planned ? Math.min(1, this.done / this.planned) : 0;
    const whole = this.rounds && this.round !== undefined ? (this.round + within) / this.rounds : within;
    this.fraction = Math.max(this.fraction, Math.min(1, kind === 'end' && !this.rounds ? 1 : whole));
    this.onChange(kind, this.view()!);
  }
}
