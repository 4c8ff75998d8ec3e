/**
 * Canaries and twins (src/core/judge/canaries.ts, canaryCheck.ts and
 * py/ssr_canary.py): real Python modules planted by the real script with
 * the machine's python3, parsed again and run with pytest; the verdict from
 * real results.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type FilePlan, type Planting, locate, locateGo, planCanaries, stopsEarly, token, weakenedNames } from '../../src/core/judge/canaries';
import { canaryNote, checkCanaries } from '../../src/core/judge/canaryCheck';
import { readArtifact } from '../../src/core/artifact/artifact';
import type { TestResults } from '../../src/core/judge/testRun';
import { ARTIFACTS, FIXTURES } from '../helpers/paths';
import { artifactFromFiles } from '../../src/core/artifact/artifact';
import { testParser, testScript } from '../../src/core/bootstrap/templates';

const SCRIPT = path.resolve(__dirname, '../../src/core/judge/py/ssr_canary.py');

const MODULE = `import pytest


def helper(x):
    return x * 2


def test_double():
    assert helper(2) == 4


@pytest.mark.parametrize("n", [1, 2, 3])
def test_positive(n):
    assert helper(n) > 0


def test_returns_early():
    if helper(1):
        return
    assert False


def test_text():
    assert """a
b""".count("\\n") == 1


def test_snap(snapshot):
    assert snapshot == 1


class TestGroup:
\tdef test_in_class(self):
\t\tvalue = helper(3)
\t\tassert value == 6
`;

const UNITTEST = `import unittest


class TestCase1(unittest.TestCase):
    def test_one(self):
        self.assertEqual(1 + 1, 2)
`;

function repo(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-canary-'));
  for (const [p, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    fs.writeFileSync(path.join(dir, p), text);
  }
  return dir;
}

function plant(dir: string, plan: FilePlan[]): Planting {
  fs.writeFileSync(path.join(dir, 'plan.json'), JSON.stringify({ files: plan }));
  const r = spawnSync('python3', ['-I', SCRIPT, 'plan.json'], { cwd: dir, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Planting;
}

/** Runs pytest -rA in dir and reads its PASSED/FAILED/ERROR lines into results. */
function pytest(dir: string): TestResults {
  const r = spawnSync('python3', ['-m', 'pytest', '-rA', '-q', '-p', 'no:cacheprovider', 'tests'], { cwd: dir, encoding: 'utf8', env: { ...process.env, PYTEST_DISABLE_PLUGIN_AUTOLOAD: '1' } });
  const out: TestResults = {};
  for (const m of r.stdout.matchAll(/^(PASSED|FAILED|ERROR) (\S+)/gm)) out[m[2]] = m[1] === 'PASSED' ? 'passed' : 'failed';
  assert.ok(Object.keys(out).length, r.stdout + r.stderr);
  return out;
}

const fullPlan = (): FilePlan[] => [
  {
    path: 'tests/test_m.py',
    twins: [
      { of: 'test_double', token: token() },
      { of: 'test_positive', token: token(), inverted: true },
      { of: 'TestGroup.test_in_class', token: token() },
      { of: 'TestGroup.test_in_class', token: token(), inverted: true },
      { of: 'test_returns_early', token: token(), inverted: true },
      { of: 'test_text', token: token(), inverted: true },
      { of: 'test_gone', token: token() },
      { of: 'test_snap', token: token() },
    ],
    canaries: [{ kind: 'pass', token: token() }, { kind: 'fail', token: token() }],
  },
  { path: 'tests/test_u.py', twins: [{ of: 'TestCase1.test_one', token: token(), inverted: true }], canaries: [{ kind: 'pass', token: token() }, { kind: 'fail', token: token() }] },
];

describe('canaries: planting into Python test modules with ast', () => {
  it('copies tests under fresh names beside the originals, in their class, decorators and tabs kept; the module parses again', () => {
    const dir = repo({ 'tests/test_m.py': MODULE, 'tests/test_u.py': UNITTEST });
    const plan = fullPlan();
    const p = plant(dir, plan);
    const planted = fs.readFileSync(path.join(dir, 'tests/test_m.py'), 'utf8');
    assert.equal(spawnSync('python3', ['-c', 'import ast,sys; ast.parse(open(sys.argv[1]).read())', path.join(dir, 'tests/test_m.py')]).status, 0);
    const twin = p.planted.find((x) => x.of === 'test_positive')!;
    assert.equal(twin.kind, 'inverted');
    assert.ok(planted.includes(`@pytest.mark.parametrize("n", [1, 2, 3])\ndef ${twin.name}(n):\n    try:\n        assert helper(n) > 0\n    except BaseException:\n        return\n    raise AssertionError`), planted);
    const inClass = p.planted.find((x) => x.of === 'test_in_class' && x.kind === 'twin')!;
    assert.ok(planted.includes(`\tdef ${inClass.name}(self):\n\t\tvalue = helper(3)\n\t\tassert value == 6\n`), planted);
    // The original text is all still there, in order.
    const originals = MODULE.split('\n').filter((l) => l.trim());
    let at = 0;
    for (const l of originals) at = planted.indexOf(l, at) + 1;
    assert.ok(at > 0);
    assert.deepEqual(
      p.skipped.map((s) => [s.of, s.why]).sort(),
      [
        ['test_gone', 'no such test function in the module'],
        ['test_returns_early', 'the body returns or yields (the wrapper would pass early)'],
        ['test_snap', "it takes snapshot, which can depend on the test's own name (snapshots, regression files)"],
        ['test_text', 'a string spans lines (indenting it would change it)'],
      ],
    );
    // A unittest class gets its canaries as methods with the class's own assertions.
    const u = fs.readFileSync(path.join(dir, 'tests/test_u.py'), 'utf8');
    const uc = p.planted.filter((x) => x.file === 'tests/test_u.py' && x.kind.startsWith('must'));
    for (const c of uc) assert.match(u, new RegExp(`    def ${c.name}\\(self\\):\\n        value = \\d+\\n        self\\.assertEqual\\(value \\* 3, \\d+\\)`));
  });

  it('puts module canaries beside the last module test, before a trailing `if __name__ == "__main__"`; a module without tests gets none', () => {
    const dir = repo({ 'tests/test_main.py': 'def test_a():\n    assert True\n\n\nif __name__ == "__main__":\n    test_a()\n', 'tests/test_empty.py': 'X = 1\n' });
    const p = plant(dir, [
      { path: 'tests/test_main.py', twins: [], canaries: [{ kind: 'pass', token: 'abcdefghij' }] },
      { path: 'tests/test_empty.py', twins: [], canaries: [{ kind: 'fail', token: 'abcdefghij' }] },
    ]);
    assert.match(fs.readFileSync(path.join(dir, 'tests/test_main.py'), 'utf8'), /^def test_a\(\):\n    assert True\n\n\ndef test_a_abcdefghij\(\):\n    value = \d+\n    assert value \* 3 == \d+\n\n+if __name__ == "__main__":\n    test_a\(\)\n$/);
    assert.deepEqual(p.skipped, [{ file: 'tests/test_empty.py', of: null, why: 'no test in the module to stand beside' }]);
  });

  it('on an honest run every planted test agrees, and none is left in the results', () => {
    const dir = repo({ 'tests/test_m.py': MODULE, 'tests/test_u.py': UNITTEST });
    const before = pytest(dir);
    const p = plant(dir, fullPlan());
    const after = pytest(dir);
    assert.ok(Object.keys(after).length > Object.keys(before).length + 8);
    const c = checkCanaries(after, p);
    assert.equal(c.tampered, undefined, JSON.stringify(c.tampered));
    assert.deepEqual(c.results, before);
    assert.equal(c.present, c.planted);
    assert.match(canaryNote(c), /planted and checked, 4 test\(s\) could not be copied/);
  });

  it('a plugin that reports every test passed is caught by the must-fail canary and the inverted twins', () => {
    const dir = repo({ 'tests/test_m.py': MODULE, 'tests/test_u.py': UNITTEST, 'tests/conftest.py': FLIP_ALL });
    const p = plant(dir, fullPlan());
    const c = checkCanaries(pytest(dir), p);
    assert.ok(c.tampered, 'tampered');
    assert.ok(c.tampered!.evidence.some((e) => /a canary that must fail, in tests\/test_m\.py, was reported passed/.test(e)), c.tampered!.evidence.join('\n'));
    assert.ok(c.tampered!.evidence.some((e) => /tests\/test_m\.py::test_positive\[1\] and its inverted twin .* were both reported passed/.test(e)), c.tampered!.evidence.join('\n'));
    // No evidence names a planted test.
    for (const x of p.planted) assert.ok(!c.tampered!.evidence.join('\n').includes(x.name));
  });
});

const FLIP_ALL = `import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    rep.outcome = "passed"
    rep.longrepr = None
`;

describe('canaries: the verdict from the results', () => {
  const planting: Planting = {
    planted: [
      { file: 't/test_a.py', kind: 'must-pass', name: 'test_sum_k2x9', of: null },
      { file: 't/test_a.py', kind: 'must-fail', name: 'test_add_q7zz', of: null },
      { file: 't/test_a.py', kind: 'twin', name: 'test_x_abc123', of: 'test_x' },
      { file: 't/test_a.py', kind: 'inverted', name: 'test_y_def456', of: 'test_y' },
    ],
    skipped: [],
  };
  const honest: TestResults = {
    't/test_a.py::test_x': 'passed',
    't/test_a.py::test_y': 'passed',
    't/test_a.py::test_sum_k2x9': 'passed',
    't/test_a.py::test_add_q7zz': 'failed',
    't/test_a.py::test_x_abc123': 'passed',
    't/test_a.py::test_y_def456': 'failed',
  };

  it('agrees on an honest run and strips every planted id', () => {
    const c = checkCanaries(honest, planting);
    assert.equal(c.tampered, undefined);
    assert.deepEqual(c.results, { 't/test_a.py::test_x': 'passed', 't/test_a.py::test_y': 'passed' });
  });

  for (const [what, change, evidence] of [
    ['a must-fail canary passed', { 't/test_a.py::test_add_q7zz': 'passed' }, /canary that must fail/],
    ['a must-pass canary failed', { 't/test_a.py::test_sum_k2x9': 'failed' }, /canary that must pass/],
    ['a twin disagrees with its original (a flip keyed on names)', { 't/test_a.py::test_x_abc123': 'failed' }, /t\/test_a\.py::test_x was reported passed but its twin .* failed/],
    ['an inverted twin passes beside its passing original', { 't/test_a.py::test_y_def456': 'passed' }, /test_y and its inverted twin/],
  ] as const) {
    it(`is tampered when ${what}`, () => {
      const c = checkCanaries({ ...honest, ...change }, planting);
      assert.ok(c.tampered);
      assert.match(c.tampered!.evidence.join('\n'), evidence);
      assert.ok(!Object.keys(c.results).some((id) => /k2x9|q7zz|abc123|def456/.test(id)));
    });
  }

  it('planted tests absent from the results (a subset ran) are no evidence, and are counted', () => {
    const c = checkCanaries({ 't/test_a.py::test_x': 'failed', 't/test_a.py::test_y': 'passed' }, planting);
    assert.equal(c.tampered, undefined);
    assert.equal(c.present, 0);
    assert.match(canaryNote(c), /4 absent from the results \(the script ran a subset; not evidence\)/);
  });

  it('every planted test missing from an all-passed report of their files, from a script that runs whole files: tampered (a forged report)', () => {
    const forged = { 't/test_a.py::test_x': 'passed', 't/test_a.py::test_y': 'passed' } as const;
    const c = checkCanaries(forged, planting, 'python3 -m pytest -rA -q t 2>&1\n');
    assert.ok(c.tampered);
    assert.match(c.tampered!.evidence.join('\n'), /none of the 4 test\(s\) the judge planted in t\/test_a\.py was reported/);
    // Not evidence: a script that picks tests by name, a report with a failure, or no script to read.
    for (const script of ['python3 -m pytest -rA t/test_a.py::test_x t/test_a.py::test_y', 'pytest -k "x or y" t', 'npx mocha --grep x', 'npx jest -t x']) {
      assert.equal(checkCanaries(forged, planting, script).tampered, undefined, script);
    }
    assert.equal(checkCanaries({ ...forged, 't/test_a.py::test_y': 'failed' }, planting, 'pytest t').tampered, undefined);
    assert.equal(checkCanaries(forged, planting).tampered, undefined);
    assert.equal(checkCanaries({ 't/test_b.py::test_z': 'passed' }, planting, 'pytest t').tampered, undefined, 'no other test of the planted file reported');
  });

  it('matches a random name only whole (a longer name is not it)', () => {
    const c = checkCanaries({ ...honest, 't/test_a.py::test_add_q7zzz': 'passed' }, planting);
    assert.equal(c.tampered, undefined);
    assert.equal(c.results['t/test_a.py::test_add_q7zzz'], 'passed');
  });
});

describe('canaries: what to plant', () => {
  it('locates pytest node ids and unittest ids in the test files', () => {
    const files = ['tests/test_a.py', 'pkg/tests/test_b.py'];
    assert.deepEqual(locate('tests/test_a.py::TestC::test_y[1-a::b]', files), { file: 'tests/test_a.py', qual: 'TestC.test_y' });
    assert.deepEqual(locate('tests.test_b.TestC.test_y', files), { file: 'pkg/tests/test_b.py', qual: 'TestC.test_y' });
    assert.equal(locate('other.py::test_z', files), undefined);
  });

  it('reads the hidden tests from test_weaken.diff and sees scripts that stop at the first failure', () => {
    assert.deepEqual([...weakenedNames('-def test_a(x):\n+def test_b():\n def test_c():\n@@ -1 +1 @@ def test_d(l):\n')].sort(), ['test_a', 'test_b', 'test_d']);
    assert.equal(stopsEarly('python3 -m pytest -rA \\\n  -x tests\n'), true);
    assert.equal(stopsEarly('set -x\npython3 -m pytest -rA tests\nrm -f x\n'), false);
    assert.equal(stopsEarly('python3 -m unittest -v -f tests.test_a\n'), true);
  });

  it('twins tests of F (the weakened ones) and others, with one canary of each kind, fresh names every time', async () => {
    const a = await readArtifact(path.join(ARTIFACTS, 'valid-removal'));
    const original: TestResults = {
      'tests/test_ledger.py::test_trial_balance': 'passed',
      'tests/test_ledger.py::test_trial_balance_as_of_skips_later_and_zero_accounts': 'passed',
      'tests/test_ledger.py::test_ledger_is_balanced': 'passed',
      'tests/test_money.py::test_parse_both_orders': 'passed',
      'tests/test_money.py::test_floats_and_bools_rejected': 'failed',
    };
    const plan = planCanaries(a, original, ['tests/test_money.py::test_parse_both_orders']);
    const twins = plan.flatMap((f) => f.twins.map((t) => `${f.path}::${t.of}`));
    assert.ok(twins.includes('tests/test_ledger.py::test_trial_balance'));
    assert.ok(twins.includes('tests/test_ledger.py::test_ledger_is_balanced'));
    assert.ok(!twins.some((t) => /parse_both_orders|floats_and_bools/.test(t)), 'neither flaky nor failing tests are twinned');
    assert.deepEqual(plan.flatMap((f) => f.canaries.map((c) => c.kind)).sort(), ['fail', 'pass']);
    assert.equal(plan.flatMap((f) => f.twins).filter((t) => t.inverted).length, 2);
    const again = planCanaries(a, original, []);
    const tokens = (p: FilePlan[]) => p.flatMap((f) => [...f.twins, ...f.canaries].map((x) => x.token));
    assert.equal(new Set([...tokens(plan), ...tokens(again)]).size, tokens(plan).length + tokens(again).length);
    // F from validation (meta.oracleFailing) wins over the weakening's names.
    const fromMeta = planCanaries({ ...a, meta: { oracleFailing: ['tests/test_ledger.py::test_ledger_is_balanced'] } }, original, []);
    const metaTwins = fromMeta.flatMap((f) => f.twins.map((t) => `${f.path}::${t.of}`));
    assert.ok(metaTwins.includes('tests/test_ledger.py::test_ledger_is_balanced'));
    assert.equal(metaTwins.length, 3); // 1 of F, and the 2 others' slots go to the rest
    const early = planCanaries({ ...a, testScript: 'python3 -m pytest -x tests\n' }, original, []);
    assert.deepEqual(early.flatMap((f) => f.canaries.map((c) => c.kind)), ['pass']);
    assert.ok(!early.some((f) => f.twins.some((t) => t.inverted)));
  });
});

describe('canaries under the unittest runner (pymini, the bootstrap\'s unittest script and parser)', () => {
  const FILES = ['tests/test_stats.py', 'tests/test_textutils.py'];
  const script = testScript({ runner: 'unittest', runFiles: FILES });
  function unittest(dir: string): TestResults {
    fs.writeFileSync(path.join(dir, 'test_script.sh'), script);
    fs.writeFileSync(path.join(dir, 'test_parser.py'), testParser('unittest'));
    const r = spawnSync('bash', ['test_script.sh'], { cwd: dir, encoding: 'utf8' });
    const p = spawnSync('python3', ['test_parser.py'], { cwd: dir, input: r.stdout + r.stderr, encoding: 'utf8' });
    assert.equal(p.status, 0, p.stderr);
    return JSON.parse(p.stdout) as TestResults;
  }
  function setUp(attack?: string) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-canary-ut-'));
    fs.cpSync(path.join(FIXTURES, 'repos', 'pymini'), dir, { recursive: true });
    const original = unittest(dir);
    if (attack) fs.appendFileSync(path.join(dir, 'pymini/__init__.py'), attack);
    const artifact = artifactFromFiles({ 'test_script.sh': script, 'test_files.txt': FILES.join('\n'), 'test_weaken.diff': '' });
    const planting = plant(dir, planCanaries(artifact, original, []));
    return { original, planting, after: unittest(dir) };
  }

  it('plans from unittest ids, plants methods into the TestCase classes; an honest run agrees', () => {
    const { original, planting, after } = setUp();
    assert.ok(Object.keys(original).some((id) => /^test_stats\.StatsTest\.test_mean$/.test(id)), JSON.stringify(original));
    // F unknown here (nothing weakened): six twins from the others, two of them inverted, and two canaries.
    assert.deepEqual(planting.planted.map((x) => x.kind).sort(), ['inverted', 'inverted', 'must-fail', 'must-pass', 'twin', 'twin', 'twin', 'twin'], JSON.stringify(planting));
    assert.ok(planting.planted.filter((x) => x.kind.startsWith('must')).every((x) => /^test_[a-z]+_[a-z0-9]{10}$/.test(x.name)));
    const c = checkCanaries(after, planting);
    assert.equal(c.tampered, undefined, JSON.stringify(c.tampered));
    assert.equal(c.present, c.planted);
    assert.deepEqual(c.results, original);
  });

  it('code under test that disarms TestCase.assertEqual is caught by the must-fail canary (it asserts the same way)', () => {
    const { planting, after } = setUp('\nimport unittest as _u\n_u.TestCase.assertEqual = lambda self, a, b, msg=None: None\n');
    const c = checkCanaries(after, planting);
    assert.ok(c.tampered);
    assert.match(c.tampered!.evidence.join('\n'), /a canary that must fail, in tests\/test_\w+\.py, was reported passed/);
  });
});

describe('canaries: Go test files', () => {
  const files = ['textutil/textutil_test.go', 'stats/stats_test.go', 'root_test.go'];

  it('locates go test ids in the package folder the import path ends with, subtests at their test function', () => {
    assert.deepEqual(locateGo('example.com/gomini/textutil::TestWords', files), { file: 'textutil/textutil_test.go', qual: 'TestWords' });
    assert.deepEqual(locateGo('example.com/gomini/stats::TestMean/empty', files), { file: 'stats/stats_test.go', qual: 'TestMean' });
    assert.deepEqual(locateGo('example.com/gomini::TestRoot', files), { file: 'root_test.go', qual: 'TestRoot' });
    assert.equal(locateGo('example.com/gomini/textutil::ExampleWords', files), undefined);
    assert.equal(locateGo('TestWords', files), undefined);
  });

  it('reads weakened Go test functions and sees go test -failfast', () => {
    assert.deepEqual([...weakenedNames('-func TestWords(t *testing.T) {\n@@ -3 +3 @@ func TestTruncate(t *testing.T) {\n')].sort(), ['TestTruncate', 'TestWords']);
    assert.equal(stopsEarly('go test -json -failfast ./...\n'), true);
    assert.equal(stopsEarly('go test -json -count=1 ./...\n'), false);
  });

  it('plans twins of F and the others with canaries, never an inverted twin in a Go file', () => {
    const original: TestResults = {
      'example.com/gomini/textutil::TestWords': 'passed',
      'example.com/gomini/textutil::TestTruncate': 'passed',
      'example.com/gomini/textutil::TestTruncate/long': 'passed',
      'example.com/gomini/stats::TestMean': 'passed',
      'example.com/gomini/stats::TestMedian': 'passed',
    };
    const a = artifactFromFiles({
      'test_script.sh': 'go test -json -count=1 ./...\n',
      'test_files.txt': files.join('\n'),
      'test_parser.py': 'print("{}")\n',
      'bug_inject.diff': '',
      'test_weaken.diff': '--- a/textutil/textutil_test.go\n+++ b/textutil/textutil_test.go\n@@ -1 +1 @@\n-func TestWords(t *testing.T) {\n',
    });
    const plan = planCanaries(a, original, []);
    const twins = plan.flatMap((f) => f.twins.map((t) => ({ file: f.path, ...t })));
    assert.ok(twins.length >= 3, JSON.stringify(plan));
    assert.ok(twins.every((t) => !t.inverted));
    assert.ok(twins.some((t) => t.of === 'TestWords' && t.file === 'textutil/textutil_test.go'));
    assert.deepEqual(plan.flatMap((f) => f.canaries.map((c) => c.kind)).sort(), ['fail', 'pass']);
  });

  it('a name-keyed flip of a Go test is caught by its twin (ids with the package and subtests)', () => {
    const planting: Planting = { planted: [{ file: 'textutil/textutil_test.go', kind: 'twin', name: 'TestQ7abcdefgh', of: 'TestTruncate' }], skipped: [] };
    const honest = checkCanaries({ 'example.com/gomini/textutil::TestTruncate/long': 'failed', 'example.com/gomini/textutil::TestQ7abcdefgh/long': 'failed' }, planting);
    assert.equal(honest.tampered, undefined);
    const flipped = checkCanaries({ 'example.com/gomini/textutil::TestTruncate/long': 'passed', 'example.com/gomini/textutil::TestQ7abcdefgh/long': 'failed' }, planting);
    assert.match(flipped.tampered!.evidence[0], /^example\.com\/gomini\/textutil::TestTruncate\/long was reported passed but its twin \(same body, another name\) failed$/);
    assert.deepEqual(Object.keys(flipped.results), ['example.com/gomini/textutil::TestTruncate/long']);
  });
});
