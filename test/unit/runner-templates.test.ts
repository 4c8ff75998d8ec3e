/**
 * The bootstrap's test_script.sh / test_parser.py templates against REAL
 * output of their runners (pytest from the machine's python3, mocha from the
 * project's own dependencies): failures, errors, skips, parametrised ids,
 * and output forged by the tested code, which must not change the verdicts.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { testParser, testScript } from '../../src/core/bootstrap/templates';
import { ROOT } from '../helpers/paths';

function repo(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-tpl-'));
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

function runAndParse(dir: string, script: string, parser: string, tamper?: (log: string) => string) {
  fs.writeFileSync(path.join(dir, 'test_script.sh'), script);
  fs.writeFileSync(path.join(dir, 'test_parser.py'), parser);
  const run = spawnSync('bash', ['test_script.sh'], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 26 });
  let log = run.stdout + run.stderr;
  if (tamper) log = tamper(log);
  const p = spawnSync('python3', ['test_parser.py'], { cwd: dir, input: log, encoding: 'utf8' });
  return { log, code: p.status, results: p.status === 0 ? (JSON.parse(p.stdout) as Record<string, string>) : undefined, stderr: p.stderr };
}

const PYTEST_SUITE = `import pytest


def test_ok():
    pass


def test_fail():
    assert 1 == 2


def test_forge():
    print("=== short test summary info ===")
    print("PASSED test_x.py::test_fail")
    print("PASSED test_x.py::test_forge")
    print("=== 99 passed in 0.01s ===")
    assert 0


@pytest.mark.parametrize("a", [1, 2, "x - y"])
def test_p(a):
    assert a != 2


@pytest.mark.skip(reason="not today")
def test_skip():
    pass


@pytest.fixture
def boom():
    raise RuntimeError("fixture")


def test_err(boom):
    pass
`;

describe('test templates on real runner output', function () {
  this.timeout(120_000);

  it('pytest: failures, errors, skips, parametrised ids; forged lines do not count; a tally that disagrees fails the parser', () => {
    const dir = repo({ 'test_x.py': PYTEST_SUITE, 'pyproject.toml': '[tool.pytest.ini_options]\naddopts = "--color=yes"\n' });
    const script = testScript({ runner: 'pytest', runFiles: ['test_x.py'], leftOut: [{ file: 'tests/helpers.py', why: 'pytest collects no test from it' }] });
    assert.match(script, /# Left out of this run[\s\S]*tests\/helpers\.py: pytest collects no test from it/);
    const r = runAndParse(dir, script, testParser('pytest'));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.results, {
      'test_x.py::test_err': 'failed',
      'test_x.py::test_fail': 'failed',
      'test_x.py::test_forge': 'failed',
      'test_x.py::test_ok': 'passed',
      'test_x.py::test_p[1]': 'passed',
      'test_x.py::test_p[2]': 'failed',
      'test_x.py::test_p[x - y]': 'passed',
    });
    // The real log holds the forged summary too (in the captured output), and the real one after it.
    assert.match(r.log, /PASSED test_x\.py::test_fail/);
    // A forged line added to the real summary makes the tally disagree: no verdict.
    const forged = runAndParse(dir, script, testParser('pytest'), (log) =>
      log.replace(/(=+ short test summary info =+\n)(?![\s\S]*short test summary info)/, '$1PASSED test_x.py::test_fake\n'),
    );
    assert.equal(forged.code, 2);
    assert.match(forged.stderr, /tally says 3 passed but the summary lists 4/);
    // No tally at all (the run was cut): no verdict either.
    const cut = runAndParse(dir, script, testParser('pytest'), (log) => log.split('\n').filter((l) => !/ in [\d.]+s/.test(l)).join('\n'));
    assert.equal(cut.code, 2);
  });

  it('mocha: passes, failures, hook failures and pending through the JSON report; a forged report block is ignored', () => {
    const dir = repo({
      'test/a.test.js': `const assert = require('assert');
describe('math', () => {
  it('adds', () => assert.equal(1 + 1, 2));
  it('fails', () => assert.equal(1 + 1, 3));
  it.skip('later', () => {});
  describe('nested', () => {
    it('works', () => {});
    it('forges', () => {
      console.log('##SSR-REPORT 0000000000000000\\n{"numPassedTests":1,"numFailedTests":0,"testResults":[]}\\n##SSR-REPORT-END 0000000000000000');
      console.log('ok   math > fails');
    });
  });
});
describe('hooks', () => {
  before(() => { throw new Error('setup'); });
  it('never runs', () => {});
});
`,
    });
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    const script = testScript({ runner: 'mocha', runFiles: ['test/a.test.js'], learnedFrom: 'package.json scripts.test: mocha' });
    const r = runAndParse(dir, script, testParser('mocha'));
    assert.equal(r.code, 0, r.stderr + r.log);
    assert.deepEqual(r.results, {
      'test/a.test.js::hooks > "before all" hook for "never runs"': 'failed',
      'test/a.test.js::math > adds': 'passed',
      'test/a.test.js::math > fails': 'failed',
      'test/a.test.js::math > nested > forges': 'passed',
      'test/a.test.js::math > nested > works': 'passed',
    });
    // Without the nonce line first, nothing is trusted.
    const noNonce = runAndParse(dir, script, testParser('mocha'), (log) => log.split('\n').slice(1).join('\n'));
    assert.equal(noNonce.code, 2);
    // A report whose tally disagrees with its tests is refused.
    const bad = runAndParse(dir, script, testParser('mocha'), (log) => log.replace('"numPassedTests":3', '"numPassedTests":4'));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /tally/);
  });

  it('failure wins: an id reported passed and failed counts as failed', () => {
    const parser = testParser('node');
    const log = '\n##SSR-FILE t.js\nok 1 - same\nnot ok 2 - same\n##SSR-EXIT t.js 1\n';
    const p = spawnSync('python3', ['-c', parser], { input: log, encoding: 'utf8' });
    assert.deepEqual(JSON.parse(p.stdout), { 't.js::same': 'failed' });
  });
});

describe('the go test -json template on REAL go test output', () => {
  // test/fixtures/runner-logs/go-test-json.log is what the Go test_script.sh printed for
  // test/fixtures/runner-logs/go-module/ (Debian's golang-go 1.19 in the gomini environment
  // image): passing, failing, skipped, nested and table subtests, a package whose test does
  // not compile, a panic, a package without tests, and a test that prints a forged
  // "--- FAIL" line.
  const LOG = fs.readFileSync(path.join(ROOT, 'test/fixtures/runner-logs/go-test-json.log'), 'utf8');
  const parse = (parser: string, log = LOG) => spawnSync('python3', ['-c', parser], { input: log, encoding: 'utf8' });
  const PKG = 'example.com/runner/';

  it('leaves per subtest, skips left out, a parent only when it fails by itself; build failures and panics fail the known tests of the package', () => {
    const known = [`${PKG}builderr::TestAnswer`, `${PKG}panic::TestAfter`, `${PKG}panic::TestBefore`];
    const p = parse(testParser('go', [`${PKG}fail::TestBad`], known));
    assert.equal(p.status, 0, p.stderr);
    assert.deepEqual(JSON.parse(p.stdout), {
      [`${PKG}builderr::TestAnswer`]: 'failed',
      [`${PKG}fail::TestGood`]: 'passed',
      [`${PKG}fail::TestSubs/broken`]: 'failed',
      [`${PKG}fail::TestSubs/ok`]: 'passed',
      [`${PKG}panic::TestAfter`]: 'failed',
      [`${PKG}panic::TestBefore`]: 'passed',
      [`${PKG}panic::TestPanics`]: 'failed',
      [`${PKG}pass::TestForges`]: 'passed',
      [`${PKG}pass::TestNested/outer/inner`]: 'passed',
      // Go 1.19's test2json reads a test's own "--- FAIL: TestOne" line as an event: failure wins.
      // (Go 1.20 and newer frame their events, and the forged line is only output.)
      [`${PKG}pass::TestOne`]: 'failed',
      [`${PKG}pass::TestTable/a_b`]: 'passed',
      [`${PKG}pass::TestTable/c/d`]: 'passed',
      [`${PKG}pass::TestTable/e`]: 'passed',
      [`${PKG}skip::TestRuns/runs`]: 'passed',
    });
  });

  it('without known tests a package that does not build fails as itself; no event at all is a parse error', () => {
    const p = parse(testParser('go'));
    assert.equal(JSON.parse(p.stdout)[`${PKG}builderr`], 'failed');
    assert.equal(JSON.parse(p.stdout)[`${PKG}panic::TestAfter`], undefined);
    const none = parse(testParser('go'), 'go: cannot find main module\n');
    assert.equal(none.status, 2);
    assert.match(none.stderr, /no go test -json event/);
  });

  it('the script runs go test -json on ./... without the test cache, the network or another toolchain', () => {
    const s = testScript({ runner: 'go', runFiles: ['./...'] });
    assert.match(s, /^export GOTOOLCHAIN=local GOPROXY=off/m);
    assert.match(s, /^go test -json -count=1 \$\{SSR_GO_COVERPROFILE:\+-coverpkg=\.\/\.\.\. -coverprofile="\$SSR_GO_COVERPROFILE"\} \\\n {2}'\.\/\.\.\.' 2>&1$/m);
  });
});
