/**
 * Long-running work started from the editor (sessions, injections, solves,
 * validations, training) runs in the extension host, through core, with:
 * a cancellable progress notification (cancelling aborts the job's
 * AbortController, and core stops cleanly: sandboxes removed, the run
 * directory left resumable), a status bar item while anything runs, the log,
 * and a live summary per run for the Sessions view.
 */
import * as vscode from 'vscode';
import type { ValidationEvent } from '../core/judge/checks';
import { StageProgress, formatStage, notificationStages } from '../core/selfplay/progress';
import type { SessionEvent } from '../core/selfplay/session';
import type { Log } from './log';
import { setContext } from './state';

/** What the Sessions view shows about a run while a job works on it. */
export interface LiveState {
  title: string;
  phase: string;
  round?: number;
  rounds?: number;
  checks: number;
  proposals: number;
  valid: number;
  attempts: number;
  solved: number;
  startedAt: number;
}

export interface JobControl {
  readonly signal: AbortSignal;
  /** A line for the progress notification (and the status bar). */
  report(message: string, increment?: number): void;
  /** Tells the job which run directory it works in (for the Sessions view and Stop). */
  attachRun(runDir: string): void;
  /** Feeds a session event: progress text, live counters, the log. */
  onSessionEvent(e: SessionEvent): void;
  /** Feeds a validation's event (`subject`: what is validated): the progress text. */
  onValidationEvent(e: ValidationEvent, subject?: string): void;
}

export interface Job {
  id: number;
  title: string;
  kind: string;
  controller: AbortController;
  runDir?: string;
  live: LiveState;
  message: string;
  /** The stage line the notification shows: the same text as the CLI's (core/progress.ts). */
  stage: StageProgress;
}

export class Jobs implements vscode.Disposable {
  private seq = 0;
  private readonly jobs = new Map<number, Job>();
  private readonly status: vscode.StatusBarItem;
  private readonly changed = new vscode.EventEmitter<string | undefined>();
  /** Fires with the run directory whose live state changed (undefined: the job list changed). */
  readonly onDidChange = this.changed.event;

  constructor(private readonly log: Log) {
    this.status = vscode.window.createStatusBarItem('ssr.status', vscode.StatusBarAlignment.Left, 50);
    this.status.name = 'SSR';
    this.status.command = 'ssr.showLog';
  }

  get running(): Job[] {
    return [...this.jobs.values()];
  }

  liveFor(runDir: string): LiveState | undefined {
    for (const j of this.jobs.values()) if (j.runDir === runDir) return j.live;
    return undefined;
  }

  isRunning(runDir: string): boolean {
    return [...this.jobs.values()].some((j) => j.runDir === runDir);
  }

  /** Stops the jobs working on `runDir` (all jobs when undefined). Returns how many were asked to stop. */
  stop(runDir?: string): number {
    let n = 0;
    for (const j of this.jobs.values()) {
      if (runDir === undefined || j.runDir === runDir) {
        j.controller.abort();
        n++;
      }
    }
    return n;
  }

  /**
   * Runs `work` with a cancellable progress notification. Resolves with its
   * result; rejects with its error (a cancelled job rejects with the
   * CancelledError core throws, or resolves when core returns normally).
   */
  run<T>(title: string, kind: string, work: (ctl: JobControl) => Promise<T>): Promise<T> {
    const job: Job = {
      id: ++this.seq,
      title,
      kind,
      controller: new AbortController(),
      live: { title, phase: 'starting', checks: 0, proposals: 0, valid: 0, attempts: 0, solved: 0, startedAt: Date.now() },
      message: 'starting',
      stage: new StageProgress(),
    };
    this.jobs.set(job.id, job);
    this.update();
    this.log.info(`${title}: started`);
    return Promise.resolve(
      vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `SSR: ${title}`, cancellable: true }, (progress, token) =>
        this.inProgress(job, progress, token, work),
      ),
    ).finally(() => this.ended(job));
  }

  /** The job inside its notification: Cancel aborts it, its stage line and the elapsed time move the text. */
  private async inProgress<T>(job: Job, progress: vscode.Progress<{ message?: string; increment?: number }>, token: vscode.CancellationToken, work: (ctl: JobControl) => Promise<T>): Promise<T> {
    const sub = token.onCancellationRequested(() => {
      this.log.info(`${job.title}: cancelling`);
      job.controller.abort();
    });
    const show = (message: string, increment?: number) => {
      job.message = message;
      job.live.phase = message;
      progress.report({ message, increment });
      this.update();
      if (job.runDir) this.changed.fire(job.runDir);
    };
    // Core's stage model says what the CLI's live line says; the bar follows its runs done of runs planned.
    job.stage = notificationStages(show);
    // The elapsed time and the estimate move on between events, as on a terminal.
    const tick = setInterval(() => {
      const v = job.stage.view();
      if (!v) return;
      job.message = job.live.phase = formatStage(v);
      progress.report({ message: job.message });
    }, 1000);
    try {
      return await work(this.control(job, show));
    } finally {
      clearInterval(tick);
      sub.dispose();
    }
  }

  /** What the job's work sees of it. */
  private control(job: Job, show: (message: string, increment?: number) => void): JobControl {
    const ctl: JobControl = {
      signal: job.controller.signal,
      report: show,
      attachRun: (runDir) => {
        job.runDir = runDir;
        this.update();
        this.changed.fire(undefined);
      },
      onSessionEvent: (e) => this.onEvent(job, ctl, e),
      onValidationEvent: (e, subject) => {
        if (!job.stage.active) job.stage.start('validate', 0, 'starting');
        job.stage.onValidation(e, subject);
      },
    };
    return ctl;
  }

  private ended(job: Job): void {
    this.jobs.delete(job.id);
    this.log.info(`${job.title}: ended after ${Math.round((Date.now() - job.live.startedAt) / 1000)} s`);
    this.update();
    this.changed.fire(job.runDir);
    this.changed.fire(undefined);
  }

  private onEvent(job: Job, ctl: JobControl, e: SessionEvent): void {
    const l = job.live;
    if (e.type === 'session-started') ctl.attachRun(e.runDir);
    // The notification's text: the stage line (core/progress.ts), as the CLI draws it.
    job.stage.onSession(e);
    switch (e.type) {
      case 'session-started':
        l.rounds = e.config.rounds;
        this.log.info(`${job.title}: run ${e.runId} (${e.runDir})${e.resumed ? ', resumed' : ''}`);
        break;
      case 'round-started':
        l.round = e.round;
        l.checks = 0;
        break;
      case 'proposal':
        l.proposals++;
        this.log.info(`proposed ${e.bugId} (${e.source}${e.strategy ? `, ${e.strategy}` : ''})`);
        for (const n of e.notes ?? []) this.log.info(`  ${n}`);
        break;
      case 'proposal-failed':
        this.log.warn(`round ${e.round + 1}: no proposal: ${e.reason}`);
        break;
      case 'check':
        l.checks++;
        this.log.info(`  ${e.bugId} ${e.check.id}: ${e.check.status} (${e.check.detail.split('\n')[0]})`);
        break;
      case 'run-finished':
        this.log.info(`  ${e.bugId}: ran ${e.state} in ${(e.durationMs / 1000).toFixed(1)} s${e.ok ? '' : ' (failed)'}`);
        break;
      case 'validated':
        if (e.valid) l.valid++;
        this.log.info(`${e.bugId}: ${e.valid ? 'valid' : `invalid (${e.firstFailure})`}`);
        break;
      case 'attempt-finished':
        l.attempts++;
        if (e.solved) l.solved++;
        this.log.info(`${e.bugId} attempt ${e.attempt + 1}: ${e.solved ? 'solved' : e.tampered ? 'TAMPERED' : 'not solved'} (${e.detail})`);
        break;
      case 'reward':
        this.log.info(`${e.bugId}: r_inject ${e.rInject.toFixed(2)}${e.solveRate !== undefined ? `, solve rate ${e.solveRate.toFixed(2)}` : ''}${e.note ? ` (${e.note})` : ''}`);
        break;
      case 'higher-order':
        this.log.info(e.bugId ? `higher-order bug ${e.bugId} from ${e.parent} attempt ${e.attempt + 1}` : `no higher-order bug from ${e.parent} attempt ${e.attempt + 1}: ${e.skipped}`);
        break;
      case 'note':
        this.log.info(e.message);
        break;
      case 'error':
        this.log.error(`${e.bugId ? `${e.bugId}: ` : ''}${e.message}`);
        break;
      case 'session-finished':
        this.log.info(`${job.title}: session ${e.status}${e.note ? ` (${e.note})` : ''}`);
        break;
    }
    if (job.runDir) this.changed.fire(job.runDir);
  }

  private update(): void {
    const jobs = [...this.jobs.values()];
    setContext('ssr.sessionRunning', jobs.length > 0);
    if (jobs.length === 0) {
      this.status.hide();
      return;
    }
    const j = jobs[jobs.length - 1];
    this.status.text = `$(sync~spin) SSR: ${j.title}${jobs.length > 1 ? ` (+${jobs.length - 1})` : ''}`;
    this.status.tooltip = new vscode.MarkdownString(jobs.map((x) => `**${x.title}**: ${x.message}`).join('\n\n') + '\n\nClick to show the log.');
    this.status.show();
  }

  dispose(): void {
    this.stop();
    this.status.dispose();
    this.changed.dispose();
  }
}
