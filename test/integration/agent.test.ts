/**
 * Full episodes against the real sandbox, driven by recorded replay
 * trajectories (test/fixtures/trajectories/, made by make.ts there) on the
 * pyledger fixture repository.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { listSandboxes } from '../../src/core/sandbox';
import { runInjectEpisode, runSolveEpisode, readTrajectory, writeTrajectory, trajectoryProblem } from '../../src/core/selfplay/episodes';
import { createPolicy, PolicyError, type Policy } from '../../src/core/policy';
import { readArtifact, parseDiff, changedFiles } from '../../src/core/artifact/artifact';
import { createSolverWorkspace } from '../../src/core/judge/evaluate';
import { applyDiff } from '../../src/core/sandbox/baseline';
import { reverseDiff } from '../../src/core/agents/diffs';
import { copyFixture } from '../helpers/fixtures';

const FIXTURES = path.resolve(__dirname, '../fixtures');
const REPO = path.join(FIXTURES, 'repos/pyledger');
const TRAJ = path.join(FIXTURES, 'trajectories');
const LABELS = { 'ssr.test': `agent-episodes-${process.pid}` };

function replay(name: string): Promise<Policy> {
  return createPolicy({ kind: 'replay', trajectory: path.join(TRAJ, `${name}.json`) });
}

const down: Policy = {
  info: { kind: 'openai', model: 'down', baseUrl: 'http://127.0.0.1:9/v1' },
  complete: async () => {
    throw new PolicyError('connect ECONNREFUSED 127.0.0.1:9');
  },
};

describe('agent episodes (real sandbox, replay policy)', function () {
  this.timeout(300_000);

  afterEach(async () => {
    assert.deepEqual(await listSandboxes(LABELS), [], 'a container was left behind');
  });

  it('injector: explores, runs the tests, writes the five files and submits a valid artifact', async () => {
    const steps: number[] = [];
    const r = await runInjectEpisode({
      repoDir: REPO,
      policy: await replay('inject-valid'),
      strategy: 'removal',
      labels: LABELS,
      onStep: (s) => steps.push(s.index),
    });
    const t = r.trajectory;
    assert.equal(t.status, 'submitted', t.error);
    assert.equal(t.role, 'injector');
    assert.equal(t.strategy, 'removal');
    assert.equal(trajectoryProblem(t), undefined);
    assert.deepEqual(steps, t.steps.map((s) => s.index));
    assert.deepEqual(
      t.steps.map((s) => s.tool),
      ['bash', 'bash', 'bash', 'create', 'create', 'create', 'bash', 'bash', 'edit', 'bash', 'edit', 'edit', 'edit', 'bash', 'bash', 'bash', 'submit'],
    );
    assert.ok(r.validation, r.validationError);
    assert.equal(r.validation.valid, true, JSON.stringify(r.validation.checks, null, 2));
    assert.equal(r.reward, undefined, 'a valid artifact waits for the solve rate');
    assert.equal((t.outcome as { valid: boolean }).valid, true);
    assert.deepEqual(r.validation.brokenTests.sort(), [
      'tests/test_money.py::test_allocate_by_ratio_with_zero_share',
      'tests/test_money.py::test_allocate_keeps_every_cent',
      'tests/test_money.py::test_allocate_negative_amount',
      'tests/test_money.py::test_split_evenly',
      'tests/test_money.py::test_split_jpy',
    ]);
    const a = r.artifact!;
    assert.deepEqual(changedFiles(parseDiff(a.bugInjectDiff)), ['pyledger/money.py']);
    assert.deepEqual(changedFiles(parseDiff(a.testWeakenDiff)), ['tests/test_money.py']);
    assert.equal(a.testFiles.length, 6);
    assert.equal(t.task.artifactId?.length, 12);
    assert.equal(t.info!.submission, a.bugInjectDiff);
    // The edit made from pyledger/ (the shell's cwd) hit pyledger/money.py; its step holds the delta.
    const bugStep = t.steps[8];
    assert.equal((bugStep.parsed as { path: string }).path, '/repo/pyledger/money.py');
    assert.match(bugStep.diff!, /^diff --git a\/pyledger\/money\.py b\/pyledger\/money\.py[\s\S]*-        for step in range\(leftover\):/);
    // Files written outside the repository are in no diff; the workspace diff is what the agent left.
    assert.ok(t.steps.every((s) => !s.diff?.includes('test_script.sh')));
    assert.match(String(t.info!.workspace_diff), /pyledger\/money\.py[\s\S]*tests\/test_money\.py/);
    // The verification step ran the suite three times on a clean copy.
    assert.match(t.steps[15].output, /76 tests: \{'passed': 76\}[\s\S]*'failed': 5[\s\S]*72 tests: \{'passed': 72\}/);
    // Round trip through a file.
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-agent-')), 'trajectory.json');
    await writeTrajectory(file, t);
    assert.deepEqual(await readTrajectory(file), JSON.parse(JSON.stringify(t)));
  });

  it('injector: an artifact whose bug breaks no test fails bug_breaks_tests, r_inject = -1', async () => {
    const r = await runInjectEpisode({ repoDir: REPO, policy: await replay('inject-invalid'), strategy: 'direct', labels: LABELS });
    assert.equal(r.trajectory.status, 'submitted');
    assert.equal(r.validation?.valid, false);
    assert.equal(r.validation?.firstFailure, 'bug_breaks_tests');
    const check = r.validation!.checks.find((c) => c.id === 'bug_breaks_tests')!;
    assert.equal(check.status, 'fail');
    assert.equal(r.reward, -1);
    assert.equal(r.trajectory.reward, -1);
    assert.deepEqual(
      { valid: (r.trajectory.outcome as { valid: boolean }).valid, first: (r.trajectory.outcome as { firstFailure: string }).firstFailure },
      { valid: false, first: 'bug_breaks_tests' },
    );
  });

  it('injector: history on a repository without history falls back to removal; no submit means r_inject = -1', async () => {
    const r = await runInjectEpisode({
      repoDir: REPO,
      policy: await createPolicy({ kind: 'replay', messages: ['<tool: bash>\ngit log --oneline\n</tool>'] }),
      strategy: 'history',
      labels: LABELS,
      maxTurns: 1,
    });
    const t = r.trajectory;
    assert.equal(t.strategy, 'removal');
    assert.match(String((t.info!.notes as string[]).join(' ')), /history strategy needs history/);
    assert.match(t.messages[1].content, /Strategy: remove functionality/);
    assert.match(t.steps[0].output, /Initial commit/);
    assert.equal(t.status, 'max_turns');
    assert.equal(r.artifact, undefined);
    assert.equal(r.reward, -1);
  });

  it('injector: the history strategy sees the real git history of the repository', async () => {
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-agent-hist-'));
    try {
      copyFixture(REPO, repo);
      const git = (...a: string[]) => execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...a], { cwd: repo, encoding: 'utf8' });
      const ledger = path.join(repo, 'pyledger/ledger.py');
      const fixed = fs.readFileSync(ledger, 'utf8');
      git('init', '-q');
      fs.writeFileSync(ledger, fixed.replace('transaction.date > as_of', 'transaction.date >= as_of'));
      git('add', '-A');
      git('commit', '-qm', 'Ledger with balances');
      fs.writeFileSync(ledger, fixed);
      git('commit', '-qam', 'Fix: include transactions on the as_of date');
      fs.writeFileSync(path.join(repo, 'NOTES.txt'), 'uncommitted\n');
      const r = await runInjectEpisode({
        repoDir: repo,
        policy: await createPolicy({ kind: 'replay', messages: ['<tool: bash>\ngit log --oneline; git status --porcelain\n</tool>'] }),
        strategy: 'history',
        labels: LABELS,
        maxTurns: 1,
        validate: false,
      });
      const t = r.trajectory;
      assert.equal(t.strategy, 'history');
      assert.match(t.messages[1].content, /Strategy: revert part of the history[\s\S]*with 3 commits/);
      assert.match(t.steps[0].output, /Working tree state\n[0-9a-f]+ Fix: include transactions on the as_of date\n[0-9a-f]+ Ledger with balances\n\[exit code: 0\]/);
      assert.match(String((t.info!.notes as string[])[0]), /uncommitted changes were committed/);
      // The user's repository is untouched.
      assert.equal(git('log', '--oneline').trim().split('\n').length, 2);
      assert.equal(git('status', '--porcelain'), '?? NOTES.txt\n');
    } finally {
      fs.rmSync(repo, { recursive: true, force: true });
    }
  });

  it('injector: a model server that is down ends the episode as an error, with no reward', async () => {
    const r = await runInjectEpisode({ repoDir: REPO, policy: down, strategy: 'mix', seed: 3, labels: LABELS });
    assert.equal(r.trajectory.status, 'error');
    assert.equal(r.trajectory.info!.error_kind, 'policy');
    assert.match(r.trajectory.error!, /ECONNREFUSED/);
    assert.equal(r.reward, undefined);
    assert.ok(['removal', 'history'].includes(r.trajectory.strategy!));
  });

  it('solver: fixes the bug from the reversed test weakening alone, r_solve = +1', async () => {
    const artifact = await readArtifact(path.join(FIXTURES, 'artifacts/valid-removal'));
    const r = await runSolveEpisode({ repoDir: REPO, artifact, policy: await replay('solve-fix'), attempt: 2, labels: LABELS });
    const t = r.trajectory;
    assert.equal(t.status, 'submitted', t.error);
    assert.equal(t.role, 'solver');
    assert.equal(t.task.attempt, 2);
    // The task is the reversed weakening: the deleted tests come back as additions.
    assert.match(t.messages[1].content, /<test_patch>\n[\s\S]*\n\+def test_trial_balance\(ledger\):[\s\S]*<\/test_patch>/);
    assert.ok(!t.messages[1].content.includes('bug_inject'));
    assert.equal(r.evaluation?.solved, true, r.evaluation?.detail);
    assert.equal(r.reward, 1);
    assert.equal(t.reward, 1);
    assert.deepEqual(changedFiles(parseDiff(r.patch!)).sort(), ['pyledger/ledger.py', 'pyledger/money.py']);
  });

  it('solver: a partial fix submitted as a patch file is not solved, r_solve = -1', async () => {
    const artifact = await readArtifact(path.join(FIXTURES, 'artifacts/valid-removal'));
    const r = await runSolveEpisode({ repoDir: REPO, artifact, policy: await replay('solve-fail'), labels: LABELS });
    assert.equal(r.trajectory.status, 'submitted');
    assert.deepEqual((r.trajectory.steps.at(-1)!.parsed as { paths: string[] }).paths, ['/tmp/fix.patch']);
    assert.equal(r.evaluation?.solved, false);
    assert.match(r.evaluation!.detail, /not solved: 3 of \d+ required test\(s\) fail/);
    assert.equal(r.reward, -1);
  });

  it('solver: running out of turns is a failure (-1); a server that is down is not judged', async () => {
    const artifact = await readArtifact(path.join(FIXTURES, 'artifacts/valid-removal'));
    const out = await runSolveEpisode({
      repoDir: REPO,
      artifact,
      policy: await createPolicy({ kind: 'replay', messages: ['<tool: bash>\ngit log --oneline; ls /ssr; ls</tool>'] }),
      labels: LABELS,
      maxTurns: 1,
    });
    assert.equal(out.trajectory.status, 'max_turns');
    assert.equal(out.reward, -1);
    assert.equal(out.evaluation?.solved, false);
    assert.match(out.evaluation!.detail, /no patch was submitted \(max_turns/);
    // The solver sees one fresh commit, no SSR baseline and no artifact files.
    const seen = out.trajectory.steps[0].output;
    assert.match(seen, /^[0-9a-f]+ Initial commit\n/);
    assert.ok(!/base\.git|bug_inject|test_weaken/.test(seen), seen);
    const err = await runSolveEpisode({ repoDir: REPO, artifact, policy: down, labels: LABELS });
    assert.equal(err.trajectory.status, 'error');
    assert.equal(err.reward, undefined);
    assert.equal(err.evaluation, undefined);
  });

  it('the reversed weakening of every valid fixture applies to its solver workspace', async () => {
    for (const name of fs.readdirSync(path.join(FIXTURES, 'artifacts')).filter((n) => n.startsWith('valid-'))) {
      const artifact = await readArtifact(path.join(FIXTURES, 'artifacts', name));
      const sb = await createSolverWorkspace({ repoDir: REPO, artifact, labels: LABELS });
      try {
        const r = await applyDiff(sb, reverseDiff(artifact.testWeakenDiff), 'spec');
        assert.ok(r.ok, `${name}: ${r.error}`);
      } finally {
        await sb.dispose();
      }
    }
  });

  it('a cancelled episode removes its sandbox and says so', async () => {
    const ac = new AbortController();
    const policy = await createPolicy({ kind: 'replay', messages: ['<tool: bash>\nsleep 60\n</tool>'] });
    setTimeout(() => ac.abort(), 1500);
    const r = await runInjectEpisode({ repoDir: REPO, policy, strategy: 'removal', labels: LABELS, signal: ac.signal });
    assert.equal(r.trajectory.status, 'cancelled');
    assert.equal(r.reward, undefined);
  });
});
