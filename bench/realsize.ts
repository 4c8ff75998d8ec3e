/**
 * Real-size benchmark (issue #11): a self-play session on a vendored real
 * library with several hundred tests (ufo: TypeScript on vitest, 463 tests,
 * its dependencies installed by `ssr env build`), reporting seconds per
 * valid bug divided by T_suite, where T_suite is one run of the session's
 * own test script in a ready container, measured in the same run. "before"
 * turns the per-session suite cache off (SSR_SUITE_CACHE=0: every proposal
 * reruns the original suite twice and the coverage trace) and the overlap of
 * the next proposal with the current validation (SSR_OVERLAP=0); "after"
 * keeps both. The per-session cache of the original state's results in the
 * checks is the lead's (src/core/checks.ts) and is on or off alike in all rows.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readArtifact } from '../src/core/artifact';
import { buildEnvironment } from '../src/core/environment';
import { makePlayers } from '../src/core/players';
import { DEFAULT_CONFIG, SelfPlaySession } from '../src/core/selfplay';
import { DockerSandbox } from '../src/core/sandbox';
import { installRunner, runTests } from '../src/core/testRun';
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
  for (const [label, cache, overlap] of [
    ['before: suite rerun per proposal, rounds in sequence', '0', '0'],
    ['suite learned once per session', '1', '0'],
    ['after: + next proposal during validation', '1', '1'],
  ] as const) {
    process.env.SSR_SUITE_CACHE = cache;
    process.env.SSR_OVERLAP = overlap;
    const out = fs.mkdtempSync(path.join(work, 'run-'));
    const session = await SelfPlaySession.create({ ...DEFAULT_CONFIG, repoDir: repo, image: env.image, rounds, concurrency, seed: 11 }, makePlayers({}), { out });
    const wall = await timeMs(() => session.run());
    const s = JSON.parse(fs.readFileSync(path.join(out, 'session.json'), 'utf8'));
    const bugs = fs.existsSync(path.join(out, 'bugs')) ? fs.readdirSync(path.join(out, 'bugs')) : [];
    firstArtifact ??= bugs.map((b) => path.join(out, 'bugs', b, 'artifact')).find((d) => fs.existsSync(path.join(d, 'test_script.sh')));
    rows.push({ session: label, rounds, valid: s.metrics.validBugs, 'wall s': wall / 1000, 's per valid bug': s.metrics.validBugs ? wall / 1000 / s.metrics.validBugs : NaN });
  }
  delete process.env.SSR_SUITE_CACHE;
  delete process.env.SSR_OVERLAP;
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
    ].join('\n'),
  };
}
