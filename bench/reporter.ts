/**
 * The judge's pytest reporter's cost (issue 17 §1): one judged run of
 * pyledger's suite (valid-removal's script and parser) with the reporter on
 * and off, alternating on one sandbox, median of N each (default 7). Both the
 * runner's own time for the run (script, kill, parser) and the round trip.
 */
import * as path from 'node:path';
import { readArtifact } from '../src/core/artifact/artifact';
import { DockerSandbox } from '../src/core/sandbox';
import { initBaseline } from '../src/core/sandbox/baseline';
import { installRunner, runTests } from '../src/core/judge/testRun';
import { median, table } from './stats';

const ROOT = path.resolve(__dirname, '..');

export async function benchReporter(n = Number(process.env.SSR_BENCH_N ?? 7)): Promise<Record<string, unknown>> {
  const artifact = await readArtifact(path.join(ROOT, 'test/fixtures/artifacts/valid-removal'));
  const sb = await DockerSandbox.create({ image: 'ssr-sandbox:bookworm', repoDir: path.join(ROOT, 'test/fixtures/repos/pyledger') });
  const times: Record<'on' | 'off', { runner: number[]; wall: number[] }> = { on: { runner: [], wall: [] }, off: { runner: [], wall: [] } };
  try {
    await initBaseline(sb);
    await installRunner(sb, artifact);
    await runTests(sb, { reporter: true }); // warm caches
    for (let i = 0; i < n; i++) {
      for (const mode of i % 2 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
        const t = Date.now();
        const r = await runTests(sb, { reporter: mode === 'on' });
        if (!r.ok || (mode === 'on') !== Boolean(r.reporter)) throw new Error(`run ${mode}: ${r.error ?? 'reporter mismatch'}`);
        times[mode].wall.push(Date.now() - t);
        times[mode].runner.push(r.durationMs);
      }
    }
  } finally {
    await sb.dispose();
  }
  const row = (m: 'on' | 'off') => ({ reporter: m, runs: n, 'runner ms (median)': Math.round(median(times[m].runner)), 'round trip ms (median)': Math.round(median(times[m].wall)) });
  const overhead = median(times.on.runner) - median(times.off.runner);
  return {
    times,
    overheadMs: overhead,
    text: `${table([row('off'), row('on')])}\noverhead: ${Math.round(overhead)} ms (${((overhead / median(times.off.runner)) * 100).toFixed(1)}%) per judged run`,
  };
}
