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
import { initBaseline, removeDerivedOutputs, resetToBaseline } from '../../src/core/sandbox/baseline';
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
