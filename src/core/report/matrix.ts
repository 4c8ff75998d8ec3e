/**
 * The test matrix of a bug: tests (rows) by the states validation ran
 * (columns: original, buggy, weakened, restore:<file>), read from the
 * validation report (its runs[] hold each state's results and log tail).
 * Inverse mutation reads off it: in a restore:<file> column, the tests of F
 * that pass are the ones that file flips.
 */
import type { ValidationReport } from '../judge/checks';

export type MatrixCell = 'passed' | 'failed' | 'missing' | 'error';

export interface MatrixState {
  state: string;
  ok: boolean;
  /** Why the state's run gave no results (a diff that does not apply, a script that hung). */
  error?: string;
  durationMs?: number;
  passed: number;
  failed: number;
  /** The run's log tail (untrusted text). */
  logTail?: string;
}

export interface MatrixRow {
  test: string;
  cells: MatrixCell[];
  /** In F: passed on the original, fails with the full bug. */
  inF: boolean;
  /** Broken: passed on the original, fails or is gone with the bug. */
  broken: boolean;
  /** Failed with the bug, passes or is gone once weakened. */
  hidden: boolean;
  flaky: boolean;
  /** The test lives in one of test_files.txt's oracle files. */
  oracle: boolean;
  /** restore:<file> states in which this F test passes again. */
  flippedBy: string[];
}

export interface TestMatrix {
  states: MatrixState[];
  rows: MatrixRow[];
  counts: { tests: number; inF: number; broken: number; hidden: number; flaky: number; oracle: number };
}

const STATE_RANK = (s: string) => (s === 'original' ? 0 : s === 'buggy' ? 1 : s === 'weakened' ? 2 : 3);

/** Whether a test id belongs to an oracle test file (`path::name`, `path:name`, or a dotted module `pkg.mod.Class.test`). */
export function testInFiles(test: string, files: string[]): boolean {
  for (const f of files) {
    const file = f.trim();
    if (!file) continue;
    if (test === file || test.startsWith(`${file}::`) || test.startsWith(`${file}:`) || test.startsWith(`${file} `)) return true;
    const mod = file.replace(/\.py$/, '').replace(/\//g, '.');
    if (mod !== file && (test === mod || test.startsWith(`${mod}.`) || test.includes(`(${mod}.`))) return true;
  }
  return false;
}

export function buildTestMatrix(report: ValidationReport, testFiles: string[] = []): TestMatrix {
  const runs = [...(report.runs ?? [])].sort((a, b) => STATE_RANK(a.state) - STATE_RANK(b.state) || a.state.localeCompare(b.state));
  const F = new Set(report.oracleFailing ?? []);
  const broken = new Set(report.brokenTests ?? []);
  const hidden = new Set(report.hiddenTests ?? []);
  const flaky = new Set(report.flaky ?? []);
  const names = new Set<string>();
  for (const r of runs) for (const t of Object.keys(r.results ?? {})) names.add(t);
  for (const t of [...F, ...broken, ...hidden, ...flaky]) names.add(t);
  const states: MatrixState[] = runs.map((r) => {
    const vals = Object.values(r.results ?? {});
    return {
      state: r.state,
      ok: r.ok,
      error: r.error,
      durationMs: r.durationMs,
      passed: vals.filter((v) => v === 'passed').length,
      failed: vals.filter((v) => v === 'failed').length,
      logTail: r.logTail,
    };
  });
  const rows: MatrixRow[] = [...names].map((test) => {
    const cells: MatrixCell[] = runs.map((r) => (!r.ok ? 'error' : r.results?.[test] ?? 'missing'));
    const flippedBy = F.has(test) ? runs.filter((r) => r.state.startsWith('restore:') && r.results?.[test] === 'passed').map((r) => r.state) : [];
    return { test, cells, inF: F.has(test), broken: broken.has(test), hidden: hidden.has(test), flaky: flaky.has(test), oracle: testInFiles(test, testFiles), flippedBy };
  });
  // The tests that tell the story first: F, then broken, hidden, flaky; then by name.
  const rank = (r: MatrixRow) => (r.inF ? 0 : r.broken ? 1 : r.hidden ? 2 : r.flaky ? 3 : 4);
  rows.sort((a, b) => rank(a) - rank(b) || a.test.localeCompare(b.test, 'en', { numeric: true }));
  return {
    states,
    rows,
    counts: {
      tests: rows.length,
      inF: rows.filter((r) => r.inF).length,
      broken: rows.filter((r) => r.broken).length,
      hidden: rows.filter((r) => r.hidden).length,
      flaky: rows.filter((r) => r.flaky).length,
      oracle: rows.filter((r) => r.oracle).length,
    },
  };
}
