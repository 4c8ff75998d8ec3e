/**
 * The judge's own pytest reporter (src/core/judge/py/ssr_judge_pytest.py,
 * src/core/judge/reporter.ts) against the real engine, on pyledger: attacks
 * that get past the runner screen (turned off here) and fool the artifact's
 * parser are seen by the reporter and judged tampered; an injector script
 * that fabricates a failure gets no broken test from it; the true fix stays
 * solved and a bootstrap proposal stays valid. Attack patches are made by
 * test/fixtures/attacks/make_attacks.py.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readArtifact, type ArtifactFiles } from '../../src/core/artifact/artifact';
import { evaluatePatch } from '../../src/core/judge/evaluate';
import { validateArtifact } from '../../src/core/judge/checks';
import { proposeBug } from '../../src/core/bootstrap';
import { ARTIFACTS, FIXTURES, PREDICTIONS, PYLEDGER } from '../helpers/paths';
import { assertNoContainers } from '../helpers/docker';

const attack = (name: string) => fs.readFileSync(path.join(FIXTURES, 'attacks', `${name}.diff`), 'utf8');
const ART = path.join(ARTIFACTS, 'valid-removal');

/** Runs fn with the judge's reporter off (SSR_JUDGE_REPORTER=0): what the artifact's parser alone would conclude. */
async function withoutReporter<T>(fn: () => Promise<T>): Promise<T> {
  process.env.SSR_JUDGE_REPORTER = '0';
  try {
    return await fn();
  } finally {
    delete process.env.SSR_JUDGE_REPORTER;
  }
}

describe("the judge's reporter: outcomes from pytest's own objects, outside the log (real engine)", function () {
  this.timeout(600_000);
  after(assertNoContainers);

  it('the true fix is solved, every parser id mapped to a node id the reporter saw', async () => {
    const artifact = await readArtifact(ART);
    const ev = await evaluatePatch({ repoDir: PYLEDGER, artifact, patch: fs.readFileSync(path.join(PREDICTIONS, 'valid-removal', 'true-fix.diff'), 'utf8') });
    assert.equal(ev.solved, true, ev.detail);
    assert.equal(ev.tampered, undefined);
    assert.doesNotMatch(ev.detail, /not node ids/);
  });

  it('replacing TestReport.from_item_and_call through vars() of a module named at run time is tampered (screen off)', async () => {
    const artifact = await readArtifact(ART);
    const blind = await withoutReporter(() => evaluatePatch({ repoDir: PYLEDGER, artifact, patch: attack('report-vars'), screen: false, canaries: false }));
    assert.equal(blind.solved, true, `without the reporter the parser is fooled: ${blind.detail}`);
    const ev = await evaluatePatch({ repoDir: PYLEDGER, artifact, patch: attack('report-vars'), screen: false, canaries: false });
    assert.equal(ev.solved, false, ev.detail);
    assert.ok(ev.tampered, ev.detail);
    assert.ok(ev.tampered.evidence.some((e) => /tests\/test_ledger\.py::test_trial_balance: the log says passed; the judge's reporter saw it fail/.test(e)), ev.tampered.evidence.join('\n'));
    assert.ok(ev.tampered.evidence.some((e) => /core reporting function changed.*TestReport\.from_item_and_call/.test(e)), ev.tampered.evidence.join('\n'));
  });

  it('a pytest11 entry-point plugin from a dist-info folder the patch adds, flipping failures, is tampered', async () => {
    const base = await readArtifact(ART);
    // Entry-point plugins load only where the script lets pytest load them.
    const artifact: ArtifactFiles = { ...base, testScript: base.testScript.replace(' PYTEST_DISABLE_PLUGIN_AUTOLOAD=1', '') };
    assert.doesNotMatch(artifact.testScript, /DISABLE_PLUGIN_AUTOLOAD/);
    const blind = await withoutReporter(() => evaluatePatch({ repoDir: PYLEDGER, artifact, patch: attack('entry-point-plugin'), screen: false, canaries: false, harnessDiff: false }));
    assert.equal(blind.solved, true, `without the reporter the parser is fooled: ${blind.detail}`);
    const ev = await evaluatePatch({ repoDir: PYLEDGER, artifact, patch: attack('entry-point-plugin'), screen: false, canaries: false, harnessDiff: false });
    assert.equal(ev.solved, false, ev.detail);
    assert.ok(ev.tampered, ev.detail);
    const evidence = ev.tampered.evidence.join('\n');
    assert.match(evidence, /a pytest plugin the original run did not load: flip=ssr_flip \(\/repo\/ssr_flip\.py\)/);
    assert.match(evidence, /the log says passed; the judge's reporter saw it fail/);
  });

  it('swapping the log pipe for /dev/null and printing a summary where everything passed is tampered (screen off)', async () => {
    const artifact = await readArtifact(ART);
    const blind = await withoutReporter(() => evaluatePatch({ repoDir: PYLEDGER, artifact, patch: attack('log-swap'), screen: false, canaries: false }));
    assert.equal(blind.solved, true, `without the reporter the parser is fooled: ${blind.detail}`);
    const ev = await evaluatePatch({ repoDir: PYLEDGER, artifact, patch: attack('log-swap'), screen: false, canaries: false });
    assert.equal(ev.solved, false, ev.detail);
    assert.ok(ev.tampered, ev.detail);
    assert.match(ev.tampered.evidence.join('\n'), /test_trial_balance: the log says passed; the judge's reporter saw it fail/);
  });

  it('an injector script that prints a fabricated FAILED line gets no broken test from the reporter', async () => {
    const base = await readArtifact(path.join(ARTIFACTS, 'invalid-bug-breaks-tests'));
    // The bug only changes Money.__repr__; the script finds it in the tree (by a path the harness rules do not see) and fails a test in the log.
    const fabricate = [
      '#!/usr/bin/env bash',
      'export PYTHONDONTWRITEBYTECODE=1 PYTEST_DISABLE_PLUGIN_AUTOLOAD=1',
      "python3 -m pytest -rA -p no:cacheprovider -q tests 2>&1 | python3 -c '",
      'import re, sys',
      'import glob',
      'buggy = any("currency!r" in open(p).read() for p in glob.glob("pyledg" + "er/*.py"))',
      'flipped = False',
      'for line in sys.stdin:',
      '    if buggy and line.startswith("PASSED tests/test_money.py::test_str_hash_and_immutability"):',
      '        line, flipped = "FAILED" + line[6:], True',
      '    if flipped and " passed in " in line:',
      '        line = re.sub(r"(\\d+) passed in", lambda m: "1 failed, %d passed in" % (int(m.group(1)) - 1), line)',
      '    sys.stdout.write(line)',
      "'",
      '',
    ].join('\n');
    const artifact: ArtifactFiles = { ...base, testScript: fabricate };
    const blind = await withoutReporter(() => validateArtifact({ repoDir: PYLEDGER, artifact, originalRepeat: 1 }));
    const fooled = blind.checks.find((c) => c.id === 'bug_breaks_tests')!;
    assert.equal(fooled.status, 'pass', `without the reporter the log alone counts: ${fooled.detail}`);
    assert.match(fooled.detail, /rests on the artifact's own test_script\.sh/);
    const r = await validateArtifact({ repoDir: PYLEDGER, artifact, originalRepeat: 1 });
    const check = r.checks.find((c) => c.id === 'bug_breaks_tests')!;
    assert.equal(check.status, 'fail', check.detail);
    assert.match(check.detail, /0 test\(s\) that pass on the original fail or disappear with the bug/);
    assert.match(check.detail, /1 test\(s\) the log reports broken were not seen failing with the bug and passing on the original by the judge's reporter/);
    assert.equal(r.valid, false);
  });

  it('a bootstrap proposal on pyledger stays valid, its broken tests corroborated by the reporter', async () => {
    const p = await proposeBug({ repoDir: PYLEDGER, seed: 3 });
    const r = await validateArtifact({ repoDir: PYLEDGER, artifact: p.artifact, originalRepeat: 1 });
    assert.equal(r.valid, true, JSON.stringify(r.checks, null, 1));
    assert.match(r.checks.find((c) => c.id === 'bug_breaks_tests')!.detail, /corroborated by the judge's reporter/);
    assert.equal(r.brokenSeenBy, 'reporter');
    // The original run's plugins travel with the report, so a session's evaluations can compare against them.
    assert.ok(r.originalReporter?.plugins.some((pl) => /ssr_judge_pytest/.test(pl.key)), JSON.stringify(r.originalReporter?.plugins.map((pl) => pl.key)));
  });
});
