/**
 * Run directories for the end-to-end test, in the layout core's run store
 * writes (src/core/runs/store.ts):
 *
 *   recorded run   one valid bug (test/fixtures/artifacts/valid-removal) with
 *                  two solver attempts: the real trajectory recorded by
 *                  fixtures/record.ts (solved) and one carrying an HTML and
 *                  script payload in every text field (not solved)
 *   bench run      N bugs (default 200) and one trajectory of M steps
 *                  (default 500), for the benchmark
 *   corrupt run    a session.json edited by hand into invalid JSON
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ARTIFACT_FILES } from '../../src/core/artifact/artifact';
import { CHECK_IDS, DEFAULT_THRESHOLDS, type ValidationReport } from '../../src/core/judge/checks';
import { DEFAULT_CONFIG, SESSION_FORMAT, type SessionFile } from '../../src/core/selfplay/session';
import type { BugRecord } from '../../src/core/runs/store';
import { TRAJECTORY_FORMAT, type Trajectory, type TrajectoryStep } from '../../src/core/base/trajectory';

const ROOT = path.resolve(__dirname, '../..');
export const ARTIFACT_DIR = path.join(ROOT, 'test/fixtures/artifacts/valid-removal');
export const RECORDED = path.join(__dirname, 'fixtures/solve-valid-removal.json');
export const RECORDED_PATCH = path.join(__dirname, 'fixtures/solve-valid-removal.patch.diff');

export const PAYLOAD = '<img src=x onerror=alert(1)><script>alert(2)</script>';

export const RECORDED_RUN = '20000101-000000-e2erec';
export const BENCH_RUN = '19990101-000000-bench';
export const CORRUPT_RUN = '19980101-000000-corrupt';
export const RECORDED_BUG = 'r000-78e3df67e841';

function write(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value, null, 2) + '\n');
}

function session(id: string, repoDir: string, bugs: number, valid: number, attempts: number, solved: number): SessionFile {
  const t = '2000-01-01T00:00:00.000Z';
  return {
    format: SESSION_FORMAT,
    id,
    config: { ...DEFAULT_CONFIG, repoDir, rounds: bugs, attempts: 2, concurrency: 2, policy: { kind: 'replay', model: 'e2e' }, proposer: 'bootstrap' },
    status: 'finished',
    pid: 1,
    host: 'e2e-fixture',
    createdAt: t,
    updatedAt: t,
    activeMs: 60_000,
    resumes: 0,
    rounds: Object.fromEntries(Array.from({ length: bugs }, (_, r) => [String(r), { status: 'done' as const, finishedAt: t }])),
    counters: { proposals: bugs, validBugs: valid, attempts, solved, higherOrder: 0 },
  };
}

function validation(valid: boolean, failing?: (typeof CHECK_IDS)[number]): ValidationReport {
  const failAt = failing ? CHECK_IDS.indexOf(failing) : -1;
  return {
    valid,
    checks: CHECK_IDS.map((id, i) => ({
      id,
      status: failAt < 0 || i < failAt ? 'pass' : i === failAt ? 'fail' : 'skip',
      detail: failAt < 0 || i < failAt ? `${id}: ok (fixture)` : i === failAt ? `${id} failed: fixture verdict` : `skipped: needs ${failing}`,
      durationMs: 100 + i * 37,
    })),
    firstFailure: failing,
    thresholds: DEFAULT_THRESHOLDS,
    image: 'ssr-sandbox:bookworm',
    runs: [],
    flaky: [],
    brokenTests: ['tests/test_money.py::test_allocate_even'],
    oracleFailing: [],
    hiddenTests: [],
    bugFiles: ['pyledger/money.py', 'pyledger/ledger.py'],
    inverseMutation: [],
    durationMs: 1234,
  } as ValidationReport;
}

function copyArtifact(dst: string): void {
  fs.mkdirSync(dst, { recursive: true });
  for (const f of ARTIFACT_FILES) fs.copyFileSync(path.join(ARTIFACT_DIR, f), path.join(dst, f));
}

function bug(id: string, round: number, extra: Partial<BugRecord>): BugRecord {
  return { id, order: 1, round, source: 'fixture', strategy: 'removal', status: 'done', createdAt: `2000-01-01T00:00:${String(round % 60).padStart(2, '0')}.000Z`, updatedAt: '2000-01-01T00:00:00.000Z', ...extra };
}

/** A trajectory whose every text field holds an HTML and script payload. */
export function payloadTrajectory(): Trajectory {
  const steps: TrajectoryStep[] = [];
  const messages: Trajectory['messages'] = [
    { role: 'system', content: 'system prompt' },
    { role: 'user', content: `Task with a payload: ${PAYLOAD}` },
  ];
  for (let i = 0; i < 3; i++) {
    messages.push({ role: 'assistant', content: `Thought ${i + 1}: ${PAYLOAD} <b>not bold</b>` });
    steps.push({
      index: i,
      messageIndex: messages.length - 1,
      tool: 'bash',
      arguments: `echo '${PAYLOAD}'`,
      output: `${PAYLOAD}\n<a href="javascript:alert(3)">link</a>`,
      exitCode: i === 2 ? 1 : 0,
      truncated: false,
      durationMs: 12 + i,
    });
    messages.push({ role: 'user', content: steps[i].output });
  }
  return {
    format: TRAJECTORY_FORMAT,
    id: `${RECORDED_BUG}-s1`,
    role: 'solver',
    policy: { kind: 'replay', model: `<script>alert(4)</script>` },
    task: { repo: 'pyledger', artifactId: '78e3df67e841', attempt: 1 },
    messages,
    steps,
    tokens: [],
    status: 'submitted',
    reward: -1,
    timings: { startedAt: '2000-01-01T00:00:00.000Z', totalMs: 100 },
  };
}

/** A synthetic solver trajectory of `n` steps (the benchmark's). */
export function longTrajectory(n: number, id: string): Trajectory {
  const messages: Trajectory['messages'] = [
    { role: 'system', content: 'system prompt' },
    { role: 'user', content: 'Make the tests in the patch pass.' },
  ];
  const steps: TrajectoryStep[] = [];
  for (let i = 0; i < n; i++) {
    messages.push({ role: 'assistant', content: `Step ${i + 1}: looking at the ledger again (${'x'.repeat(i % 80)}).\n\n<tool: bash>\ngrep -n balance pyledger/ledger.py | head -${(i % 30) + 1}\n</tool>` });
    const output = Array.from({ length: 20 + (i % 40) }, (_, k) => `pyledger/ledger.py:${k + 1}:    balance = self._balances.get(account, ${k})`).join('\n');
    steps.push({
      index: i,
      messageIndex: messages.length - 1,
      tool: i % 7 === 6 ? 'edit' : 'bash',
      arguments: `grep -n balance pyledger/ledger.py | head -${(i % 30) + 1}`,
      output,
      exitCode: i % 11 === 10 ? 1 : 0,
      truncated: false,
      durationMs: 20 + (i % 50),
    });
    messages.push({ role: 'user', content: output });
  }
  return {
    format: TRAJECTORY_FORMAT,
    id,
    role: 'solver',
    policy: { kind: 'replay', model: 'bench' },
    task: { repo: 'pyledger' },
    messages,
    steps,
    tokens: [],
    status: 'max_turns',
    reward: -1,
    timings: { startedAt: '2000-01-01T00:00:00.000Z', totalMs: n * 40 },
  };
}

/** The recorded run: one valid bug, a recorded real attempt (solved) and a payload attempt. */
export function writeRecordedRun(runsRoot: string, repoDir: string): string {
  const dir = path.join(runsRoot, RECORDED_RUN);
  write(path.join(dir, 'session.json'), session(RECORDED_RUN, repoDir, 1, 1, 2, 1));
  const bdir = path.join(dir, 'bugs', RECORDED_BUG);
  copyArtifact(path.join(bdir, 'artifact'));
  write(path.join(bdir, 'bug.json'), bug(RECORDED_BUG, 0, { valid: true, attempts: 2, solved: 1, solveRate: 0.5, rInject: 0.1 }));
  write(path.join(bdir, 'validation.json'), validation(true));
  const a0 = path.join(bdir, 'attempts', '0');
  write(path.join(a0, 'trajectory.json'), fs.readFileSync(RECORDED, 'utf8'));
  write(path.join(a0, 'pred_patch.diff'), fs.readFileSync(RECORDED_PATCH, 'utf8'));
  write(path.join(a0, 'evaluation.json'), { solved: true, reward: 1, status: 'submitted', evaluation: { solved: true, reward: 1, detail: 'solved: every test of the weakened set passes (fixture)' } });
  const a1 = path.join(bdir, 'attempts', '1');
  write(path.join(a1, 'trajectory.json'), payloadTrajectory());
  write(path.join(a1, 'evaluation.json'), { solved: false, reward: -1, status: 'submitted', evaluation: { solved: false, reward: -1, detail: `not solved: ${PAYLOAD}` } });
  write(path.join(dir, 'events.jsonl'), '');
  // The trainer's input: one GRPO group (the two attempts), with their rewards.
  const rec = (t: Trajectory, attempt: number, reward: number, rel: string) =>
    JSON.stringify({ id: t.id, role: 'solver', group: `solve:${RECORDED_BUG}`, reward, bugId: RECORDED_BUG, round: 0, attempt, path: rel, messages: t.messages, tokens: t.tokens, policy: t.policy });
  const recorded = JSON.parse(fs.readFileSync(RECORDED, 'utf8')) as Trajectory;
  write(
    path.join(dir, 'trajectories.jsonl'),
    [rec(recorded, 0, 1, `bugs/${RECORDED_BUG}/attempts/0/trajectory.json`), rec(payloadTrajectory(), 1, -1, `bugs/${RECORDED_BUG}/attempts/1/trajectory.json`)].join('\n') + '\n',
  );
  return dir;
}

/** The benchmark run: `bugs` bugs, the first with an attempt of `steps` steps. */
export function writeBenchRun(runsRoot: string, repoDir: string, bugs = 200, steps = 500): string {
  const dir = path.join(runsRoot, BENCH_RUN);
  const valid = Math.ceil(bugs * 0.75);
  write(path.join(dir, 'session.json'), session(BENCH_RUN, repoDir, bugs, valid, 1, 0));
  for (let i = 0; i < bugs; i++) {
    const id = `r${String(i).padStart(3, '0')}-bench${String(i).padStart(7, '0')}`;
    const bdir = path.join(dir, 'bugs', id);
    copyArtifact(path.join(bdir, 'artifact'));
    const isValid = i % 4 !== 3;
    const s = isValid ? (i % 5) / 4 : undefined;
    write(
      path.join(bdir, 'bug.json'),
      bug(id, i, isValid ? { valid: true, attempts: 4, solved: Math.round((s ?? 0) * 4), solveRate: s, rInject: s === 0 || s === 1 ? -0.8 : 1 - 1.8 * (s ?? 0) } : { valid: false, status: 'invalid', firstFailure: 'bug_breaks_tests', rInject: -1 }),
    );
    write(path.join(bdir, 'validation.json'), isValid ? validation(true) : validation(false, 'bug_breaks_tests'));
    if (i === 0) {
      const a0 = path.join(bdir, 'attempts', '0');
      write(path.join(a0, 'trajectory.json'), longTrajectory(steps, `${id}-s0`));
      write(path.join(a0, 'evaluation.json'), { solved: false, reward: -1, status: 'max_turns' });
    }
  }
  return dir;
}

/** A run whose session.json was edited into invalid JSON. */
export function writeCorruptRun(runsRoot: string): string {
  const dir = path.join(runsRoot, CORRUPT_RUN);
  write(path.join(dir, 'session.json'), '{ "format": "ssr-session/1", "id": oops this is not JSON');
  return dir;
}
