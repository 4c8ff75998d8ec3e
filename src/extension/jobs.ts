/**
 * Long-running work started from the editor (sessions, injections, solves,
 * validations, training) runs in the extension host, through core, with:
 * a cancellable progress notification (cancelling aborts the job's
 * AbortController, and core stops cleanly: sandboxes removed, the run
 * directory left resumable), a status bar item while anything runs, the log,
 * and a live summary per run for the Sessions view.
 */
import * as vscode from 'vscode';
import type { SessionEvent } from '../core/selfplay';
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
}

export interface Job {
  id: number;
  title: string;
  kind: string;
  controller: AbortController;
  runDir?: string;
  live: LiveState;
  message: string;
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
    };
    this.jobs.set(job.id, job);
    this.update();
    this.log.info(`${title}: started`);
    return Promise.resolve(
      vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `SSR: ${title}`, cancellable: true },
        async (progress, token) => {
          const sub = token.onCancellationRequested(() => {
            this.log.info(`${title}: cancelling`);
            job.controller.abort();
          });
          const ctl: JobControl = {
            signal: job.controller.signal,
            report: (message, increment) => {
              job.message = message;
              job.live.phase = message;
              progress.report({ message, increment });
              this.update();
              if (job.runDir) this.changed.fire(job.runDir);
            },
            attachRun: (runDir) => {
              job.runDir = runDir;
              this.update();
              this.changed.fire(undefined);
            },
            onSessionEvent: (e) => this.onEvent(job, ctl, e),
          };
          try {
            return await work(ctl);
          } finally {
            sub.dispose();
          }
        },
      ),
    ).finally(() => {
      this.jobs.delete(job.id);
      this.log.info(`${title}: ended after ${Math.round((Date.now() - job.live.startedAt) / 1000)} s`);
      this.update();
      this.changed.fire(job.runDir);
      this.changed.fire(undefined);
    });
  }

  private onEvent(job: Job, ctl: JobControl, e: SessionEvent): void {
    const l = job.live;
    switch (e.type) {
      case 'session-started':
        ctl.attachRun(e.runDir);
        l.rounds = e.config.rounds;
        this.log.info(`${job.title}: run ${e.runId} (${e.runDir})${e.resumed ? ', resumed' : ''}`);
        ctl.report(e.resumed ? 'resuming' : 'starting');
        break;
      case 'round-started':
        l.round = e.round;
        l.checks = 0;
        ctl.report(`round ${e.round + 1}${l.rounds ? `/${l.rounds}` : ''}: proposing a bug`);
        break;
      case 'proposal':
        l.proposals++;
        this.log.info(`proposed ${e.bugId} (${e.source}${e.strategy ? `, ${e.strategy}` : ''})`);
        for (const n of e.notes ?? []) this.log.info(`  ${n}`);
        ctl.report(`validating ${e.bugId}`);
        break;
      case 'proposal-failed':
        this.log.warn(`round ${e.round + 1}: no proposal: ${e.reason}`);
        ctl.report(`round ${e.round + 1}: no proposal`);
        break;
      case 'check':
        l.checks++;
        this.log.info(`  ${e.bugId} ${e.check.id}: ${e.check.status} (${e.check.detail.split('\n')[0]})`);
        ctl.report(`validating ${e.bugId}: ${l.checks}/7 checks`);
        break;
      case 'validated':
        if (e.valid) l.valid++;
        this.log.info(`${e.bugId}: ${e.valid ? 'valid' : `invalid (${e.firstFailure})`}`);
        ctl.report(`${e.bugId}: ${e.valid ? 'valid' : `invalid (${e.firstFailure})`}`);
        break;
      case 'attempt-started':
        ctl.report(job.title.includes(e.bugId) ? `solver attempt ${e.attempt + 1}` : `${e.bugId}: solver attempt ${e.attempt + 1}`);
        break;
      case 'attempt-step':
        job.live.phase = `${e.bugId}: attempt ${e.attempt + 1}, step ${e.step + 1} (${e.tool || 'no tool'})`;
        this.changed.fire(job.runDir);
        break;
      case 'attempt-finished':
        l.attempts++;
        if (e.solved) l.solved++;
        this.log.info(`${e.bugId} attempt ${e.attempt + 1}: ${e.solved ? 'solved' : 'not solved'} (${e.detail})`);
        ctl.report(`${e.bugId}: attempt ${e.attempt + 1} ${e.solved ? 'solved' : 'not solved'} (${l.solved}/${l.attempts} solved)`);
        break;
      case 'reward':
        this.log.info(`${e.bugId}: r_inject ${e.rInject.toFixed(2)}${e.solveRate !== undefined ? `, solve rate ${e.solveRate.toFixed(2)}` : ''}${e.note ? ` (${e.note})` : ''}`);
        break;
      case 'higher-order':
        this.log.info(e.bugId ? `higher-order bug ${e.bugId} from ${e.parent} attempt ${e.attempt + 1}` : `no higher-order bug from ${e.parent} attempt ${e.attempt + 1}: ${e.skipped}`);
        break;
      case 'training':
        ctl.report(`training: ${e.detail}`);
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
