/**
 * Real-size benchmark (issue #11): a self-play session on a vendored real
 * library with several hundred tests (ufo: TypeScript on vitest, 463 tests,
 * its dependencies installed by `ssr env build`), reporting seconds per
 * valid bug divided by T_suite, where T_suite is one run of the session's
 * own test script in a ready container, measured in the same run. "before"
 * turns the per-session suite cache off (SSR_SUITE_CACHE=0: every proposal
 * reruns the original suite twice and the coverage trace), the overlap of
 * the next proposal with the current validation (SSR_OVERLAP=0) and the
 * reuse of the proposer's own judged runs by validation
 * (SSR_REUSE_PROPOSER_RUNS=0); each later row turns one more on. The
 * per-session cache of the original state's results in the checks, and the
 * environment image's hand-over of node_modules to the test user, are on
 * alike in all rows. Every row is traced (SSR_TRACE, src/core/base/trace.ts): the
 * table says how many suite runs and container starts each needed, and where
 * the "after" row's time went.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readArtifact } from '../src/core/artifact/artifact';
import { buildEnvironment } from '../src/core/environment';
import { makePlayers } from '../src/core/selfplay/players';
import { DEFAULT_CONFIG, SelfPlaySession } from '../src/core/selfplay/session';
import { DockerSandbox } from '../src/core/sandbox';
import { installRunner, runTests } from '../src/core/judge/testRun';
import { readTrace, summarizeTrace } from '../src/core/base/trace';
import { clearSuiteCache } from '../src/core/bootstrap/suiteCache';
import { table, timeMs } from './stats';

const ROOT = path.resolve(__dirname, '..');
const FIXTURE = path.join(ROOT, 'test/fixtures/repos/ufo');

export async function benchRealSize(opts: { rounds?: number; concurrency?: number } = {}): Promise<Record<string, unknown>> {
  const rounds = opts.rounds ?? 3;
  const concurrency = opts.concurrency ?? 2;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-bench-real-'));
  const repo = path.join(work, 'ufo');
  fs.cpSync(FIXTURE, repo, { recursive: true });
  const env = await buildEnvironment({ repoDir: repo });
  const rows: Array<Record<string, string | number>> = [];
  let firstArtifact: string | undefined;
  let breakdown: ReturnType<typeof summarizeTrace> = [];
  const knobs = ['SSR_SUITE_CACHE', 'SSR_OVERLAP', 'SSR_REUSE_PROPOSER_RUNS', 'SSR_TRACE'] as const;
  for (const [label, cache, overlap, reuse] of [
    ['before: suite rerun per proposal, rounds in sequence', '0', '0', '0'],
    ['suite learned once per session', '1', '0', '0'],
    ['+ next proposal during validation', '1', '1', '0'],
    ["after: + validation takes the proposer's runs", '1', '1', '1'],
  ] as const) {
    // Each session starts cold: the suite is learned in this process once per session, not once per benchmark.
    clearSuiteCache();
    const trace = path.join(work, `trace-${rows.length}.jsonl`);
    Object.assign(process.env, { SSR_SUITE_CACHE: cache, SSR_OVERLAP: overlap, SSR_REUSE_PROPOSER_RUNS: reuse, SSR_TRACE: trace });
    const out = fs.mkdtempSync(path.join(work, 'run-'));
    const session = await SelfPlaySession.create({ ...DEFAULT_CONFIG, repoDir: repo, image: env.image, rounds, concurrency, seed: 11 }, makePlayers({}), { out });
    const wall = await timeMs(() => session.run());
    const s = JSON.parse(fs.readFileSync(path.join(out, 'session.json'), 'utf8'));
    const bugs = fs.existsSync(path.join(out, 'bugs')) ? fs.readdirSync(path.join(out, 'bugs')) : [];
    firstArtifact ??= bugs.map((b) => path.join(out, 'bugs', b, 'artifact')).find((d) => fs.existsSync(path.join(d, 'test_script.sh')));
    const spans = readTrace(trace);
    breakdown = summarizeTrace(spans);
    rows.push({
      session: label,
      rounds,
      valid: s.metrics.validBugs,
      'suite runs': spans.filter((x) => x.name === 'tests.run').length,
      containers: spans.filter((x) => x.name === 'sandbox.create').length,
      'wall s': wall / 1000,
      's per valid bug': s.metrics.validBugs ? wall / 1000 / s.metrics.validBugs : NaN,
    });
  }
  for (const k of knobs) delete process.env[k];
  // T_suite: the session's own test script, once, in a ready container (after one warm-up run).
  let tSuite = NaN;
  if (firstArtifact) {
    const a = await readArtifact(firstArtifact);
    const sb = await DockerSandbox.create({ repoDir: repo, image: env.image });
    try {
      await installRunner(sb, a);
      await runTests(sb);
      tSuite = (await timeMs(() => runTests(sb))) / 1000;
    } finally {
      await sb.dispose();
    }
  }
  for (const r of rows) r['÷ T_suite'] = (r['s per valid bug'] as number) / tSuite;
  fs.rmSync(work, { recursive: true, force: true });
  return {
    rows,
    tSuite,
    text: [
      `session on ufo (463 tests, vitest) in ${env.image}, concurrency ${concurrency}; T_suite = ${tSuite.toFixed(2)} s (one run of the session's test script in a ready container)`,
      table(rows),
      '',
      "where the last row's time went (spans overlap: proposals run during validations; the coverage run is inside propose.suite):",
      table(breakdown.map((b) => ({ span: b.name, count: b.count, 'total s': b.totalMs / 1000, 'median s': b.medianMs / 1000 }))),
    ].join('\n'),
  };
}
