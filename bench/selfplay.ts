/**
 * Self-play benchmark (issue #4): validated artifacts per hour on the
 * example repository with the bootstrap proposer, at concurrency 1 and 2,
 * against a baseline that validates each state sequentially in a fresh
 * container, measured in the same run; and the session's peak memory.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type ArtifactFiles, changedFiles, parseDiff } from '../src/core/artifact/artifact';
import { validateArtifact } from '../src/core/judge/checks';
import { DEFAULT_CONFIG, SelfPlaySession } from '../src/core/selfplay/session';
import { makePlayers } from '../src/core/selfplay/players';
import { proposeBug } from '../src/core/bootstrap';
import { DockerSandbox, applyDiff, initBaseline, restoreFromBaseline } from '../src/core/sandbox';
import { installRunner, runTests } from '../src/core/judge/testRun';
import { median, table, timeMs } from './stats';

const ROOT = path.resolve(__dirname, '..');
const REPO = path.join(ROOT, 'test/fixtures/repos/pyledger');

/** The naive way: every state in its own fresh container, one after another. */
async function naiveValidate(a: ArtifactFiles): Promise<number> {
  const files = changedFiles(parseDiff(a.bugInjectDiff));
  const states: Array<{ diffs: string[]; restore?: string[] }> = [
    { diffs: [] },
    { diffs: [a.bugInjectDiff] },
    { diffs: [a.bugInjectDiff, a.testWeakenDiff] },
    ...files.map((f) => ({ diffs: [a.bugInjectDiff], restore: [f] })),
  ];
  let ok = 0;
  for (const s of states) {
    const sb = await DockerSandbox.create({ repoDir: REPO });
    try {
      await initBaseline(sb);
      await installRunner(sb, a);
      for (const d of s.diffs) await applyDiff(sb, d);
      if (s.restore) await restoreFromBaseline(sb, s.restore);
      if ((await runTests(sb)).ok) ok++;
    } finally {
      await sb.dispose();
    }
  }
  return ok;
}

export async function benchSelfplay(opts: { proposals?: number; rounds?: number } = {}): Promise<Record<string, unknown>> {
  const n = opts.proposals ?? 4;
  // The same proposals for every validator.
  const seen = new Set<string>();
  const arts: ArtifactFiles[] = [];
  for (let i = 0; arts.length < n && i < n * 3; i++) {
    try {
      arts.push((await proposeBug({ repoDir: REPO, seed: 1000 + i, seen })).artifact);
    } catch {
      /* try another seed */
    }
  }
  const per = async (fn: (a: ArtifactFiles) => Promise<unknown>) => {
    const xs: number[] = [];
    for (const a of arts) xs.push(await timeMs(() => fn(a)));
    return xs;
  };
  const c1 = await per((a) => validateArtifact({ repoDir: REPO, artifact: a, concurrency: 1 }));
  const c2 = await per((a) => validateArtifact({ repoDir: REPO, artifact: a, concurrency: 2 }));
  const naive = await per((a) => naiveValidate(a));
  const perHour = (ms: number) => 3_600_000 / ms;

  // Whole sessions (propose + validate), concurrency 1 and 2.
  const rounds = opts.rounds ?? 3;
  const sessions: Array<Record<string, string | number>> = [];
  for (const concurrency of [1, 2]) {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-bench-sp-'));
    const session = await SelfPlaySession.create({ ...DEFAULT_CONFIG, repoDir: REPO, rounds, concurrency, seed: 5 }, makePlayers({}), { out });
    const wall = await timeMs(() => session.run());
    const s = JSON.parse(fs.readFileSync(path.join(out, 'session.json'), 'utf8'));
    sessions.push({
      session: `bootstrap, concurrency ${concurrency}`,
      rounds,
      valid: s.metrics.validBugs,
      'wall s': wall / 1000,
      'valid artifacts/hour': s.metrics.validBugs / (wall / 3_600_000),
      'peak RSS MB': s.metrics.peakRssMb,
    });
    fs.rmSync(out, { recursive: true, force: true });
  }

  const rows = [
    { validator: 'SSR, concurrency 1', 'median ms': median(c1), 'artifacts/hour': perHour(median(c1)), 'vs naive': median(naive) / median(c1) },
    { validator: 'SSR, concurrency 2', 'median ms': median(c2), 'artifacts/hour': perHour(median(c2)), 'vs naive': median(naive) / median(c2) },
    { validator: 'naive: fresh container per state, sequential', 'median ms': median(naive), 'artifacts/hour': perHour(median(naive)), 'vs naive': 1 },
  ];
  return {
    validation: rows,
    sessions,
    text: [`validation only, ${arts.length} bootstrap proposals (medians):`, table(rows), '', 'whole sessions (propose + validate):', table(sessions)].join('\n'),
  };
}
