/**
 * Proposing a round's first-order bug: the bootstrap proposer (no model) or
 * the policy as injector, then the artifact and its bug record stored in the
 * run. A proposer that makes nothing is the round's no-proposal (a policy
 * injector that submitted nothing gets r_inject = -1); an infrastructure
 * failure is never the proposer's: it is thrown, and the session pauses.
 */
import * as path from 'node:path';
import { span } from '../base/trace';
import { type ArtifactFiles, artifactId } from '../artifact/artifact';
import { type BugRecord, writeJsonAtomic } from '../runs/store';
import { CancelledError, classifyFailure, isCancelled } from '../base/errors';
import { docker } from '../sandbox/docker';
import { originalKey, type CachedStateRun } from '../judge/runCache';
import { engineFailure, episodeInfrastructureFailure } from './solveAttempt';
import { roundSeed } from './config';
import { forwardRun } from './events';
import { now, record, type SessionContext } from './context';
import type { Players } from './players';

type Injection = Awaited<ReturnType<NonNullable<Players['inject']>>>;
type ProposerRuns = { buggy: CachedStateRun; weakened: CachedStateRun; original?: CachedStateRun };

interface Proposal {
  artifact?: ArtifactFiles;
  key?: string;
  strategy?: string;
  notes: string[];
  injector?: Injection;
}

/** Makes the round's first-order bug and stores it; `failed` says why no proposal could be made. */
export async function proposeRound(ctx: SessionContext, r: number): Promise<{ bug: BugRecord } | { failed: string }> {
  let p: Proposal;
  try {
    p = ctx.config.proposer === 'bootstrap' ? await bootstrapProposal(ctx, r) : await injectorProposal(ctx, r);
  } catch (err) {
    if (isCancelled(err) || ctx.cancelled()) throw err;
    // A broken engine, a container killed from outside, a full disk: the round is not the proposer's to lose.
    const infra = await classifyFailure(err, docker());
    if (infra) throw infra;
    return { failed: (err as Error).message };
  }
  if (ctx.cancelled() || p.injector?.trajectory.status === 'cancelled') throw new CancelledError();
  if (!p.artifact) return { failed: await noArtifact(ctx, r, p.injector) };
  return { bug: await storeProposal(ctx, r, p.artifact, p) };
}

async function seenKeys(ctx: SessionContext): Promise<Set<string>> {
  return new Set((await ctx.store.listBugs()).map((b) => b.key).filter((k): k is string => Boolean(k)));
}

async function bootstrapProposal(ctx: SessionContext, r: number): Promise<Proposal> {
  const cfg = ctx.config;
  const seen = await seenKeys(ctx);
  const p = await span(
    'propose',
    () =>
      ctx.players.bootstrap!({
        repoDir: cfg.repoDir,
        image: cfg.image,
        seed: roundSeed(cfg.seed, r),
        seen,
        signal: ctx.signal,
        log: (m) => ctx.emit({ type: 'proposing', round: r, detail: m.replace(/^bootstrap: /, '') }),
      }),
    { round: r },
  );
  if (p.runs) await keepProposerRuns(ctx, p.artifact, p.runs);
  return { artifact: p.artifact, key: p.key, strategy: p.strategy, notes: p.notes };
}

async function injectorProposal(ctx: SessionContext, r: number): Promise<Proposal> {
  const cfg = ctx.config;
  const policy = await ctx.players.policy!('injector', { round: r });
  let injector: Injection;
  try {
    injector = await ctx.players.inject!({
      repoDir: cfg.repoDir,
      image: cfg.image,
      policy,
      strategy: cfg.strategy,
      seed: roundSeed(cfg.seed, r),
      thresholds: cfg.thresholds,
      concurrency: cfg.concurrency,
      maxTurns: cfg.maxTurns,
      signal: ctx.signal,
      id: `inject-r${r}`,
      onCheck: () => undefined,
      onStep: (index, tool) => ctx.emit({ type: 'proposing', round: r, detail: `the injector, step ${index + 1} (${tool || 'no tool'})` }),
      // The artifact has no id before it is validated: its runs go by the episode's.
      onValidation: (e) => forwardRun((b) => ctx.emit(b), `inject-r${r}`, e),
    });
  } finally {
    await policy.dispose?.();
  }
  return { artifact: injector.artifact, strategy: injector.trajectory.strategy, notes: [], injector };
}

/**
 * The bootstrap proposer ran the buggy and weakened states with the judge's
 * runner on this tree and image: validation takes those results instead of
 * running the same states again. Never for a policy's proposals.
 */
async function keepProposerRuns(ctx: SessionContext, artifact: ArtifactFiles, runs: ProposerRuns): Promise<void> {
  if (process.env.SSR_REUSE_PROPOSER_RUNS === '0') return;
  const cfg = ctx.config;
  const key = await originalKey({ repoDir: cfg.repoDir, image: cfg.image, artifact });
  // The first run of the original counts as one repetition: validation runs the others.
  if (runs.original) ctx.runCache.seedOriginal(key, runs.original);
  ctx.runCache.setState(key, [artifact.bugInjectDiff], runs.buggy);
  ctx.runCache.setState(key, [artifact.bugInjectDiff, artifact.testWeakenDiff], runs.weakened);
}

/** Why no artifact came (thrown when the infrastructure failed); a judged empty injector episode is recorded for training. */
async function noArtifact(ctx: SessionContext, r: number, injector?: Injection): Promise<string> {
  const t = injector?.trajectory;
  const infra = (t ? await episodeInfrastructureFailure(t, injector?.reward, docker()) : undefined) ?? (await engineFailure(docker()));
  if (infra) throw infra;
  // A policy injector that submitted nothing: r_inject = -1, recorded for training
  // (unless the episode could not be judged: the model server failed).
  const reason = `the injector submitted no artifact (${t?.status}${t?.error ? `: ${t.error}` : ''})`;
  if (injector && injector.reward !== undefined) {
    const rel = path.join('injector', `r${r}.json`);
    await writeJsonAtomic(path.join(ctx.store.dir, rel), injector.trajectory);
    ctx.store.appendTrajectory(record(injector.trajectory, `inject:${r}`, injector.reward, { round: r }, rel));
  }
  return reason;
}

/** Writes the proposed artifact (and the injector's episode and verdict) and the bug's record. */
async function storeProposal(ctx: SessionContext, r: number, artifact: ArtifactFiles, p: Proposal): Promise<BugRecord> {
  const cfg = ctx.config;
  const { key, strategy, notes, injector } = p;
  const id = `r${String(r).padStart(3, '0')}-${artifactId(artifact)}`;
  artifact.meta = { ...(artifact.meta ?? {}), order: 1, strategy, source: cfg.proposer === 'bootstrap' ? 'bootstrap' : String(cfg.policy?.kind ?? 'policy') };
  await ctx.store.writeArtifact(id, artifact);
  if (injector) {
    await writeJsonAtomic(path.join(ctx.store.bugDir(id), 'injector.json'), injector.trajectory);
    // An invalid verdict reached while the engine went away is not kept: the bug is validated again.
    const suspect = injector.validation && !injector.validation.valid && (await engineFailure(docker()));
    if (injector.validation && !suspect) await writeJsonAtomic(path.join(ctx.store.bugDir(id), 'validation.json'), injector.validation);
  }
  const bug: BugRecord = {
    id,
    order: 1,
    round: r,
    source: artifact.meta.source as string,
    strategy,
    key,
    status: 'proposed',
    createdAt: now(),
    updatedAt: now(),
  };
  await ctx.store.writeBug(bug);
  ctx.emit({ type: 'proposal', round: r, bugId: id, order: 1, source: bug.source, strategy, key, notes });
  return bug;
}
