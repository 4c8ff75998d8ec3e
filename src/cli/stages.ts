/**
 * One status line per stage, drawn from core's progress model
 * (src/core/selfplay/progress.ts): on a terminal, a live line (cli-progress) that
 * says what runs now, runs done of runs planned, the elapsed time and, once
 * one run of the suite has been timed (T_suite), an estimate of what is
 * left; the line stays on screen when its stage ends and the next stage
 * gets its own. Without a terminal, the same text is written line by line,
 * once each time it says something new. The extension's progress
 * notification shows the same text.
 */
import { SingleBar } from 'cli-progress';
import type { ValidationEvent } from '../core/judge/checks';
import { StageProgress, formatStage, type StageChange, type StageView } from '../core/selfplay/progress';
import type { SessionEvent } from '../core/selfplay/session';

export class StageLines {
  private bar?: SingleBar;
  private timer?: NodeJS.Timeout;
  /** What the last written line said, elapsed time left out (line by line: nothing is written twice). */
  private lastKey = '';
  readonly model: StageProgress;

  constructor(
    private readonly tty = process.stderr.isTTY === true,
    private readonly write: (line: string) => void = (l) => process.stderr.write(l + '\n'),
    clock: () => number = Date.now,
  ) {
    this.model = new StageProgress((kind, view) => this.draw(kind, view), clock);
  }

  private newBar(view: StageView): void {
    this.bar = new SingleBar({ format: '{line}', hideCursor: true, clearOnComplete: false, stream: process.stderr, linewrap: false, fps: 4 });
    this.bar.start(Math.max(1, view.planned), view.done, { line: formatStage(view) });
  }

  private draw(kind: StageChange, view: StageView): void {
    const line = formatStage(view);
    if (!this.tty) {
      const key = `${view.label}|${view.now}|${view.done}|${view.planned}`;
      if (key !== this.lastKey) this.write(line);
      this.lastKey = kind === 'end' ? '' : key;
      return;
    }
    if (kind === 'start') {
      this.stopBar();
      this.newBar(view);
      this.timer = setInterval(() => {
        const v = this.model.view();
        if (v) this.bar?.update(v.done, { line: formatStage(v) });
      }, 1000);
      return;
    }
    if (!this.bar) return;
    this.bar.setTotal(Math.max(1, view.planned));
    this.bar.update(view.done, { line });
    if (kind === 'end') this.stopBar();
  }

  private stopBar(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.bar?.stop();
    this.bar = undefined;
  }

  /** T_suite, once known: the estimate is (planned - done) / parallel runs of it. */
  suiteTime(ms: number, parallel = 1): void {
    this.model.suiteTime(ms, parallel);
  }

  start(stage: string, planned = 0, now = 'starting'): void {
    this.model.start(stage, planned, now);
  }

  /** What runs now (and, when given, how many runs are done). */
  update(now: string, done?: number, planned?: number): void {
    this.model.update(now, done, planned);
  }

  runDone(): void {
    this.model.runDone();
  }

  onSession(e: SessionEvent): void {
    this.model.onSession(e);
  }

  onValidation(e: ValidationEvent, subject?: string): void {
    this.model.onValidation(e, subject);
  }

  /** A line of its own above the live one. */
  log(line: string): void {
    const view = this.model.view();
    if (this.bar && view) {
      this.bar.stop();
      process.stderr.write(`\r\x1b[2K${line}\n`);
      this.newBar(view);
    } else this.write(line);
  }

  /** Ends the current stage; its line stays with a final word. */
  end(final?: string): void {
    this.model.end(final);
    this.stopBar();
  }
}
