/**
 * Canaries and twins against real attacks (src/core/judge/canaries.ts,
 * docs/judging.md), on test/fixtures/artifacts/valid-removal in a real
 * container. The runner screen is off (screen: false) so that the patches
 * reach the run: the canaries alone must catch them. The true fix stays
 * solved with canaries on, and no planted id reaches the results.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type ArtifactFiles, readArtifact } from '../../src/core/artifact/artifact';
import { evaluatePatch, originalResults } from '../../src/core/judge/evaluate';
import type { TestResults } from '../../src/core/judge/testRun';
import { ARTIFACTS, FIXTURES, PREDICTIONS, PYLEDGER } from '../helpers/paths';
import { assertNoContainers } from '../helpers/docker';

const attack = (name: string) => fs.readFileSync(path.join(FIXTURES, 'attacks', `${name}.diff`), 'utf8');

describe('canaries and twins catch patches that flip test outcomes (real engine)', function () {
  this.timeout(600_000);
  after(assertNoContainers);
  let artifact: ArtifactFiles;
  let original: TestResults;

  before(async () => {
    artifact = await readArtifact(path.join(ARTIFACTS, 'valid-removal'));
    original = await originalResults({ repoDir: PYLEDGER, artifact });
  });

  it('the true fix stays solved with canaries on, and the results hold only real tests', async () => {
    const patch = fs.readFileSync(path.join(PREDICTIONS, 'valid-removal', 'true-fix.diff'), 'utf8');
    const ev = await evaluatePatch({ repoDir: PYLEDGER, artifact, patch, original });
    assert.equal(ev.solved, true, ev.detail);
    assert.equal(ev.tampered, undefined);
    assert.match(ev.detail, /; \d+ canary\/twin test\(s\) planted and checked/);
    assert.deepEqual(Object.keys(ev.results!).sort(), Object.keys(original).sort());
  });

  it('library code that makes pytest report every test passed (a name built at run time) is tampered: the must-fail canary passed', async () => {
    const ev = await evaluatePatch({ repoDir: PYLEDGER, artifact, patch: attack('flip-all-runtime-name'), original, screen: false });
    assert.equal(ev.solved, false, ev.detail);
    assert.equal(ev.reward, -1);
    assert.ok(ev.tampered, ev.detail);
    assert.match(ev.tampered!.evidence.join('\n'), /a canary that must fail, in tests\/test_\w+\.py, was reported passed/);
    assert.equal(ev.results, undefined);
  });

  it('without canaries the same patch would be solved (what they close)', async () => {
    const ev = await evaluatePatch({ repoDir: PYLEDGER, artifact, patch: attack('flip-all-runtime-name'), original, screen: false, canaries: false });
    assert.equal(ev.solved, true, ev.detail);
  });

  it('a flip keyed on the names of the failing tests is tampered: a twin of a failing test disagrees', async () => {
    const ev = await evaluatePatch({ repoDir: PYLEDGER, artifact, patch: attack('name-keyed-flip'), original, screen: false });
    assert.equal(ev.solved, false, ev.detail);
    assert.ok(ev.tampered, ev.detail);
    const evidence = ev.tampered!.evidence.join('\n');
    assert.match(evidence, /tests\/test_(ledger|money|report)\.py::test_\w+ (was reported passed but its twin .* failed|and its inverted twin .* were both reported passed)/);
    assert.doesNotMatch(evidence, /canary that must fail/);
  });
});
