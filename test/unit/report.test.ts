/**
 * src/core/report: the data each dashboard chart, the test matrix, the
 * lineage and the attempts comparison are built from, computed from a
 * fixture run with known numbers (test/fixtures/runs/reportRun.ts), and the
 * self-contained HTML report.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadRunReport, readTrainingMetrics, runName, stageTimes } from '../../src/core/report/data';
import { buildTestMatrix, testInFiles } from '../../src/core/report/matrix';
import { attemptSummaries, patchStats, reverseDiff, selectedAttempts } from '../../src/core/report/attempts';
import { buildReportModel, renderReportHtml } from '../../src/core/report/html';
import type { ValidationReport } from '../../src/core/judge/checks';
import { BUG_A, BUG_A_CHILD, BUG_B, BUG_C, bigValidation, validationA, writeReportRun } from '../fixtures/runs/reportRun';
import { ARTIFACTS } from '../helpers/paths';

const close = (a: number | undefined, b: number) => assert.ok(a !== undefined && Math.abs(a - b) < 1e-9, `${a} != ${b}`);

describe('report: the data behind the dashboard and ssr report', () => {
  let tmp: string;
  let run: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-report-'));
    run = writeReportRun(path.join(tmp, '20261120-100000-abcdef'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('per round mean r_inject and r_solve', async () => {
    const d = await loadRunReport(run);
    assert.deepEqual(d.perRound.map((r) => r.round), [0, 1, 2]);
    close(d.perRound[0].meanRInject, -0.35);
    close(d.perRound[0].meanRSolve, -0.5);
    close(d.perRound[1].meanRInject, -1);
    assert.equal(d.perRound[1].meanRSolve, undefined);
    close(d.perRound[2].meanRInject, -0.8);
    close(d.perRound[2].meanRSolve, 1);
    assert.deepEqual(d.perRound.map((r) => r.bugs), [2, 1, 1]);
  });

  it('solve-rate histogram, valid share, failures per check, order mix', async () => {
    const d = await loadRunReport(run);
    assert.deepEqual(Object.fromEntries(d.histogram.map((h) => [h.bin, h.bugs])), { 's=0': 1, '(0,0.25]': 0, '(0.25,0.5]': 1, '(0.5,0.75]': 0, '(0.75,1)': 0, 's=1': 1 });
    close(d.totals.validShare, 2 / 3);
    assert.equal(d.failuresPerCheck.length, 7);
    assert.deepEqual(d.failuresPerCheck.filter((f) => f.failures).map((f) => [f.check, f.failures]), [['bug_breaks_tests', 1]]);
    assert.deepEqual(d.orderMix, [{ order: 1, bugs: 3, valid: 2 }, { order: 2, bugs: 1, valid: 1 }]);
    assert.equal(d.totals.validBugs, 3);
    assert.equal(d.totals.attempts, 12);
    assert.equal(d.totals.solved, 6);
  });

  it('artifacts per hour and time per stage from the events', async () => {
    const d = await loadRunReport(run);
    close(d.totals.artifactsPerHour, 6);
    const st = Object.fromEntries(d.stages.map((s) => [s.stage, s]));
    assert.equal(st.propose.count, 3);
    assert.equal(st.propose.totalMs, 8000);
    assert.equal(st.validate.count, 4);
    assert.equal(st.validate.totalMs, 12000);
    close(st.validate.meanMs, 3000);
    assert.equal(st.solve.count, 3);
    assert.equal(st.solve.totalMs, 26000);
    assert.deepEqual(d.validOverTime.map((p) => p.valid), [1, 2, 3]);
    close(d.validOverTime[2].minutes, 46 / 60 > 0 ? Math.round((46 / 60) * 100) / 100 : 0);
  });

  it('stage times ignore a repeated event after a resume and pairs that run backwards', () => {
    const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
    const st = stageTimes([
      { ts: t(0), type: 'round-started', round: 0 },
      { ts: t(3), type: 'proposal', round: 0, bugId: 'b', order: 1, source: 'x' },
      { ts: t(5), type: 'validated', bugId: 'b', valid: true },
      { ts: t(50), type: 'validated', bugId: 'b', valid: true },
    ]);
    assert.deepEqual(st.map((s) => [s.stage, s.count, s.totalMs]), [['propose', 1, 3000], ['validate', 1, 2000], ['solve', 0, 0]]);
  });

  it('learning curves from the trainer metrics (other event types and a torn line skipped)', async () => {
    const pts = readTrainingMetrics(run);
    assert.deepEqual(pts.map((p) => p.update), [1, 2, 3]);
    assert.deepEqual(pts.map((p) => p.loss), [0.9, 0.7, 0.5]);
    assert.deepEqual(pts.map((p) => p.rewardSolver), [-0.5, 0, 0.5]);
    assert.deepEqual(pts.map((p) => p.rewardInjector), [-0.35, -0.2, undefined]);
    assert.deepEqual(pts.map((p) => p.klRollout), [undefined, 0.001, 0.002]);
    const d = await loadRunReport(run);
    assert.equal(d.training.length, 3);
    const bare = writeReportRun(path.join(tmp, 'untrained'), { training: false });
    assert.deepEqual(readTrainingMetrics(bare), []);
  });

  it('learning curves prefer the per-update train/updates.jsonl the trainer appends', () => {
    const dir = writeReportRun(path.join(tmp, 'with-updates'));
    const line = (policyStep: number, solver: number | null, injector: number | null, loss: number) =>
      JSON.stringify({ time: 1, out: 'o', model: 'm', policyStep, fromLine: 0, cursor: 10, steps: 4, resumedFrom: null, roles: { solver: { used: 8, meanReward: solver }, injector: { used: 2, meanReward: injector } }, solveRate: 0.5, validShare: 1, loss, kl: null, klRollout: 0.01, clipFrac: 0 });
    fs.writeFileSync(path.join(dir, 'train', 'updates.jsonl'), [line(1, -0.5, -0.2, 0.8), line(2, 0.25, null, 0.6)].join('\n') + '\n{"policyStep":3,"ro');
    const pts = readTrainingMetrics(dir);
    assert.deepEqual(pts.map((p) => [p.update, p.step, p.rewardSolver, p.rewardInjector, p.loss, p.kl, p.klRollout]), [
      [1, 1, -0.5, -0.2, 0.8, undefined, 0.01],
      [2, 2, 0.25, undefined, 0.6, undefined, 0.01],
    ]);
    assert.ok(pts.every((p) => p.source === path.join('train', 'updates.jsonl')));
  });

  it('lineage: the child knows its parent and attempt, the parent lists its child', async () => {
    const d = await loadRunReport(run);
    const a = d.bugs.find((b) => b.id === BUG_A)!;
    const c = d.bugs.find((b) => b.id === BUG_A_CHILD)!;
    assert.deepEqual(a.children, [BUG_A_CHILD]);
    assert.equal(c.parent, BUG_A);
    assert.equal(c.parentAttempt, 1);
    assert.equal(c.order, 2);
    assert.deepEqual(d.bugs.find((b) => b.id === BUG_B)!.children, []);
  });

  it('names runs for people', () => {
    const when = new Date(2026, 10, 29, 22, 28);
    assert.equal(runName({ createdAt: when.toISOString(), config: { rounds: 1, attempts: 1, higherOrder: false } as never }, 'x'), 'Inject Bug, 22:28');
    assert.equal(runName({ createdAt: when.toISOString(), config: { rounds: 4, attempts: 8, higherOrder: true } as never }, 'x'), 'Self-play, 4 rounds, 22:28');
  });

  it('test matrix: states in order, cells, F / hidden / flaky / oracle markers, inverse mutation flips', () => {
    const m = buildTestMatrix(validationA() as unknown as ValidationReport, ['tests/test_currency.py', 'tests/test_money.py']);
    assert.deepEqual(m.states.map((s) => s.state), ['original', 'buggy', 'weakened', 'restore:pyledger/currency.py', 'restore:pyledger/money.py']);
    assert.equal(m.counts.tests, 8);
    assert.equal(m.counts.inF, 4);
    assert.equal(m.counts.flaky, 1);
    assert.equal(m.counts.oracle, 7);
    const jpy = m.rows.find((r) => r.test === 'tests/test_currency.py::test_quantum_jpy')!;
    assert.deepEqual(jpy.cells, ['passed', 'failed', 'missing', 'passed', 'failed']);
    assert.ok(jpy.inF && jpy.hidden && jpy.oracle && !jpy.flaky);
    assert.deepEqual(jpy.flippedBy, ['restore:pyledger/currency.py']);
    const money = m.rows.find((r) => r.test === 'tests/test_money.py::test_to_minor_units_bhd')!;
    assert.deepEqual(money.flippedBy, ['restore:pyledger/money.py']);
    const flaky = m.rows.find((r) => r.flaky)!;
    assert.equal(flaky.test, 'tests/test_ledger.py::test_balance');
    assert.deepEqual(flaky.cells, ['missing', 'missing', 'missing', 'missing', 'missing']);
    assert.equal(flaky.oracle, false);
    assert.ok(m.rows.slice(0, 4).every((r) => r.inF), 'F first');
    assert.match(m.states[1].logTail!, /onerror/);
    assert.equal(m.states[1].failed, 4);
  });

  it('test matrix of a recorded validation (valid-three-files on pyledger, real runs): flips agree with inverse mutation', () => {
    const file = path.join(__dirname, '..', 'fixtures', 'runs', 'valid-three-files.validation.json');
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as ValidationReport;
    const testFiles = fs.readFileSync(path.join(ARTIFACTS, 'valid-three-files', 'test_files.txt'), 'utf8').split('\n').filter(Boolean);
    const m = buildTestMatrix(v, testFiles);
    assert.deepEqual(m.states.map((s) => s.state), ['original', 'buggy', 'weakened', ...v.bugFiles.map((f) => `restore:${f}`).sort()]);
    assert.equal(m.counts.tests, Object.keys(v.original!).length);
    assert.equal(m.counts.inF, v.oracleFailing.length);
    for (const im of v.inverseMutation) {
      const flipped = m.rows.filter((r) => r.flippedBy.includes(`restore:${im.file}`)).map((r) => r.test).sort();
      assert.deepEqual(flipped, [...im.flipped].sort(), `restore:${im.file}`);
    }
    assert.ok(m.states.every((s) => s.ok && (s.logTail ?? '').length > 0), 'every state has its log tail');
  });

  it('test matrix: names in natural order within a group (test_case_2 before test_case_10)', () => {
    const results = (ids: number[]) => Object.fromEntries(ids.map((i) => [`t.py::test_case_${i}`, 'passed' as const]));
    const all = [10, 2, 1, 100, 20];
    const run = (state: string) => ({ state, ok: true, results: results(all), durationMs: 1, repetitions: 1 });
    const v = { runs: [run('original'), run('buggy'), run('weakened')], original: results(all), oracleFailing: [], brokenTests: [], hiddenTests: [], flaky: [], bugFiles: [], inverseMutation: [] } as unknown as ValidationReport;
    assert.deepEqual(buildTestMatrix(v).rows.map((r) => r.test.split('_').pop()), ['1', '2', '10', '20', '100']);
  });

  it('test matrix: a state that did not run shows error cells', () => {
    const v = validationA() as unknown as ValidationReport;
    v.runs[2] = { state: 'weakened', ok: false, error: 'test_weaken.diff does not apply', durationMs: 3, repetitions: 0 };
    const m = buildTestMatrix(v);
    assert.ok(m.rows.every((r) => r.cells[2] === 'error'));
    assert.equal(m.states[2].error, 'test_weaken.diff does not apply');
  });

  it('oracle test files match pytest ids and unittest dotted ids', () => {
    assert.ok(testInFiles('tests/test_a.py::T::test_x', ['tests/test_a.py']));
    assert.ok(testInFiles('tests.test_a.T.test_x', ['tests/test_a.py']));
    assert.ok(testInFiles('test_x (tests.test_a.T.test_x)', ['tests/test_a.py']));
    assert.ok(!testInFiles('tests/test_ab.py::x', ['tests/test_a.py']));
  });

  it('a 2,000-test x 6-state matrix', () => {
    const m = buildTestMatrix(bigValidation(2000) as unknown as ValidationReport);
    assert.equal(m.rows.length, 2000);
    assert.equal(m.states.length, 6);
    assert.equal(m.counts.inF, 200);
  });

  it('attempts side by side: outcomes, step counts, files and the reference fix', async () => {
    const at = await attemptSummaries(run, BUG_A);
    assert.deepEqual(at.map((a) => [a.n, a.solved, a.reward, a.steps]), [[0, true, 1, 6], [1, false, -1, 9], [2, true, 1, 4], [3, false, -1, 12]]);
    assert.deepEqual(at[1].files, ['pyledger/currency.py']);
    assert.deepEqual(at[0].files.sort(), ['pyledger/currency.py', 'pyledger/money.py', 'pyledger/report.py']);
    assert.ok(at[0].patchLines.added > 0 && at[0].patchLines.added === at[0].patchLines.removed);
    const bug = fs.readFileSync(path.join(ARTIFACTS, 'valid-three-files', 'bug_inject.diff'), 'utf8');
    const fix = reverseDiff(bug);
    const b = patchStats(bug);
    const f = patchStats(fix);
    assert.deepEqual(f.files.sort(), b.files.sort());
    assert.equal(f.added, b.removed);
    assert.equal(f.removed, b.added);
    assert.match(fix, /^\+\s+return Decimal\(1\)\.scaleb\(-self\.minor_units\)$/m);
    assert.deepEqual(await attemptSummaries(run, BUG_C), []);
  });

  it('Compare Attempts takes the attempts selected in the tree: two or more of the clicked one\'s bug', () => {
    const bug = { runDir: '/r/run1', bugId: 'b1' };
    const node = (n: number, bugId = 'b1', runDir = '/r/run1') => ({ runDir, bugId, attempt: { n } });
    assert.deepEqual(selectedAttempts(node(3), [node(3), node(0), node(3)], bug), [0, 3]);
    assert.deepEqual(selectedAttempts(node(1), [node(1), node(2), node(0, 'other'), { runDir: '/r/run1', bugId: 'b1' }], bug), [1, 2], 'another bug\'s attempt and a bug node are left out');
    assert.equal(selectedAttempts(node(1), [node(1)], bug), undefined, 'one attempt: pick');
    assert.equal(selectedAttempts(node(1), undefined, bug), undefined, 'no selection (a command, a row click): pick');
    assert.equal(selectedAttempts(node(4), [node(1), node(2)], bug), undefined, 'the clicked attempt is outside the selection');
    assert.equal(selectedAttempts({ runDir: '/r/run1', bugId: 'b1' }, [node(1), node(2)], bug)?.length, 2, 'from the bug row with two attempts selected');
  });

  it('the HTML report: one file, a CSP, no remote URL, model text escaped, every chart with a table', async () => {
    const model = await buildReportModel(run);
    assert.ok(model.matrices[BUG_A]);
    const html = renderReportHtml(model, { chartJs: '/* chart */ window.Chart = function(){};', script: 'void 0;', css: 'body{}' });
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1];
    assert.ok(csp, 'a CSP meta');
    assert.match(csp!, /default-src 'none'/);
    assert.match(csp!, /script-src 'nonce-[A-Za-z0-9+/=]+'/);
    assert.doesNotMatch(html, /<script[^>]+src=/);
    assert.doesNotMatch(html, /<link[^>]+href=/);
    // Nothing is loaded from anywhere: no src/href/url() pointing at a host.
    assert.doesNotMatch(html, /(src|href)\s*=\s*["']?(https?:)?\/\//i);
    assert.doesNotMatch(html, /url\(\s*["']?(https?:)?\/\//i);
    // The log tail holds an <img onerror> payload: it must not appear as markup.
    assert.doesNotMatch(html, /<img src=x onerror/);
    assert.match(html, /\\u003cimg src=x onerror/);
    // Every <script> carries the nonce.
    const nonce = /'nonce-([^']+)'/.exec(csp!)![1];
    for (const m of html.matchAll(/<script([^>]*)>/g)) assert.match(m[1], new RegExp(`nonce="${nonce.replace(/[+/=]/g, '\\$&')}"|type="application/json"`));
  });
});
