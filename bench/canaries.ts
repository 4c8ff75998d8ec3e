/**
 * Canaries benchmark (issue 17 §3, issue 24): one judged run of the true fix
 * of valid-removal (pyledger) with canaries and twins planted, against the
 * same judged run without them, interleaved; the original's results are
 * given, so each run is one sandbox: start, apply, plant, run, check.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readArtifact } from '../src/core/artifact/artifact';
import { evaluatePatch, originalResults } from '../src/core/judge/evaluate';
import { median, table, timeMs } from './stats';

const ROOT = path.resolve(__dirname, '..');
const REPO = path.join(ROOT, 'test/fixtures/repos/pyledger');
const ART = path.join(ROOT, 'test/fixtures/artifacts/valid-removal');
const FIX = path.join(ROOT, 'test/fixtures/predictions/valid-removal/true-fix.diff');

export async function benchCanaries(opts: { reps?: number } = {}): Promise<Record<string, unknown>> {
  const reps = opts.reps ?? 7;
  const artifact = await readArtifact(ART);
  const patch = fs.readFileSync(FIX, 'utf8');
  const original = await originalResults({ repoDir: REPO, artifact });
  const on: number[] = [];
  const off: number[] = [];
  let detail = '';
  await evaluatePatch({ repoDir: REPO, artifact, patch, original }); // warm
  for (let i = 0; i < reps; i++) {
    off.push(await timeMs(() => evaluatePatch({ repoDir: REPO, artifact, patch, original, canaries: false })));
    on.push(await timeMs(async () => void (detail = (await evaluatePatch({ repoDir: REPO, artifact, patch, original })).detail)));
  }
  const a = median(on);
  const b = median(off);
  const planted = Number(/(\d+) canary\/twin test\(s\) planted/.exec(detail)?.[1] ?? 0);
  const text = table([
    { judged: 'without canaries', medianMs: b, runs: reps },
    { judged: `with canaries (${planted} planted)`, medianMs: a, runs: reps },
  ]) + `\ncost per judged run: ${(a - b).toFixed(0)} ms (${(((a - b) / b) * 100).toFixed(1)} %)`;
  return { text, reps, withMs: a, withoutMs: b, costMs: a - b, planted, tests: Object.keys(original).length };
}
