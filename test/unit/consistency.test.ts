import * as assert from 'node:assert/strict';
import { parseDiff, type ArtifactProblem } from '../../src/core/artifact/artifact';
import type { StateRun } from '../../src/core/judge/stateRun';
import type { ReporterRecords, TestResults } from '../../src/core/judge/testRun';
import {
  bugBreaksTests,
  bugScope,
  inverseMutation,
  originalPasses,
  parserValid,
  testFilesExist,
  weakenHidesBug,
  type CheckFacts,
} from '../../src/core/judge/consistency';
import { DEFAULT_THRESHOLDS } from '../../src/core/judge/checkTypes';

/** A unified diff changing each path by one line. */
function diffOf(...paths: string[]): string {
  return paths.map((p) => `--- a/${p}\n+++ b/${p}\n@@ -1 +1 @@\n-a\n+b\n`).join('');
}

function run(state: string, results: TestResults, extra: Partial<StateRun> = {}): StateRun {
  return { state, ok: true, results, durationMs: 10, repetitions: 1, ...extra };
}

function failedRun(state: string, error: string): StateRun {
  return { state, ok: false, error, durationMs: 5, repetitions: 1 };
}

function reporter(tests: Record<string, 'passed' | 'failed'>): ReporterRecords {
  return { tests, collectErrors: [], plugins: [], identityChanged: [], complete: true, sessions: 1 };
}

const ORIGINAL: TestResults = { t1: 'passed', t2: 'passed', t3: 'passed', t4: 'passed', t5: 'passed', t6: 'failed' };

/** A valid artifact's facts: bug in src/a.py, weakening of tests/test_a.py, five tests passing on the original. */
function facts(over: Partial<CheckFacts> = {}, runs: StateRun[] = []): CheckFacts {
  const byState = new Map<string, StateRun>([
    ['original', run('original', ORIGINAL)],
    ['buggy', run('buggy', { ...ORIGINAL, t1: 'failed', t2: 'failed' })],
    ['weakened', run('weakened', { ...ORIGINAL, t2: 'failed' })],
  ]);
  for (const r of runs) byState.set(r.state, r);
  return {
    artifact: { testFiles: ['tests/test_a.py'], testScript: 'python3 -m pytest -rA tests' },
    thresholds: { ...DEFAULT_THRESHOLDS },
    problems: [],
    bug: parseDiff(diffOf('src/a.py')),
    weaken: parseDiff(diffOf('tests/test_a.py')),
    bugFiles: ['src/a.py'],
    missingTestFiles: [],
    runs: byState,
    flakyCount: 0,
    ...over,
  };
}

const problem = (file: ArtifactProblem['file'], message: string): ArtifactProblem => ({ file, message });

describe('consistency checks: pure functions of the state results', () => {
  describe('test_files_exist', () => {
    it('passes when the files exist and the weakening touches only them', () => {
      assert.deepEqual(testFilesExist(facts()), { status: 'pass', detail: '1 test file(s) exist; test_weaken.diff touches only listed files (1)' });
    });
    it('fails on its own structural problems, on missing files, and on a weakening of unlisted files', () => {
      assert.deepEqual(testFilesExist(facts({ problems: [problem('test_files.txt', 'is empty'), problem('test_parser.py', 'other')] })), { status: 'fail', detail: 'is empty' });
      assert.deepEqual(testFilesExist(facts({ missingTestFiles: ['tests/test_a.py'] })), {
        status: 'fail',
        detail: 'test_files.txt lists file(s) that do not exist in the original repository: tests/test_a.py',
      });
      assert.deepEqual(testFilesExist(facts({ weaken: parseDiff(diffOf('tests/test_a.py', 'tests/test_b.py')) })), {
        status: 'fail',
        detail: 'test_weaken.diff touches file(s) not listed in test_files.txt: tests/test_b.py',
      });
    });
    it('lists at most five names, then how many more', () => {
      const missing = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
      assert.match(testFilesExist(facts({ missingTestFiles: missing })).detail, /: a, b, c, d, e and 2 more$/);
    });
  });

  describe('parser_valid', () => {
    it('passes when the original ran, and counts the mapped tests and the flaky ones left out', () => {
      assert.deepEqual(parserValid(facts()), { status: 'pass', detail: 'the parser mapped 6 test(s) on the original repository' });
      assert.equal(parserValid(facts({ flakyCount: 2 })).detail, 'the parser mapped 6 test(s) on the original repository (2 flaky test(s) left out)');
    });
    it('fails on its own problems, a missing run and a failed run', () => {
      assert.deepEqual(parserValid(facts({ problems: [problem('test_script.sh', 'is empty'), problem('test_parser.py', 'no main')] })), { status: 'fail', detail: 'is empty; no main' });
      assert.deepEqual(parserValid(facts({ runs: new Map() })), { status: 'fail', detail: "the original repository's tests did not run" });
      assert.deepEqual(parserValid(facts({}, [failedRun('original', 'the parser printed no JSON')])), { status: 'fail', detail: 'on the original repository: the parser printed no JSON' });
    });
  });

  describe('original_passes', () => {
    it('passes at the minimum', () => {
      assert.deepEqual(originalPasses(facts()), { status: 'pass', detail: '5 test(s) pass on the original repository (minimum 5)' });
    });
    it('fails below it', () => {
      const f = facts({ thresholds: { ...DEFAULT_THRESHOLDS, minPassingTests: 6 }, flakyCount: 1 });
      assert.deepEqual(originalPasses(f), { status: 'fail', detail: '5 test(s) pass on the original repository; at least 6 must (1 flaky test(s) left out)' });
    });
  });

  describe('bug_scope', () => {
    it('passes for a code file, with what the behaviour comparison said', () => {
      assert.deepEqual(bugScope(facts()), { status: 'pass', detail: 'bug_inject.diff changes 1 non-test file(s): src/a.py' });
      const neutrality = { verdicts: [{ path: 'src/a.py', neutral: false, reasons: [] }], notes: ['x.go: not compared'] };
      assert.equal(
        bugScope(facts({ neutrality })).detail,
        'bug_inject.diff changes 1 non-test file(s): src/a.py; 1 compared once parsed, each changes the program (x.go: not compared)',
      );
    });
    it('fails on its own problems, listed test files, the harness, too few files and no change of behaviour', () => {
      assert.deepEqual(bugScope(facts({ problems: [problem('bug_inject.diff', 'is empty')] })), { status: 'fail', detail: 'is empty' });
      assert.deepEqual(bugScope(facts({ bug: parseDiff(diffOf('src/a.py', 'tests/test_a.py')) })), {
        status: 'fail',
        detail: 'bug_inject.diff changes test file(s) listed in test_files.txt: tests/test_a.py',
      });
      const harness = bugScope(facts({ bug: parseDiff(diffOf('conftest.py')) }));
      assert.equal(harness.status, 'fail');
      assert.match(harness.detail, /^bug_inject\.diff changes the test harness, not code: conftest\.py \(.+\)$/);
      assert.deepEqual(bugScope(facts({ thresholds: { ...DEFAULT_THRESHOLDS, minChangedFiles: 2 } })), {
        status: 'fail',
        detail: 'bug_inject.diff changes 1 file(s); at least 2 required',
      });
      const neutral = bugScope(facts({ neutrality: { verdicts: [{ path: 'src/a.py', neutral: true, reasons: ['only a comment'] }], notes: [] } }));
      assert.equal(neutral.status, 'fail');
      assert.match(neutral.detail, /^bug_inject\.diff changes no behaviour: src\/a\.py is the same program once parsed \(only a comment\)/);
    });
  });

  describe('bug_breaks_tests', () => {
    it('passes with the tests that break, resting on the script when no reporter ran', () => {
      const r = bugBreaksTests(facts());
      assert.equal(r.status, 'pass');
      assert.deepEqual(r.broken, ['t1', 't2']);
      assert.equal(r.seenBy, 'script');
      assert.match(r.detail, /^2 test\(s\) break with the bug: t1, t2; F rests on the artifact's own test_script\.sh/);
    });
    it('counts a test that disappears with the bug as broken', () => {
      const { t5: _gone, ...rest } = ORIGINAL;
      assert.deepEqual(bugBreaksTests(facts({}, [run('buggy', rest)])).broken, ['t5']);
    });
    it("keeps only what the judge's reporter saw fail", () => {
      const f = facts({}, [
        run('original', ORIGINAL, { reporter: reporter({ t1: 'passed', t2: 'passed' }) }),
        run('buggy', { ...ORIGINAL, t1: 'failed', t2: 'failed' }, { reporter: reporter({ t1: 'failed', t2: 'passed' }) }),
      ]);
      const r = bugBreaksTests(f);
      assert.equal(r.status, 'pass');
      assert.deepEqual(r.broken, ['t1']);
      assert.equal(r.seenBy, 'reporter');
      assert.match(r.detail, /^1 test\(s\) break with the bug: t1; 1 test\(s\) the log reports broken were not seen failing/);
    });
    it('fails when the buggy state did not run, or too few tests break', () => {
      assert.deepEqual(bugBreaksTests(facts({}, [failedRun('buggy', 'bug_inject.diff does not apply: x')])), {
        status: 'fail',
        detail: 'with the bug applied: bug_inject.diff does not apply: x',
        broken: [],
      });
      assert.equal(bugBreaksTests(facts({ runs: new Map([['original', run('original', ORIGINAL)]]) })).detail, 'with the bug applied: the tests did not run');
      const r = bugBreaksTests(facts({}, [run('buggy', ORIGINAL)]));
      assert.equal(r.status, 'fail');
      assert.deepEqual(r.broken, []);
      assert.match(r.detail, /^0 test\(s\) that pass on the original fail or disappear with the bug; at least 1 required; /);
    });
  });

  describe('weaken_hides_bug', () => {
    it('passes with the hidden tests and says how many still fail', () => {
      const r = weakenHidesBug(facts(), ['t1', 't2']);
      assert.deepEqual(r, {
        status: 'pass',
        detail: '1 broken test(s) hidden by the weakening (counted among the tests that pass on the original and fail with the bug); 1 still fail: t1',
        hidden: ['t1'],
      });
    });
    it('counts a test the weakening removed as hidden, and only tests of the broken set', () => {
      const { t1: _gone, ...rest } = ORIGINAL;
      assert.deepEqual(weakenHidesBug(facts({}, [run('weakened', rest)]), ['t1', 't2']).hidden, ['t1', 't2']);
      assert.deepEqual(weakenHidesBug(facts({}, [run('weakened', ORIGINAL)]), ['t2']).hidden, ['t2']);
    });
    it('fails when nothing is hidden or the weakened state did not run', () => {
      assert.deepEqual(weakenHidesBug(facts({}, [run('weakened', { ...ORIGINAL, t1: 'failed', t2: 'failed' })]), ['t1', 't2']), {
        status: 'fail',
        detail: 'none of the 2 test(s) that pass on the original and fail with the bug passes or is gone after test_weaken.diff',
        hidden: [],
      });
      assert.deepEqual(weakenHidesBug(facts({}, [failedRun('weakened', 'timed out')]), ['t1']), {
        status: 'fail',
        detail: 'with the bug and the weakening applied: timed out',
        hidden: [],
      });
    });
  });

  describe('inverse_mutation', () => {
    it('passes for one bug file: restoring it is the original state', () => {
      assert.deepEqual(inverseMutation(facts(), ['t1', 't2']), {
        status: 'pass',
        detail: 'restoring src/a.py fixes 2/2',
        oracleFailing: ['t1', 't2'],
        inverse: [{ file: 'src/a.py', flipped: ['t1', 't2'] }],
      });
    });
    const two = (restoreB: StateRun) =>
      facts({ bug: parseDiff(diffOf('src/a.py', 'src/b.py')), bugFiles: ['src/a.py', 'src/b.py'] }, [
        run('restore:src/a.py', { ...ORIGINAL, t2: 'failed' }),
        restoreB,
      ]);
    it('passes when restoring each file alone fixes some test of F', () => {
      const r = inverseMutation(two(run('restore:src/b.py', { ...ORIGINAL, t1: 'failed' })), ['t1', 't2']);
      assert.equal(r.status, 'pass');
      assert.equal(r.detail, 'restoring src/a.py fixes 1/2; restoring src/b.py fixes 1/2');
      assert.deepEqual(r.inverse, [
        { file: 'src/a.py', flipped: ['t1'] },
        { file: 'src/b.py', flipped: ['t2'] },
      ]);
    });
    it('fails for a file whose restoring fixes nothing, or whose run failed', () => {
      const dead = inverseMutation(two(run('restore:src/b.py', { ...ORIGINAL, t1: 'failed', t2: 'failed' })), ['t1', 't2']);
      assert.equal(dead.status, 'fail');
      assert.equal(dead.detail, 'restoring src/b.py alone makes none of the 2 broken test(s) pass: that change is not needed for the bug');
      assert.deepEqual(dead.inverse[1], { file: 'src/b.py', flipped: [] });
      const broken = inverseMutation(two(failedRun('restore:src/b.py', 'timed out')), ['t1', 't2']);
      assert.equal(broken.detail, 'restoring src/b.py (timed out) alone makes none of the 2 broken test(s) pass: that change is not needed for the bug');
      const notRun = inverseMutation(facts({ bugFiles: ['src/a.py', 'src/b.py'] }), ['t1', 't2']);
      assert.match(notRun.detail, /^restoring src\/a\.py \(not run\), src\/b\.py \(not run\) alone/);
    });
    it('fails when the broken tests only disappeared (F is empty)', () => {
      const { t1: _a, t2: _b, ...rest } = ORIGINAL;
      assert.deepEqual(inverseMutation(facts({}, [run('buggy', rest)]), ['t1', 't2']), {
        status: 'fail',
        detail: 'no test passes on the original and fails with the full bug (tests only disappeared), so no file can be shown to matter',
        oracleFailing: [],
        inverse: [],
      });
    });
  });
});
