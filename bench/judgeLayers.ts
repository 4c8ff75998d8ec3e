/**
 * The judge's layers together (issues 17 and 24): one judged run of the true
 * fix of valid-removal (pyledger) with every layer on (the runner screen, the
 * file-level harness diff, the judge's pytest reporter, canaries and twins)
 * against the same run with all of them off, interleaved, beside T_suite (one
 * judged test run of the original in a ready sandbox). The original's
 * results are given, so each evaluation is one sandbox.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readArtifact, type ArtifactFiles } from '../src/core/artifact/artifact';
import { evaluatePatch, originalResults, type EvaluateOptions } from '../src/core/judge/evaluate';
import { installRunner, runTests } from '../src/core/judge/testRun';
import { DockerSandbox } from '../src/core/sandbox/docker';
import { median, table, timeMs } from './stats';

const ROOT = path.resolve(__dirname, '..');
const REPO = path.join(ROOT, 'test/fixtures/repos/pyledger');
const ART = path.join(ROOT, 'test/fixtures/artifacts/valid-removal');
const FIX = path.join(ROOT, 'test/fixtures/predictions/valid-removal/true-fix.diff');

/** T_suite: the median judged test run of the original in one ready sandbox. */
async function suiteMs(artifact: ArtifactFiles, reps: number): Promise<number> {
  const sb = await DockerSandbox.create({ repoDir: REPO });
  try {
    await installRunner(sb, artifact);
    const runs: number[] = [];
    for (let i = 0; i < reps; i++) runs.push((await runTests(sb, {})).durationMs);
    return median(runs);
  } finally {
    await sb.dispose();
  }
}

/** One evaluation with the layers on or off (the reporter is switched by SSR_JUDGE_REPORTER, as the tests do). */
async function judged(o: EvaluateOptions, layers: boolean): Promise<void> {
  const before = process.env.SSR_JUDGE_REPORTER;
  process.env.SSR_JUDGE_REPORTER = layers ? '1' : '0';
  try {
    const ev = await evaluatePatch(layers ? o : { ...o, screen: false, harnessDiff: false, canaries: false });
    if (!ev.solved) throw new Error(`the true fix was not solved (${layers ? 'layers on' : 'layers off'}): ${ev.detail}`);
  } finally {
    if (before === undefined) delete process.env.SSR_JUDGE_REPORTER;
    else process.env.SSR_JUDGE_REPORTER = before;
  }
}

export async function benchJudgeLayers(opts: { reps?: number } = {}): Promise<Record<string, unknown>> {
  const reps = opts.reps ?? 7;
  const artifact = await readArtifact(ART);
  const o: EvaluateOptions = { repoDir: REPO, artifact, patch: fs.readFileSync(FIX, 'utf8'), original: await originalResults({ repoDir: REPO, artifact }) };
  const tSuite = await suiteMs(artifact, reps);
  await judged(o, true); // warm
  const on: number[] = [];
  const off: number[] = [];
  for (let i = 0; i < reps; i++) {
    off.push(await timeMs(() => judged(o, false)));
    on.push(await timeMs(() => judged(o, true)));
  }
  const a = median(on);
  const b = median(off);
  const text =
    table([
      { judged: 'T_suite (one judged test run, ready sandbox)', medianMs: tSuite, runs: reps },
      { judged: 'evaluation, every layer off', medianMs: b, runs: reps },
      { judged: 'evaluation, every layer on', medianMs: a, runs: reps },
    ]) + `\nthe layers' cost per judged run: ${(a - b).toFixed(0)} ms, ${(((a - b) / tSuite) * 100).toFixed(1)} % of T_suite`;
  return { text, reps, tSuiteMs: tSuite, onMs: a, offMs: b, costMs: a - b, costOfSuite: (a - b) / tSuite };
}
