/**
 * The stage lines (core/progress.ts) from a known event sequence, with a
 * fake clock: the exact text, the CLI's line-by-line log (no terminal), and
 * the extension's notification reports, which say the same text.
 */
import { strict as assert } from 'node:assert';
import type { ValidationEvent } from '../../src/core/judge/checks';
import { StageProgress, formatStage, notificationStages, secs } from '../../src/core/selfplay/progress';
import { DEFAULT_CONFIG, type SessionEvent } from '../../src/core/selfplay/session';
import { StageLines } from '../../src/cli/stages';

type Body = SessionEvent extends infer E ? (E extends { ts: string } ? Omit<E, 'ts'> : never) : never;

/** A two-round session with a solver: [clock ms, event]. */
const SESSION: Array<[number, Body]> = [
  [0, { type: 'session-started', runId: 'run1', runDir: '/tmp/run1', resumed: false, config: { ...DEFAULT_CONFIG, repoDir: '/repo', rounds: 2, attempts: 2, concurrency: 2 } }],
  [1000, { type: 'round-started', round: 0 }],
  [3000, { type: 'proposing', round: 0, detail: 'pytest suite (3 test file(s), runner pytest)' }],
  [5000, { type: 'proposing', round: 1, detail: 'made ahead: not this round' }],
  [10000, { type: 'proposal', round: 0, bugId: 'r000-aaaa', order: 1, source: 'bootstrap', strategy: 'removal' }],
  [11000, { type: 'runs-planned', bugId: 'r000-aaaa', states: ['original', 'buggy', 'weakened'], parallel: 2 }],
  [12000, { type: 'run-started', bugId: 'r000-aaaa', state: 'original' }],
  [12000, { type: 'run-started', bugId: 'r000-aaaa', state: 'buggy' }],
  [24000, { type: 'run-finished', bugId: 'r000-aaaa', state: 'original', ok: true, durationMs: 12000, repetitions: 2 }],
  [25000, { type: 'run-finished', bugId: 'r000-aaaa', state: 'buggy', ok: true, durationMs: 7000, repetitions: 1 }],
  [25000, { type: 'run-started', bugId: 'r000-aaaa', state: 'weakened' }],
  [31000, { type: 'run-finished', bugId: 'r000-aaaa', state: 'weakened', ok: true, durationMs: 6000, repetitions: 1 }],
  [32000, { type: 'validated', bugId: 'r000-aaaa', valid: true }],
  [33000, { type: 'attempt-started', bugId: 'r000-aaaa', attempt: 0 }],
  [40000, { type: 'attempt-step', bugId: 'r000-aaaa', attempt: 0, step: 0, tool: 'bash' }],
  [50000, { type: 'attempt-finished', bugId: 'r000-aaaa', attempt: 0, solved: true, detail: 'solved' }],
  [51000, { type: 'round-started', round: 1 }],
  [52000, { type: 'proposal', round: 1, bugId: 'r001-bbbb', order: 1, source: 'bootstrap' }],
  [52000, { type: 'runs-planned', bugId: 'r001-bbbb', states: ['buggy', 'weakened'], parallel: 2, suiteMs: 6000 }],
  [60000, { type: 'session-finished', status: 'cancelled', metrics: {} as never }],
];

function play<T>(events: Array<[number, T]>, feed: (e: T) => void, clock: { t: number }): void {
  for (const [t, e] of events) {
    clock.t = t;
    feed(e);
  }
}

describe('progress: one stage line per stage, from core events', () => {
  it('formats a stage: what runs now, runs done of planned, elapsed, the estimate from T_suite', () => {
    const v = { label: 'validate', now: 'validating: buggy', unit: 'runs' as const, done: 1, planned: 3, elapsedMs: 14_400, etaMs: 12_000, suiteMs: 6_000, fraction: 0 };
    assert.equal(formatStage(v), 'validate: validating: buggy | runs 1/3 | 14s, ~12s left (T_suite 6.0s)');
    assert.equal(formatStage({ ...v, planned: 0, etaMs: undefined, suiteMs: undefined }), 'validate: validating: buggy | runs 1 | 14s');
    assert.equal(formatStage({ ...v, done: 0, planned: 0, etaMs: undefined }), 'validate: validating: buggy | 14s');
    assert.equal(secs(125_000), '2m05s');
  });

  it('a session: the CLI writes these lines without a terminal', () => {
    const clock = { t: 0 };
    const lines: string[] = [];
    const cli = new StageLines(false, (l) => lines.push(l), () => clock.t);
    play(SESSION, (e) => cli.onSession({ ts: '', ...e } as SessionEvent), clock);
    assert.deepEqual(lines, [
      'session: starting | 0s',
      'round 1/2: proposing | 0s',
      'round 1/2: proposing: pytest suite (3 test file(s), runner pytest) | 2s',
      'round 1/2: validating r000-aaaa | 9s',
      'round 1/2: validating r000-aaaa: starting sandboxes | runs 0/3 | 10s',
      'round 1/2: validating r000-aaaa: original | runs 0/3 | 11s',
      'round 1/2: validating r000-aaaa: original, buggy | runs 0/3 | 11s',
      // T_suite: the original state's run of 12 s held two repetitions; one run left for two sandboxes.
      'round 1/2: validating r000-aaaa: buggy | runs 1/3 | 23s, ~6s left (T_suite 6.0s)',
      'round 1/2: validating r000-aaaa: waiting for a sandbox | runs 2/3 | 24s, ~6s left (T_suite 6.0s)',
      'round 1/2: validating r000-aaaa: weakened | runs 2/3 | 24s, ~6s left (T_suite 6.0s)',
      'round 1/2: validating r000-aaaa: the checks | runs 3/3 | 30s',
      'round 1/2: r000-aaaa: valid | runs 3/3 | 31s',
      'round 1/2: solving r000-aaaa: attempt 1 | attempts 0/2 | 32s',
      'round 1/2: solving r000-aaaa: attempt 1, step 1 (bash) | attempts 0/2 | 39s',
      'round 1/2: r000-aaaa: attempt 1 solved | attempts 1/2 | 49s',
      'round 2/2: proposing | 0s',
      'round 2/2: validating r001-bbbb | 1s',
      // T_suite is known from the start of the second round's validation.
      'round 2/2: validating r001-bbbb: starting sandboxes | runs 0/2 | 1s, ~6s left (T_suite 6.0s)',
      'round 2/2: cancelled | runs 0/2 | 9s, ~6s left (T_suite 6.0s)',
    ]);
  });

  it('the extension\'s notification says what the CLI line says, and its bar follows the runs', () => {
    const clock = { t: 0 };
    const cli = new StageLines(false, () => undefined, () => clock.t);
    const reports: Array<{ message: string; increment?: number }> = [];
    const ext = notificationStages((message, increment) => reports.push({ message, increment }), () => clock.t);
    for (const [t, e] of SESSION) {
      clock.t = t;
      const ev = { ts: '', ...e } as SessionEvent;
      const before = reports.length;
      cli.onSession(ev);
      ext.onSession(ev);
      // Each report is the line the CLI shows at that moment (a proposal made ahead of its round changes neither).
      if (cli.model.active && reports.length > before) assert.equal(reports[reports.length - 1].message, cli.model.text(), `after ${e.type}`);
    }
    assert.ok(reports.some((r) => r.message === 'round 1/2: validating r000-aaaa: buggy | runs 1/3 | 23s, ~6s left (T_suite 6.0s)'));
    // Percent of the whole session: round 1 of 2 is half of it once its three runs are done; the bar never goes back.
    const increments = reports.map((r) => r.increment).filter((x): x is number => x !== undefined);
    assert.deepEqual(increments, [16.7, 16.6, 16.7]);
  });

  it('a policy injector: its steps while proposing, then its artifact\'s validation runs', () => {
    const clock = { t: 0 };
    const lines: string[] = [];
    const cli = new StageLines(false, (l) => lines.push(l), () => clock.t);
    const events: Array<[number, Body]> = [
      [0, { type: 'round-started', round: 0 }],
      [2000, { type: 'proposing', round: 0, detail: 'the injector, step 1 (bash)' }],
      [9000, { type: 'runs-planned', bugId: 'inject-r0', states: ['original', 'buggy', 'weakened'], parallel: 3 }],
      [9500, { type: 'run-started', bugId: 'inject-r0', state: 'original' }],
    ];
    play(events, (e) => cli.onSession({ ts: '', ...e } as SessionEvent), clock);
    assert.deepEqual(lines, [
      'round 1: proposing | 0s',
      'round 1: proposing: the injector, step 1 (bash) | 2s',
      'round 1: validating inject-r0: starting sandboxes | runs 0/3 | 9s',
      'round 1: validating inject-r0: original | runs 0/3 | 10s',
    ]);
  });

  it('runs the session already has (the proposer\'s, the original state\'s) are not counted, and say so when none is left', () => {
    const clock = { t: 0 };
    const lines: string[] = [];
    const cli = new StageLines(false, (l) => lines.push(l), () => clock.t);
    const events: Array<[number, Body]> = [
      [0, { type: 'round-started', round: 0 }],
      [1000, { type: 'runs-planned', bugId: 'r000-aaaa', states: ['original'], cached: ['buggy', 'weakened'], parallel: 2, suiteMs: 2000 }],
      [5000, { type: 'runs-planned', bugId: 'r001-bbbb', states: [], cached: ['original', 'buggy', 'weakened'], parallel: 2 }],
    ];
    play(events, (e) => cli.onSession({ ts: '', ...e } as SessionEvent), clock);
    assert.deepEqual(lines, [
      'round 1: proposing | 0s',
      'round 1: validating r000-aaaa: starting sandboxes | runs 0/1 | 1s, ~2s left (T_suite 2.0s)',
      "round 1: validating r001-bbbb: the checks (original, buggy, weakened from the session's cache) | 5s",
    ]);
  });

  it('ssr validate: the T_suite of a cached original state gives the estimate at once', () => {
    const clock = { t: 0 };
    const lines: string[] = [];
    const cli = new StageLines(false, (l) => lines.push(l), () => clock.t);
    const ext: string[] = [];
    const model = notificationStages((m) => ext.push(m), () => clock.t);
    const events: Array<[number, ValidationEvent]> = [
      [1000, { type: 'runs-planned', states: ['buggy', 'weakened'], parallel: 1, suiteMs: 5000 }],
      [2000, { type: 'run-started', state: 'buggy' }],
      [7000, { type: 'run-finished', run: { state: 'buggy', ok: true, durationMs: 5000, repetitions: 1 } }],
    ];
    cli.start('validate', 0, 'starting');
    model.start('validate', 0, 'starting');
    play(events, (e) => {
      cli.onValidation(e);
      model.onValidation(e);
    }, clock);
    clock.t = 12000;
    cli.end('valid');
    model.end('valid');
    assert.deepEqual(lines, [
      'validate: starting | 0s',
      'validate: validating: starting sandboxes | runs 0/2 | 1s, ~10s left (T_suite 5.0s)',
      'validate: validating: buggy | runs 0/2 | 2s, ~10s left (T_suite 5.0s)',
      'validate: validating: waiting for a sandbox | runs 1/2 | 7s, ~5s left (T_suite 5.0s)',
      'validate: valid | runs 1/2 | 12s, ~5s left (T_suite 5.0s)',
    ]);
    assert.deepEqual(ext, lines);
  });

  it('a stage model without listeners has no line between stages', () => {
    const m = new StageProgress();
    assert.equal(m.text(), '');
    m.update('working on it');
    assert.match(m.text(), /^working: working on it \| 0s$/);
  });
});
