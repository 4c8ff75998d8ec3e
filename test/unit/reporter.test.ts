import * as assert from 'node:assert/strict';
import { corroborateSolverRun, corroboratedBroken, reporterStatus } from '../../src/core/judge/reporter';
import type { ReporterRecords } from '../../src/core/judge/testRun';

const rep = (tests: ReporterRecords['tests'], more: Partial<ReporterRecords> = {}): ReporterRecords => ({
  tests,
  collectErrors: [],
  plugins: [{ key: 'ssr_judge_pytest=ssr_judge_pytest', file: '/ssr/reporter/ssr_judge_pytest.py' }],
  identityChanged: [],
  complete: true,
  sessions: 1,
  ...more,
});
const ctx = { addedPaths: ['pkg/a.py'], repoPath: '/repo', expectSession: true };

describe("the judge's reporter against the parser", () => {
  it('maps a parser id to the reporter outcome, a collection error failing every test under it', () => {
    const r = rep({ 't/a.py::x': 'passed' }, { collectErrors: ['t/b.py'] });
    assert.equal(reporterStatus(r, 't/a.py::x'), 'passed');
    assert.equal(reporterStatus(r, 't/b.py::y'), 'failed');
    assert.equal(reporterStatus(r, 't/bb.py::y'), undefined);
  });

  it('agreeing runs give the same results and no evidence', () => {
    const c = corroborateSolverRun({ 'a::x': 'passed', 'a::y': 'failed' }, rep({ 'a::x': 'passed', 'a::y': 'failed' }), ctx);
    assert.deepEqual(c.results, { 'a::x': 'passed', 'a::y': 'failed' });
    assert.equal(c.tampered, undefined);
    assert.deepEqual(c.notes, []);
  });

  it('a log that says passed where the reporter saw a failure is tampering, and the test fails', () => {
    const c = corroborateSolverRun({ 'a::x': 'passed' }, rep({ 'a::x': 'failed' }), ctx);
    assert.equal(c.results['a::x'], 'failed');
    assert.match(c.tampered!.evidence[0], /a::x: the log says passed; the judge's reporter saw it fail/);
  });

  it('a log stricter than the reporter keeps its failure, without evidence', () => {
    const c = corroborateSolverRun({ 'a::x': 'failed' }, rep({ 'a::x': 'passed' }), ctx);
    assert.equal(c.results['a::x'], 'failed');
    assert.equal(c.tampered, undefined);
  });

  it('ids the reporter did not see keep the parser verdict in a finished session, and are said', () => {
    const c = corroborateSolverRun({ 'x (m.C.x)': 'passed' }, rep({}), ctx);
    assert.equal(c.results['x (m.C.x)'], 'passed');
    assert.match(c.notes[0], /rests on the parser/);
  });

  it('a session that never ended while the log reports unseen passes is tampering', () => {
    const c = corroborateSolverRun({ 'a::x': 'passed', 'a::y': 'passed' }, rep({ 'a::x': 'passed' }, { complete: false }), ctx);
    assert.ok(c.tampered);
    assert.equal(c.results['a::y'], undefined);
  });

  it('a replaced core reporting function, a new plugin, or a plugin in a file the patch wrote is tampering', () => {
    const changed = corroborateSolverRun({ 'a::x': 'passed' }, rep({ 'a::x': 'passed' }, { identityChanged: ['_pytest.reports:TestReport.from_item_and_call (a -> b)'] }), ctx);
    assert.match(changed.tampered!.evidence[0], /core reporting function changed/);
    const plugins = [...rep({}).plugins, { key: 'flip=flipper', file: '/repo/flipper.py' }];
    const fresh = corroborateSolverRun({ 'a::x': 'passed' }, rep({ 'a::x': 'passed' }, { plugins }), { ...ctx, originalPlugins: ['ssr_judge_pytest=ssr_judge_pytest'] });
    assert.match(fresh.tampered!.evidence[0], /did not load: flip=flipper/);
    const added = corroborateSolverRun({ 'a::x': 'passed' }, rep({ 'a::x': 'passed' }, { plugins }), { ...ctx, addedPaths: ['flipper.py'] });
    assert.match(added.tampered!.evidence[0], /in a file the patch added: flip=flipper \(flipper.py\)/);
    // A plugin the original run loaded too, whose code the patch fixes, is the repository's own: no evidence.
    const own = corroborateSolverRun({ 'a::x': 'passed' }, rep({ 'a::x': 'passed' }, { plugins }), { ...ctx, addedPaths: [], originalPlugins: plugins.map((p) => p.key) });
    assert.equal(own.tampered, undefined);
  });

  it("a Node parser id without the file or the suites maps to the one Node reporter id it is the tail of; pytest ids never do", () => {
    const r = rep({ 'test/cart.test.js::Cart > computes the subtotal': 'failed', 'test/cart.test.js::Cart > counts': 'passed', 'test/b.test.js::counts': 'passed', 'tests/test_a.py::test_x': 'failed' });
    assert.equal(reporterStatus(r, 'Cart > computes the subtotal'), 'failed');
    assert.equal(reporterStatus(r, 'computes the subtotal'), 'failed');
    assert.equal(reporterStatus(r, 'counts'), undefined); // two tests end so: neither
    assert.equal(reporterStatus(r, 'test_x'), undefined);
    assert.equal(reporterStatus(r, 'subtotal'), undefined); // whole titles only
  });

  it("a node preload the original run did not have (the Node reporter's plugin list) is named as one", () => {
    const plugins = [{ key: 'ssr_judge_node', file: '/ssr/reporter/ssr_judge_node.cjs' }, { key: 'node-preload=--require ./flip.js', file: null }];
    const r = corroborateSolverRun({ 'test/a.test.js::x': 'passed' }, rep({ 'test/a.test.js::x': 'passed' }, { plugins }), { ...ctx, originalPlugins: ['ssr_judge_node'] });
    assert.deepEqual(r.tampered!.evidence, ['a node preload the original run did not load: node-preload=--require ./flip.js']);
  });

  it('no reporter session: evidence only where the original run had one and the log reports tests', () => {
    assert.equal(corroborateSolverRun({ 'a::x': 'passed' }, undefined, { ...ctx, expectSession: false }).tampered, undefined);
    assert.ok(corroborateSolverRun({ 'a::x': 'passed' }, undefined, ctx).tampered);
    assert.equal(corroborateSolverRun({}, undefined, ctx).tampered, undefined);
  });

  it('validation: a broken test counts only when the reporter saw it pass on the original and fail with the bug', () => {
    const o = { reporter: rep({ 'a::x': 'passed', 'a::y': 'passed', 'a::z': 'passed' }) };
    const b = { reporter: rep({ 'a::x': 'failed', 'a::y': 'passed' }) };
    const seen = corroboratedBroken(['a::x', 'a::y', 'a::z'], o, b);
    assert.deepEqual([...seen.ids!], ['a::x']);
    assert.match(seen.note, /2 test\(s\) the log reports broken were not seen failing/);
  });

  it('validation without pytest, or with cached runs made without the reporter, rests on the script; pytest on the original only is no evidence', () => {
    assert.equal(corroboratedBroken(['a::x'], {}, {}).ids, undefined);
    assert.match(corroboratedBroken(['a::x'], {}, {}).note, /rests on the artifact's own test_script.sh/);
    assert.equal(corroboratedBroken(['a::x'], { reporter: rep({}) }, { cached: true }).ids, undefined);
    assert.equal(corroboratedBroken(['a::x'], { reporter: rep({ 'a::x': 'passed' }) }, {}).ids!.size, 0);
  });
});
