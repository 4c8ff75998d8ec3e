/**
 * The seven checks and solver evaluation against the real Docker engine, on
 * every fixture artifact and prediction, through the core API and the CLI.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadArtifact, readArtifact } from '../../src/core/artifact/artifact';
import { CHECK_IDS, validateArtifact, type ValidationReport } from '../../src/core/judge/checks';
import { evaluatePatch } from '../../src/core/judge/evaluate';
import { ARTIFACTS, PREDICTIONS, PYLEDGER } from '../helpers/paths';
import { assertNoContainers, hashTree } from '../helpers/docker';
import { runCli } from '../helpers/cli';

interface Expected {
  valid: boolean;
  firstFailingCheck: string | null;
  note?: string;
}

const names = fs.readdirSync(ARTIFACTS).filter((n) => fs.existsSync(path.join(ARTIFACTS, n, 'expected.json'))).sort();
const expected = (n: string): Expected => JSON.parse(fs.readFileSync(path.join(ARTIFACTS, n, 'expected.json'), 'utf8'));
/** The hang fixture would wait for the default 120 s timeout: give it a short one. */
const timeoutFor = (n: string) => (n.startsWith('bad-script-') ? 5_000 : 60_000);

describe('consistency checks on the fixture artifacts (real engine)', function () {
  this.timeout(600_000);
  const repoHash = hashTree(PYLEDGER);
  const reports = new Map<string, ValidationReport>();

  after(async () => {
    assert.equal(hashTree(PYLEDGER), repoHash, 'the fixture repository was modified');
    await assertNoContainers();
  });

  it('has fixtures for every strategy and every check', () => {
    assert.ok(names.filter((n) => expected(n).valid).length >= 3, 'at least three valid artifacts');
    const failing = new Set(names.map((n) => expected(n).firstFailingCheck).filter(Boolean));
    for (const id of CHECK_IDS) assert.ok(failing.has(id), `an invalid fixture for ${id}`);
  });

  for (const name of names) {
    it(`${name}: ${expected(name).valid ? 'valid' : `invalid at ${expected(name).firstFailingCheck}`}`, async () => {
      const { artifact, problems } = await loadArtifact(path.join(ARTIFACTS, name));
      const r = await validateArtifact({ repoDir: PYLEDGER, artifact, problems, testTimeoutMs: timeoutFor(name) });
      reports.set(name, r);
      const exp = expected(name);
      assert.equal(r.checks.length, 7);
      assert.deepEqual(r.checks.map((c) => c.id), [...CHECK_IDS]);
      assert.equal(r.valid, exp.valid, `verdict; checks: ${JSON.stringify(r.checks, null, 1)}`);
      assert.equal(r.firstFailure ?? null, exp.firstFailingCheck, `first failing check; checks: ${JSON.stringify(r.checks, null, 1)}`);
      for (const c of r.checks) {
        assert.ok(['pass', 'fail', 'skip'].includes(c.status));
        assert.ok(c.detail.length > 0, `${c.id} has a detail`);
        if (c.status === 'skip') assert.match(c.detail, /depends on/);
      }
      if (exp.valid) assert.ok(r.brokenTests.length > 0 && r.oracleFailing.length > 0);
    });
  }

  it('runs each state once: 3 runs for a one-file bug, 3 + k for a k-file bug', () => {
    const one = reports.get('valid-history');
    const three = reports.get('valid-three-files');
    assert.ok(one && three);
    assert.equal(one.bugFiles.length, 1);
    assert.equal(one.runs.length, 3);
    assert.equal(three.bugFiles.length, 3);
    assert.equal(three.runs.length, 6);
  });

  it('bad-binary-hunk: the binary hunk in bug_inject.diff is named in bug_scope', () => {
    const r = reports.get('bad-binary-hunk');
    assert.ok(r);
    const scope = r.checks.find((c) => c.id === 'bug_scope')!;
    assert.equal(scope.status, 'fail');
    assert.match(scope.detail, /bug_inject\.diff has a binary hunk for pyledger\/__pycache__\/money\.cpython-311\.pyc \(GIT binary patch\)/);
  });

  it('invalid-bug-loads-code: a bug that adds package metadata is out of scope, the file named', () => {
    const r = reports.get('invalid-bug-loads-code');
    assert.ok(r);
    assert.match(r.checks.find((c) => c.id === 'bug_scope')!.detail, /changes the test harness, not code: .*pyledger_flip-1\.0\.dist-info\/entry_points\.txt \(package metadata/);
  });

  it('reports a hanging test script as a timeout', () => {
    const r = reports.get('bad-script-hang');
    assert.ok(r);
    assert.match(r.checks[1].detail, /did not finish within 5 s/);
  });

  it('repeat N: flaky tests are detected and left out of every set', async function () {
    // A parser that reports one made-up test as passed or failed at random.
    const { artifact } = await loadArtifact(path.join(ARTIFACTS, 'valid-history'));
    const flakyParser =
      artifact.testParser +
      '\n# flaky addition\nimport json as _j, sys as _s, random as _r\n' +
      'if __name__ == "__main__":\n    pass\n';
    // Wrap the real parser: run it, then add a coin-flip test.
    const wrapped = [
      'import json, random, subprocess, sys',
      'log = sys.stdin.read()',
      `real = ${JSON.stringify(artifact.testParser)}`,
      'out = subprocess.run([sys.executable, "-c", real], input=log, capture_output=True, text=True).stdout',
      'res = json.loads(out)',
      'res["tests/test_flaky.py::test_coin"] = random.choice(["passed", "failed"])',
      'print(json.dumps(res))',
    ].join('\n');
    assert.ok(flakyParser); // the plain parser stays intact in the fixture
    const r = await validateArtifact({ repoDir: PYLEDGER, artifact: { ...artifact, testParser: wrapped }, repeat: 6 });
    // With 6 runs of each of 3 states the coin shows both faces with probability 1 - 2^-17.
    assert.deepEqual(r.flaky, ['tests/test_flaky.py::test_coin']);
    assert.ok(!('tests/test_flaky.py::test_coin' in (r.original ?? {})));
    assert.equal(r.valid, true);
  });

  it('cancels cleanly through an AbortSignal and leaves no container', async () => {
    const { artifact } = await loadArtifact(path.join(ARTIFACTS, 'bad-script-hang'));
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 1500);
    const t0 = Date.now();
    await assert.rejects(
      validateArtifact({ repoDir: PYLEDGER, artifact, signal: ac.signal, testTimeoutMs: 60_000 }),
      (e: Error) => e.name === 'CancelledError',
    );
    assert.ok(Date.now() - t0 < 20_000, 'cancellation is prompt');
    await assertNoContainers();
  });
});

describe('solver evaluation on the fixture predictions (real engine)', function () {
  this.timeout(600_000);
  after(assertNoContainers);
  for (const art of fs.readdirSync(PREDICTIONS).sort()) {
    const exp: Record<string, { solved: boolean }> = JSON.parse(fs.readFileSync(path.join(PREDICTIONS, art, 'expected.json'), 'utf8'));
    for (const [pred, e] of Object.entries(exp)) {
      it(`${art} / ${pred}: ${e.solved ? 'solved' : 'not solved'}`, async () => {
        const artifact = await readArtifact(path.join(ARTIFACTS, art));
        const patch = fs.readFileSync(path.join(PREDICTIONS, art, `${pred}.diff`), 'utf8');
        const ev = await evaluatePatch({ repoDir: PYLEDGER, artifact, patch });
        assert.equal(ev.solved, e.solved, ev.detail);
        assert.equal(ev.reward, e.solved ? 1 : -1);
        assert.ok(ev.detail.length > 0);
      });
    }
  }
});

describe('the CLI over the real engine', function () {
  this.timeout(300_000);
  after(assertNoContainers);

  it('ssr validate --json: exit 0 and the contract fields for a valid artifact', async () => {
    const r = await runCli(['validate', '--repo', PYLEDGER, '--artifact', path.join(ARTIFACTS, 'valid-removal'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.valid, true);
    for (const c of j.checks) assert.deepEqual(Object.keys(c).sort(), ['detail', 'durationMs', 'id', 'status']);
  });

  it('ssr validate: exit 1 and a readable table for an invalid artifact', async () => {
    const r = await runCli(['validate', '--repo', PYLEDGER, '--artifact', path.join(ARTIFACTS, 'invalid-bug-scope')]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /FAIL\s+bug_scope/);
    assert.match(r.stdout, /INVALID \(first failing check: bug_scope\)/);
  });

  it('ssr evaluate: exit 0 solved, 1 not solved', async () => {
    const art = path.join(ARTIFACTS, 'valid-removal');
    const ok = await runCli(['evaluate', '--repo', PYLEDGER, '--artifact', art, '--patch', path.join(PREDICTIONS, 'valid-removal', 'true-fix.diff'), '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).solved, true);
    assert.equal(JSON.parse(ok.stdout).reward, 1);
    const bad = await runCli(['evaluate', '--repo', PYLEDGER, '--artifact', art, '--patch', path.join(PREDICTIONS, 'valid-removal', 'partial-fix.diff')]);
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stdout, /NOT SOLVED\s+reward -1/);
  });

  it('exit 2 with a fix-it message when the image is missing', async () => {
    const r = await runCli(['validate', '--repo', PYLEDGER, '--artifact', path.join(ARTIFACTS, 'valid-removal'), '--image', 'ssr-no-such-image:1']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /ssr-no-such-image:1 is not present/);
  });

  it('exit 2 with a fix-it message when no engine answers', async () => {
    const r = await runCli(['validate', '--repo', PYLEDGER, '--artifact', path.join(ARTIFACTS, 'valid-removal')], {
      DOCKER_HOST: 'unix:///tmp/ssr-no-engine.sock',
    });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cannot reach a Docker engine at unix:\/\/\/tmp\/ssr-no-engine.sock/);
    assert.match(r.stderr, /DOCKER_HOST/);
  });

  it('exit 2 for bad arguments', async () => {
    const r = await runCli(['validate', '--repo', '/nonexistent/repo', '--artifact', path.join(ARTIFACTS, 'valid-removal')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--repo \/nonexistent\/repo: no such folder/);
    const r2 = await runCli(['validate', '--repo', PYLEDGER]);
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /--artifact/);
  });

  it('SIGINT during validation removes every container', async () => {
    const r = await runCli(['validate', '--repo', PYLEDGER, '--artifact', path.join(ARTIFACTS, 'bad-script-hang')], {}, 2500);
    assert.notEqual(r.code, 0);
    await assertNoContainers();
  });

  it('ssr higher-order turns a failed patch into an order-2 artifact that is itself valid', async () => {
    const out = fs.mkdtempSync('/tmp/ssr-ho-test-');
    const art = path.join(ARTIFACTS, 'valid-removal');
    const r = await runCli(['higher-order', '--repo', PYLEDGER, '--artifact', art, '--patch', path.join(PREDICTIONS, 'valid-removal', 'partial-fix.diff'), '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).order, 2);
    const meta = JSON.parse(fs.readFileSync(path.join(out, 'ssr.json'), 'utf8'));
    assert.equal(meta.order, 2);
    const again = await runCli(['higher-order', '--repo', PYLEDGER, '--artifact', out, '--patch', path.join(PREDICTIONS, 'valid-removal', 'partial-fix.diff'), '--out', out + '-3']);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /order 2/);
    const solved = await runCli(['higher-order', '--repo', PYLEDGER, '--artifact', art, '--patch', path.join(PREDICTIONS, 'valid-removal', 'true-fix.diff'), '--out', out + '-s']);
    assert.equal(solved.code, 2);
    assert.match(solved.stderr, /solves the bug/);
    fs.rmSync(out, { recursive: true, force: true });
  });
});
