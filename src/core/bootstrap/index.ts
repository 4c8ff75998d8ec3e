/**
 * The bootstrap proposer: SSR's embedded default bug injector, which needs
 * no model. In the spirit of the paper's removal strategy it finds the
 * repository's tests, runs them, picks functions the passing tests execute,
 * removes code from them (a whole body, a branch, a few statements; or
 * several functions in different files), keeps the mutation when it breaks
 * tests, deletes those tests to make the weakening, and returns the five
 * artifact files. Everything runs in one sandbox; the user's folder is only
 * read (copied in).
 *
 * Target selection is coverage-based: the suite is run once more with a
 * sys.setprofile hook (Python, via sitecustomize) or NODE_V8_COVERAGE
 * (JavaScript), and only functions that run during the tests are mutated.
 * When that trace yields nothing, names referenced from the test files are
 * the fallback.
 *
 *   learn the suite (suite.ts) -> pick targets (pick.ts) -> mutate (mutate.ts;
 *   multi.ts, single.ts) -> weaken (weaken.ts) -> the artifact (assemble.ts)
 */
import { seededRandom } from '../base/random';
import { CancelledError } from '../base/errors';
import { DockerSandbox, DEFAULT_IMAGE } from '../sandbox/docker';
import type { SandboxLike } from '../sandbox/types';
import { getSuite, putSuite, suiteCacheEnabled, treeKey } from './suiteCache';
import type { FrameworkInfo, Proposal, ProposeOptions } from './proposal';
import { learnSuite, type KnownSuite, type Suite } from './suite';
import { candidates, findTargets, targetOrder, type Targets } from './pick';
import type { Search } from './mutate';
import { maybeMulti } from './multi';
import { proposeSingle } from './single';
import { assemble } from './assemble';

export {
  NoProposalError,
  type SingleStrategy,
  type Strategy,
  type StrategyOption,
  type NoProposalReason,
  type FrameworkInfo,
  type ProposalTarget,
  type Proposal,
  type ProposerRun,
  type ProposeOptions,
} from './proposal';
export { detectFramework } from './detect';

/**
 * Proposes one bug artifact for the repository at `repoDir`. Throws
 * NoProposalError when the repository gives the proposer nothing to work
 * with, saying what is missing.
 */
export async function proposeBug(opts: ProposeOptions): Promise<Proposal> {
  const started = Date.now();
  const log = opts.log ?? (() => undefined);
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
  const rng = seededRandom(seed);
  const seen = opts.seen ?? new Set<string>();
  const image = opts.image ?? DEFAULT_IMAGE;
  const check = () => {
    if (opts.signal?.aborted) throw new CancelledError();
  };
  // The suite, its passing tests and the coverage targets are learned once per tree and image.
  const key = suiteCacheEnabled()
    ? treeKey(opts.repoDir, [image, opts.language ?? '', String(opts.testTimeoutMs ?? ''), String(opts.minPassing ?? '')])
    : undefined;
  const known = key ? getSuite<KnownSuite<Targets>>(key) : undefined;
  const sb = await DockerSandbox.create({ repoDir: opts.repoDir, image, signal: opts.signal, labels: { 'ssr.role': 'bootstrap' } });
  try {
    const { fw, suite } = await learnSuite(sb, opts, known, check, log, started);
    const targets = known?.targets ?? (await findTargets(sb, fw, suite, opts.signal));
    if (key && !known) putSuite(key, { fw, suite, targets });
    const { pool, how } = candidates(targets, fw, log);
    const s = newSearch(sb, fw, suite, rng, opts, log);
    const order = targetOrder(pool, seen, rng);
    const multi = await maybeMulti(s, pool, order, seen);
    const found = multi ? { ...multi, strategy: 'multi' as const } : await proposeSingle(s, order, seen);
    seen.add(found.key);
    return assemble(s, found, found.strategy, { seed, started, how });
  } finally {
    await sb.dispose();
  }
}

function newSearch(sb: SandboxLike, fw: FrameworkInfo, suite: Suite, rng: () => number, opts: ProposeOptions, log: (m: string) => void): Search {
  return {
    sb,
    suite,
    fw,
    rng,
    want: opts.strategy ?? 'any',
    minFailing: Math.max(1, opts.minFailing ?? 1),
    maxBroken: opts.maxBrokenFraction ?? 0.6,
    maxAttempts: opts.maxAttempts ?? 40,
    buggyTimeout: Math.min(opts.testTimeoutMs ?? 300_000, Math.max(30_000, suite.baselineMs * 4 + 10_000)),
    signal: opts.signal,
    log,
    attempts: 0,
  };
}

export { testScript, testParser } from './templates';
