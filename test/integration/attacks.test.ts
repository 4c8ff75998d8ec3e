/**
 * The judge against patches written to game it (docs/judging.md): each
 * attack is a real solver patch for test/fixtures/artifacts/valid-removal
 * (made by test/fixtures/attacks/make_attacks.py) that fixes nothing, and
 * each is judged "not solved" by a real evaluation in a real container. The
 * true fix stays solved, with the same judge.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readArtifact } from '../../src/core/artifact/artifact';
import { evaluatePatch } from '../../src/core/judge/evaluate';
import { DockerSandbox } from '../../src/core/sandbox/docker';
import { installRunner, runTests } from '../../src/core/judge/testRun';
import { applyDiff, initBaseline, removeDerivedOutputs, resetToBaseline } from '../../src/core/sandbox/baseline';
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';
import { ARTIFACTS, FIXTURES, PREDICTIONS, PYLEDGER } from '../helpers/paths';
import { assertNoContainers } from '../helpers/docker';

const ATTACKS = path.join(FIXTURES, 'attacks');
const ART = path.join(ARTIFACTS, 'valid-removal');
const attack = (name: string) => fs.readFileSync(path.join(ATTACKS, `${name}.diff`), 'utf8');

describe('attacks on the judge: patches that fix nothing are not solved (real engine)', function () {
  this.timeout(600_000);
  after(assertNoContainers);

  it('the true fix is solved by the same judge', async () => {
    const artifact = await readArtifact(ART);
    const ev = await evaluatePatch({ repoDir: PYLEDGER, artifact, patch: fs.readFileSync(path.join(PREDICTIONS, 'valid-removal', 'true-fix.diff'), 'utf8') });
    assert.equal(ev.solved, true, ev.detail);
    assert.deepEqual(ev.ignoredChanges, []);
    assert.equal(ev.groups!.required.failed + ev.groups!.required.missing, 0);
  });

  it('code under test rewriting test_parser.py: the judge\'s files are out of its reach', async () => {
    const artifact = await readArtifact(ART);
    const ev = await evaluatePatch({ repoDir: PYLEDGER, artifact, patch: attack('parser-rewrite') });
    assert.equal(ev.applied, true);
    assert.equal(ev.solved, false, ev.detail);
    assert.ok(ev.failedTests.length > 0, ev.detail);
  });

  it('a process that escapes the process group (double fork + setsid) is killed before the log is parsed', async () => {
    const artifact = await readArtifact(ART);
    const ev = await evaluatePatch({ repoDir: PYLEDGER, artifact, patch: attack('escape-process-group') });
    assert.equal(ev.applied, true);
    assert.equal(ev.solved, false, ev.detail);
    assert.ok(ev.failedTests.length > 0, ev.detail);
  });

  it('a new conftest.py at the root that reports failures as passes is reverted and listed', async () => {
    const artifact = await readArtifact(ART);
    const ev = await evaluatePatch({ repoDir: PYLEDGER, artifact, patch: attack('root-conftest') });
    assert.equal(ev.solved, false, ev.detail);
    assert.deepEqual(ev.ignoredChanges!.map((c) => c.path), ['conftest.py']);
    assert.match(ev.detail, /test harness were reverted/);
  });

  it('code under test that rewrites the test files on disk before the runner imports them finds them read-only', async () => {
    const artifact = await readArtifact(ART);
    const ev = await evaluatePatch({ repoDir: PYLEDGER, artifact, patch: attack('rewrite-tests-at-run') });
    assert.equal(ev.solved, false, ev.detail);
    // Every broken test still fails: none of the rewrites landed (without the protection 73 of 76 passed).
    assert.ok(ev.failedTests.includes('tests/test_ledger.py::test_trial_balance'), ev.detail);
    assert.equal(ev.groups!.required.failed, 11, ev.detail);
  });

  it('a repo-root pytest.py that shadows pytest and prints a pass for every test is reverted', async () => {
    const artifact = await readArtifact(ART);
    const ev = await evaluatePatch({ repoDir: PYLEDGER, artifact, patch: attack('shadow-runner') });
    assert.equal(ev.solved, false, ev.detail);
    assert.deepEqual(ev.ignoredChanges!.map((c) => c.path), ['pytest.py']);
    assert.match(ev.ignoredChanges![0].reason, /shadows the installed module pytest/);
    assert.ok(ev.failedTests.length > 0, ev.detail);
  });

  it('a log forged on stdout and stderr after pytest is done does not fool the parser', async () => {
    const artifact = await readArtifact(ART);
    const ev = await evaluatePatch({ repoDir: PYLEDGER, artifact, patch: attack('forged-log') });
    assert.equal(ev.applied, true);
    assert.equal(ev.solved, false, ev.detail);
    // The forged ids are among the failures: a failure wins over a forged pass.
    assert.ok(ev.failedTests.includes('tests/test_ledger.py::test_trial_balance'), ev.detail);
  });

  it('code under test that rewrites how pytest reports (monkeypatching TestReport) is refused before the run', async () => {
    const artifact = await readArtifact(ART);
    const ev = await evaluatePatch({ repoDir: PYLEDGER, artifact, patch: attack('runner-monkeypatch') });
    assert.equal(ev.solved, false, ev.detail);
    assert.match(ev.detail, /reaches into the test runner .*pytest in pyledger\/__init__\.py/);
  });

  it('deselecting the failing tests through pytest configuration is reverted', async () => {
    const artifact = await readArtifact(ART);
    const ev = await evaluatePatch({ repoDir: PYLEDGER, artifact, patch: attack('deselect-config') });
    assert.equal(ev.solved, false, ev.detail);
    assert.deepEqual(ev.ignoredChanges!.map((c) => c.path), ['pyproject.toml']);
    assert.match(ev.ignoredChanges![0].reason, /tool\.pytest/);
    // Reverted, the tests ran and failed (they were not merely missing).
    assert.ok(ev.failedTests.length > 0, ev.detail);
  });

  it('a new test module that patches the code under test at import is reverted', async () => {
    const artifact = await readArtifact(ART);
    const ev = await evaluatePatch({ repoDir: PYLEDGER, artifact, patch: attack('new-test-module') });
    assert.equal(ev.solved, false, ev.detail);
    assert.deepEqual(ev.ignoredChanges!.map((c) => c.path), ['tests/test_zz_patch.py']);
  });

  it('a patch that edits an oracle test file is judged against the original tests', async () => {
    const artifact = await readArtifact(ART);
    const ev = await evaluatePatch({ repoDir: PYLEDGER, artifact, patch: fs.readFileSync(path.join(PREDICTIONS, 'valid-removal', 'edits-oracle-tests.diff'), 'utf8') });
    assert.equal(ev.solved, false, ev.detail);
    assert.ok(ev.failedTests.length > 0, ev.detail);
  });
});

/** A git diff (with its binary data) that adds one file holding these bytes. */
function binaryDiff(file: string, bytes: Buffer): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-binary-'));
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' });
    git('init', '-q');
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), bytes);
    git('add', '-A');
    return git('diff', '--cached', '--binary', '--no-color');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('the file-level harness diff: files that load code into the test process make the attempt tampered (real engine)', function () {
  this.timeout(600_000);
  after(assertNoContainers);

  /** Evaluates an attack with the runner screen off: the verdict must come from the harness diff alone. */
  async function tampered(name: string) {
    const artifact = await readArtifact(ART);
    const ev = await evaluatePatch({ repoDir: PYLEDGER, artifact, patch: attack(name), screen: false });
    assert.equal(ev.solved, false, ev.detail);
    assert.equal(ev.reward, -1);
    assert.ok(ev.tampered, ev.detail);
    assert.match(ev.tampered.reason, /file-level harness diff/);
    assert.match(ev.detail, /^tampered: /);
    return ev;
  }

  for (const name of ['dist-info-plugin', 'egg-info-plugin']) it(`the pytest11 plugin of ${name} is a real attack: with plugin autoload on, the broken tests report passed`, async () => {
    const artifact = await readArtifact(ART);
    const sb = await DockerSandbox.create({ repoDir: PYLEDGER });
    try {
      await installRunner(sb, { ...artifact, testScript: artifact.testScript.replace(' PYTEST_DISABLE_PLUGIN_AUTOLOAD=1', '') });
      // The bug and the attack on the original tests (the oracle, as evaluation runs them).
      for (const d of [artifact.bugInjectDiff, attack(name)]) assert.equal((await applyDiff(sb, d)).ok, true);
      const run = await runTests(sb, { timeoutMs: 120_000 });
      assert.equal(run.ok, true, run.error);
      // Without the plugin this test fails on the buggy code (bug_breaks_tests); the plugin reports it passed.
      assert.equal(run.results!['tests/test_ledger.py::test_trial_balance'], 'passed', run.logTail);
      assert.ok(Object.values(run.results!).every((v) => v === 'passed'), run.logTail);
    } finally {
      await sb.dispose();
    }
  });

  it('a new .dist-info with entry_points.txt declaring a pytest11 plugin is tampered, with its files as evidence', async () => {
    const ev = await tampered('dist-info-plugin');
    assert.deepEqual(ev.tampered!.evidence.map((e) => e.split(':')[0]).sort(), ['pyledger_flip-1.0.dist-info/METADATA', 'pyledger_flip-1.0.dist-info/entry_points.txt']);
    // Decided before anything ran: no test results, no reverted changes.
    assert.equal(ev.results, undefined);
    assert.deepEqual(ev.ignoredChanges, []);
    // With the runner screen on, the same verdict: the harness diff comes first.
    const on = await evaluatePatch({ repoDir: PYLEDGER, artifact: await readArtifact(ART), patch: attack('dist-info-plugin') });
    assert.deepEqual(on.tampered, ev.tampered);
  });

  it('a new .egg-info plugin is tampered', async () => {
    const ev = await tampered('egg-info-plugin');
    assert.ok(ev.tampered!.evidence.some((e) => e.startsWith('pyledger_flip.egg-info/entry_points.txt: ')), ev.tampered!.evidence.join('; '));
  });

  it('a .pth file is tampered, no longer merely reverted', async () => {
    const ev = await tampered('pth-file');
    assert.deepEqual(ev.tampered!.evidence.map((e) => e.split(':')[0]), ['pyledger.pth']);
  });

  it('an .npmrc with a node-options preload is tampered', async () => {
    const ev = await tampered('npmrc-preload');
    assert.deepEqual(ev.tampered!.evidence.map((e) => e.split(':')[0]), ['.npmrc']);
    assert.match(ev.tampered!.evidence[0], /node-options/);
  });

  it('a .pyc that shadows pyledger/money.py, sent as a binary hunk, is tampered', async () => {
    assert.match(attack('pyc-shadow'), /^GIT binary patch$/m);
    const ev = await tampered('pyc-shadow');
    assert.deepEqual(ev.tampered!.evidence, ['pyledger/__pycache__/money.cpython-311.pyc: compiled Python bytecode: the interpreter can load it instead of the source']);
  });

  it('the true fix with a binary hunk beside it is refused (the repository keeps no binary data), and not tampered', async () => {
    const artifact = await readArtifact(ART);
    const fix = fs.readFileSync(path.join(PREDICTIONS, 'valid-removal', 'true-fix.diff'), 'utf8');
    const patch = fix + binaryDiff('pyledger/rates.bin', Buffer.from([0, 1, 2, 3, 255, 0, 7]));
    const ev = await evaluatePatch({ repoDir: PYLEDGER, artifact, patch, screen: false });
    assert.equal(ev.solved, false, ev.detail);
    assert.equal(ev.tampered, undefined);
    assert.match(ev.detail, /^not solved: the patch has a binary hunk for pyledger\/rates\.bin \(GIT binary patch\)/);
    assert.equal(ev.applied, false);
  });
});

describe('the sandbox keeps tested code away from the judge (real engine)', function () {
  this.timeout(300_000);
  after(assertNoContainers);

  it('tests run unprivileged; nothing they start survives the run; the judge\'s files stay unreadable or read-only', async () => {
    const sb = await DockerSandbox.create({ repoDir: PYLEDGER });
    try {
      const script = [
        'id -u > /tmp/uid',
        // A daemon that leaves the process group and the session.
        '(setsid bash -c "sleep 300" &) ; (setsid nohup bash -c "while :; do sleep 1; done" >/dev/null 2>&1 &)',
        'echo probe > /ssr/artifact/test_parser.py 2>/dev/null && echo WROTE_PARSER',
        'ls /ssr/tmp >/dev/null 2>&1 && echo READ_TMP',
        'cat /proc/1/environ >/dev/null 2>&1 && echo READ_INIT',
        // Forging a reply on the runner's channel: the stdout of a root process.
        'for d in /proc/[0-9]*; do [ "$(stat -c %u $d)" = 0 ] && { echo \'{"id":1,"error":"forged"}\' > $d/fd/1; } 2>/dev/null && echo FORGED_CHANNEL; done',
        'echo "PASSED a"',
      ].join('\n');
      await installRunner(sb, {
        testScript: script,
        testParser: 'import json, os, sys\nsys.stdin.read()\nprint(json.dumps({"uid_%d" % os.getuid(): "passed", "cwd_" + os.getcwd(): "passed"}))\n',
        testFiles: [],
        bugInjectDiff: '',
        testWeakenDiff: '',
      });
      const run = await runTests(sb, { timeoutMs: 30_000 });
      assert.equal(run.ok, true, run.error);
      assert.doesNotMatch(run.logTail, /WROTE_PARSER|READ_TMP|READ_INIT|FORGED_CHANNEL/);
      // The parser ran as its own user, in its own empty folder.
      assert.deepEqual(Object.keys(run.results!).sort(), ['cwd_/ssr/parse', 'uid_61002']);
      const ps = await sb.exec("ps -eo uid= | awk '$1 == 61001' | wc -l");
      assert.equal(ps.stdout.trim(), '0', 'a process of the test user survived the run');
      const uid = await sb.exec('cat /tmp/uid');
      assert.equal(uid.stdout.trim(), '61001', 'the test script ran as the unprivileged test user');
      const perms = await sb.exec('stat -c "%U %a" /ssr/artifact/test_parser.py /ssr/tmp /ssr/base.git 2>/dev/null || true');
      assert.match(perms.stdout, /^root 644\nroot 700/);
    } finally {
      await sb.dispose();
    }
  });

  it('ignored files: a reset keeps the original state\'s (dependencies) and drops new ones; the solver\'s workspace loses build output', async () => {
    const sb = await DockerSandbox.create({ repoDir: PYLEDGER });
    try {
      await sb.exec('printf "node_modules/\\n__pycache__/\\nbuild/\\n.pytest_cache/\\n" > .gitignore; mkdir -p node_modules/x build pyledger/__pycache__; ' +
        'echo 1 > node_modules/x/i.js; echo 2 > build/o.py; echo 3 > pyledger/__pycache__/m.pyc');
      await initBaseline(sb);
      await sb.exec('mkdir -p .pytest_cache; echo 1 > .pytest_cache/x; echo n > newfile');
      await resetToBaseline(sb);
      const after = (await sb.exec('ls -A')).stdout.split('\n');
      assert.ok(after.includes('node_modules') && after.includes('build'));
      assert.ok(!after.includes('.pytest_cache') && !after.includes('newfile'), after.join(' '));
      assert.deepEqual((await removeDerivedOutputs(sb)).sort(), ['build', 'pyledger/__pycache__']);
      const left = (await sb.exec('ls -A; ls -A pyledger')).stdout.split('\n');
      assert.ok(left.includes('node_modules') && !left.includes('build') && !left.includes('__pycache__'), left.join(' '));
    } finally {
      await sb.dispose();
    }
  });
});
