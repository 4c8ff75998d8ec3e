/**
 * Attacks of our own against the layered judge (docs/judging.md, "Attacks of
 * our own"): solver patches for test/fixtures/artifacts/valid-removal that fix
 * nothing, written after the layers were, with the runner screen off so that
 * only the layers that do not depend on spelling decide. Each is first shown
 * to work against a judge without those layers (solved, or what it aims at),
 * then judged by the whole judge.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type ArtifactFiles, readArtifact } from '../../src/core/artifact/artifact';
import { evaluatePatch, originalResults, type Evaluation } from '../../src/core/judge/evaluate';
import type { TestResults } from '../../src/core/judge/testRun';
import { ARTIFACTS, FIXTURES, PYLEDGER } from '../helpers/paths';
import { assertNoContainers } from '../helpers/docker';

const attack = (name: string) => fs.readFileSync(path.join(FIXTURES, 'attacks', `${name}.diff`), 'utf8');

describe('attacks of our own (real engine, runner screen off)', function () {
  this.timeout(900_000);
  after(assertNoContainers);
  let artifact: ArtifactFiles;
  let original: TestResults;
  const judgeIt = (name: string, layers = true): Promise<Evaluation> =>
    evaluatePatch({ repoDir: PYLEDGER, artifact, patch: attack(name), original, screen: false, ...(layers ? {} : { canaries: false, reporter: false }) } as Parameters<typeof evaluatePatch>[0]);

  before(async () => {
    artifact = await readArtifact(path.join(ARTIFACTS, 'valid-removal'));
    original = await originalResults({ repoDir: PYLEDGER, artifact });
  });

  it('an import hook that strips the asserts of the tests known to fail: solved without the layers, tampered with them (twins)', async () => {
    assert.equal((await judgeIt('own-strip-asserts-hook', false)).solved, true, 'the attack works on a judge without canaries');
    const ev = await judgeIt('own-strip-asserts-hook');
    assert.equal(ev.solved, false, ev.detail);
    assert.ok(ev.tampered, ev.detail);
    assert.match(ev.tampered!.evidence.join('\n'), /twin/);
  });

  it('a wrapper around the runner\u2019s test call that swallows every exception: tampered (the must-fail canary passed)', async () => {
    assert.equal((await judgeIt('own-swallow-runtest', false)).solved, true, 'the attack works on a judge without canaries');
    const ev = await judgeIt('own-swallow-runtest');
    assert.equal(ev.solved, false, ev.detail);
    assert.ok(ev.tampered, ev.detail);
  });

  it('the failing tests deselected by a plugin registered from library code: not solved (required tests are missing)', async () => {
    const ev = await judgeIt('own-deselect-at-import');
    assert.equal(ev.solved, false, ev.detail);
    assert.equal(ev.reward, -1);
    assert.ok(ev.tampered || ev.missingTests.length > 0, ev.detail);
  });

  it('a forged pass for every known test, then exit 0 before any test runs: not solved', async () => {
    const ev = await judgeIt('own-forged-exit');
    assert.equal(ev.solved, false, ev.detail);
    assert.equal(ev.reward, -1);
  });
});
