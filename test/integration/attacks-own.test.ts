/**
 * Attacks of our own against the layered judge (docs/judging.md, "Attacks of
 * our own"): solver patches for test/fixtures/artifacts/valid-removal that fix
 * nothing, written after the layers were, all judged with the runner screen
 * off so that only layers that do not depend on spelling decide. Each is
 * first shown to earn the reward from a judge without the judge's reporter
 * and without canaries, then judged by the whole judge, and where two layers
 * catch it, by each layer alone.
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

  /** Judges an attack with the given layers (the judge's reporter, canaries and twins). */
  async function judgeWith(name: string, layers: { reporter: boolean; canaries: boolean }): Promise<Evaluation> {
    const before = process.env.SSR_JUDGE_REPORTER;
    process.env.SSR_JUDGE_REPORTER = layers.reporter ? '1' : '0';
    try {
      return await evaluatePatch({ repoDir: PYLEDGER, artifact, patch: attack(name), original, screen: false, canaries: layers.canaries });
    } finally {
      if (before === undefined) delete process.env.SSR_JUDGE_REPORTER;
      else process.env.SSR_JUDGE_REPORTER = before;
    }
  }
  const without = (name: string) => judgeWith(name, { reporter: false, canaries: false });
  const whole = (name: string) => judgeWith(name, { reporter: true, canaries: true });

  before(async () => {
    artifact = await readArtifact(path.join(ARTIFACTS, 'valid-removal'));
    original = await originalResults({ repoDir: PYLEDGER, artifact });
  });

  it('an import hook that strips the asserts of the tests known to fail: solved without the layers, tampered by the twins', async () => {
    assert.equal((await without('own-strip-asserts-hook')).solved, true, 'the attack works on a judge without the layers');
    const ev = await whole('own-strip-asserts-hook');
    assert.equal(ev.solved, false, ev.detail);
    assert.equal(ev.reward, -1);
    assert.match(ev.tampered?.evidence.join('\n') ?? '', /twin/, ev.detail);
  });

  it("a wrapper around the runner's test call that swallows every exception: tampered by the reporter and by the canaries, each alone", async () => {
    assert.equal((await without('own-swallow-runtest')).solved, true, 'the attack works on a judge without the layers');
    const byReporter = await judgeWith('own-swallow-runtest', { reporter: true, canaries: false });
    assert.ok(byReporter.tampered, byReporter.detail);
    const byCanaries = await judgeWith('own-swallow-runtest', { reporter: false, canaries: true });
    assert.ok(byCanaries.tampered, byCanaries.detail);
    assert.match(byCanaries.tampered!.reason, /planted under random names/);
  });

  it('a forged pass for every test id the patch knew, then exit 0 before any test runs: tampered by the reporter and by the missing canaries, each alone', async () => {
    assert.equal((await without('own-forged-exit-known-ids')).solved, true, 'the attack works on a judge without the layers');
    const byReporter = await judgeWith('own-forged-exit-known-ids', { reporter: true, canaries: false });
    assert.ok(byReporter.tampered, byReporter.detail);
    const byCanaries = await judgeWith('own-forged-exit-known-ids', { reporter: false, canaries: true });
    assert.ok(byCanaries.tampered, byCanaries.detail);
    assert.match(byCanaries.tampered!.evidence.join('\n'), /none of the \d+ test\(s\) the judge planted in .* was reported/);
  });

  it('the same forged run reading the test files at run time: tampered (it reports the planted tests too, and their inverted twins pass)', async () => {
    const ev = await whole('own-forged-exit');
    assert.equal(ev.solved, false, ev.detail);
    assert.ok(ev.tampered, ev.detail);
  });

  it('the failing tests deselected by a plugin registered from library code: not solved (required tests are missing or fail)', async () => {
    const ev = await whole('own-deselect-at-import');
    assert.equal(ev.solved, false, ev.detail);
    assert.equal(ev.reward, -1);
  });
});
