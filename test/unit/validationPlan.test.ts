import * as assert from 'node:assert/strict';
import { artifactFromFiles } from '../../src/core/artifact/artifact';
import type { StateRun } from '../../src/core/judge/stateRun';
import { CHECK_IDS, type ValidationEvent } from '../../src/core/judge/checkTypes';
import { planStates, problemsFor, resolveThresholds, staticFacts, usableParts } from '../../src/core/judge/validationPlan';
import { decide, dropFlaky, flakyTests } from '../../src/core/judge/validationDecide';

const diffOf = (...paths: string[]) => paths.map((p) => `--- a/${p}\n+++ b/${p}\n@@ -1 +1 @@\n-a\n+b\n`).join('');

function artifact(bugPaths: string[]) {
  return artifactFromFiles({
    'test_script.sh': 'python3 -m pytest -rA tests\n',
    'test_files.txt': 'tests/test_a.py\n',
    'test_parser.py': 'import json\nprint(json.dumps({}))\n',
    'bug_inject.diff': diffOf(...bugPaths),
    'test_weaken.diff': diffOf('tests/test_a.py'),
  });
}

describe('validation plan: which states run and why', () => {
  it('plans the original, buggy and weakened states for a one-file bug', () => {
    const a = artifact(['src/a.py']);
    const f = staticFacts(a);
    assert.deepEqual(f.bugFiles, ['src/a.py']);
    assert.deepEqual(usableParts(f.problems), { canRun: true, bugUsable: true, weakenUsable: true });
    assert.deepEqual(planStates(a, f.bugFiles, usableParts(f.problems), false).map((p) => [p.state, p.diffs.map((d) => d.name), p.restore]), [
      ['original', [], undefined],
      ['buggy', ['bug'], undefined],
      ['weakened', ['bug', 'weaken'], undefined],
    ]);
  });

  it('adds one restore state per bug file when there are several, and leaves a cached original out', () => {
    const a = artifact(['src/a.py', 'src/b.py']);
    const plans = planStates(a, ['src/a.py', 'src/b.py'], { canRun: true, bugUsable: true, weakenUsable: true }, true);
    assert.deepEqual(plans.map((p) => p.state), ['buggy', 'weakened', 'restore:src/a.py', 'restore:src/b.py']);
    assert.deepEqual(plans[2].restore, ['src/a.py']);
  });

  it('plans nothing the artifact cannot run', () => {
    const a = artifact(['src/a.py']);
    assert.deepEqual(planStates(a, ['src/a.py'], { canRun: false, bugUsable: true, weakenUsable: true }, false), []);
    assert.deepEqual(planStates(a, ['src/a.py'], { canRun: true, bugUsable: false, weakenUsable: true }, false).map((p) => p.state), ['original']);
    assert.deepEqual(planStates(a, ['src/a.py'], { canRun: true, bugUsable: true, weakenUsable: false }, false).map((p) => p.state), ['original', 'buggy']);
  });

  it('reports a file that could not be read once, under its check', () => {
    const a = { ...artifact(['src/a.py']), bugInjectDiff: '' };
    const f = staticFacts(a, [{ file: 'bug_inject.diff', message: 'missing' }]);
    assert.deepEqual(problemsFor(f.problems, 'bug_scope'), ['missing']);
    assert.deepEqual(f.bugFiles, []);
    assert.equal(usableParts(f.problems).bugUsable, false);
    assert.deepEqual(resolveThresholds({ minPassingTests: 2 }), { minPassingTests: 2, minChangedFiles: 1, minFailingTests: 1 });
  });
});

describe('validation decision: flaky tests, then the checks in order', () => {
  it('finds the tests whose result changed between repetitions and leaves them out', () => {
    const flaky = flakyTests([[{ a: 'passed', b: 'passed' }, { a: 'failed', b: 'passed', c: 'passed' }], [{ d: 'passed' }]]);
    assert.deepEqual([...flaky], ['a', 'c']);
    const runs: StateRun[] = [{ state: 'original', ok: true, results: { a: 'passed', b: 'passed', c: 'failed' }, durationMs: 1, repetitions: 2 }];
    dropFlaky(runs, flaky);
    assert.deepEqual(runs[0].results, { b: 'passed' });
    assert.deepEqual(runs[0].counts, { passed: 1, failed: 0 });
  });

  it('skips the checks whose input failed, naming the check they depend on, and emits each', () => {
    const a = artifact(['src/a.py']);
    const events: ValidationEvent[] = [];
    const d = decide(
      {
        ...staticFacts(a),
        artifact: a,
        thresholds: resolveThresholds({}),
        missingTestFiles: [],
        runs: new Map([['original', { state: 'original', ok: true, results: { t1: 'passed' }, durationMs: 3, repetitions: 1 }]]),
        flakyCount: 0,
      },
      new Map(),
      (e) => events.push(e),
    );
    assert.deepEqual(d.checks.map((c) => [c.id, c.status]), [
      ['test_files_exist', 'pass'],
      ['parser_valid', 'pass'],
      ['original_passes', 'fail'],
      ['bug_scope', 'pass'],
      ['bug_breaks_tests', 'skip'],
      ['weaken_hides_bug', 'skip'],
      ['inverse_mutation', 'skip'],
    ]);
    assert.equal(d.checks[4].detail, 'skipped: depends on original_passes, which did not pass');
    assert.equal(d.checks[6].detail, 'skipped: depends on bug_breaks_tests, which did not pass');
    assert.ok(d.checks[1].durationMs >= 3);
    assert.deepEqual(events.map((e) => e.type === 'check' && e.check.id), [...CHECK_IDS]);
    assert.deepEqual([d.brokenTests, d.brokenSeenBy, d.oracleFailing, d.hiddenTests, d.inverseMutation], [[], undefined, [], [], []]);
  });
});
