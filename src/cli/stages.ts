/**
 * One status line per stage: on a terminal, a live line (cli-progress) that
 * says what runs now, runs done of runs planned, the elapsed time and, once
 * one run of the suite has been timed (T_suite), an estimate of what is
 * left; the line stays on screen when its stage ends and the next stage
 * gets its own. Without a terminal, the same facts are written line by line.
 */
import { SingleBar } from 'cli-progress';

function secs(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export class StageLines {
  private bar?: SingleBar;
  private stage = '';
  private started = 0;
  private done = 0;
  private planned = 0;
  private now = '';
  private tSuiteMs?: number;
  private parallel = 1;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly tty = process.stderr.isTTY === true,
    private readonly write: (line: string) => void = (l) => process.stderr.write(l + '\n'),
  ) {}

  /** T_suite, once known: the estimate is (planned - done) / parallel runs of it. */
  suiteTime(ms: number, parallel = 1): void {
    this.tSuiteMs = ms;
    this.parallel = Math.max(1, parallel);
  }

  private text(): string {
    const elapsed = Date.now() - this.started;
    const left = this.tSuiteMs !== undefined && this.planned ? Math.max(0, this.planned - this.done) : undefined;
    const eta = left !== undefined ? `, ~${secs((Math.ceil(left / this.parallel) * this.tSuiteMs!))} left (T_suite ${secs(this.tSuiteMs!)})` : '';
    const runs = this.planned ? ` | runs ${this.done}/${this.planned}` : this.done ? ` | runs ${this.done}` : '';
    return `${this.stage}: ${this.now}${runs} | ${secs(elapsed)}${eta}`;
  }

  start(stage: string, planned = 0, now = 'starting'): void {
    this.end();
    this.stage = stage;
    this.started = Date.now();
    this.done = 0;
    this.planned = planned;
    this.now = now;
    if (this.tty) {
      this.bar = new SingleBar({ format: '{line}', hideCursor: true, clearOnComplete: false, stream: process.stderr, linewrap: false, fps: 4 });
      this.bar.start(Math.max(1, planned), 0, { line: this.text() });
      this.timer = setInterval(() => this.bar?.update(this.done, { line: this.text() }), 1000);
    } else this.write(this.text());
  }

  /** What runs now (and, when given, how many runs are done). */
  update(now: string, done?: number, planned?: number): void {
    if (!this.stage) this.start('working');
    this.now = now;
    if (done !== undefined) this.done = done;
    if (planned !== undefined) this.planned = planned;
    if (this.bar) this.bar.update(this.done, { line: this.text() });
    else this.write(this.text());
  }

  runDone(): void {
    this.done++;
    if (this.bar) this.bar.update(this.done, { line: this.text() });
  }

  /** A line of its own above the live one. */
  log(line: string): void {
    if (this.bar) {
      this.bar.stop();
      this.bar = undefined;
      process.stderr.write(`\r\x1b[2K${line}\n`);
      this.bar = new SingleBar({ format: '{line}', hideCursor: true, clearOnComplete: false, stream: process.stderr, linewrap: false, fps: 4 });
      this.bar.start(Math.max(1, this.planned), this.done, { line: this.text() });
    } else this.write(line);
  }

  /** Ends the current stage; its line stays with a final word. */
  end(final?: string): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (!this.stage) return;
    if (final) this.now = final;
    if (this.bar) {
      this.bar.update(this.done, { line: this.text() });
      this.bar.stop();
      this.bar = undefined;
    } else if (final) this.write(this.text());
    this.stage = '';
  }
}

/** The test runs a validation plans: original, buggy, weakened, and one per bug file when there are several. */
export function plannedRuns(a: { bugInjectDiff: string }, repeat = 1): number {
  const files = new Set<string>();
  for (const m of a.bugInjectDiff.matchAll(/^diff --git a\/(\S+) b\//gm)) files.add(m[1]);
  return (3 + (files.size > 1 ? files.size : 0)) * Math.max(1, repeat);
}
