/**
 * Processing one bug: validate (the seven checks, read back when already
 * done) -> N solver attempts, in parallel up to the concurrency limit ->
 * the solve rate, r_inject and r_solve -> each failed attempt's patch made
 * into a higher-order bug, which the session then processes like any other.
 */
import * as path from 'node:path';
import { span } from '../base/trace';
import { type ArtifactFiles, artifactId } from '../artifact/artifact';
import { validateArtifact, type ValidationReport } from '../judge/checks';
import { type BugRecord, readJson, writeJsonAtomic } from '../runs/store';
import type { Trajectory } from '../base/trajectory';
import { CancelledError, UsageError } from '../base/errors';
import { docker } from '../sandbox/docker';
import { buildHigherOrder, MAX_ORDER } from './higherOrder';
import { type AttemptOutcome, engineFailure, readFinishedAttempt, runSolveAttempt, updateBugRewards } from './solveAttempt';
import { forwardRun } from './events';
import { now, record, type SessionContext } from './context';

/**
 * Runs fn over the items, at most `limit` at once. When one fails, no new
 * item starts, the ones running finish, and then the first error is thrown
 * (so nothing keeps writing into the run after the caller gave up on it).
 */
async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failed: { err: unknown } | undefined;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        out[i] = await fn(items[i]);
      } catch (err) {
        failed ??= { err };
      }
    }
  });
  await Promise.all(workers);
  if (failed) throw failed.err;
  return out;
}

/** The injector's episode as a trajectory record of the bug's round. */
function injectorRecord(t: Trajectory, bug: BugRecord, reward: number) {
  return record(t, `inject:${bug.round}`, reward, { bugId: bug.id, round: bug.round }, path.join('bugs', bug.id, 'injector.json'));
}

/** Validates, solves and rewards one bug; returns the higher-order bugs it gave. */
export async function processBug(ctx: SessionContext, bug: BugRecord): Promise<BugRecord[]> {
  const artifact = (await ctx.store.readArtifact(bug.id))!;
  const validation = await validateBug(ctx, bug, artifact);
  ctx.emit({ type: 'validated', bugId: bug.id, valid: validation.valid, firstFailure: validation.firstFailure });
  const injectorTraj = await readJson<Trajectory>(path.join(ctx.store.bugDir(bug.id), 'injector.json'));
  if (!validation.valid) {
    Object.assign(bug, { status: 'invalid', valid: false, firstFailure: validation.firstFailure, rInject: -1, updatedAt: now() });
    await ctx.store.writeBug(bug);
    ctx.emit({ type: 'reward', bugId: bug.id, rInject: -1, note: `invalid: ${validation.firstFailure}` });
    if (injectorTraj) ctx.store.appendTrajectory(injectorRecord(injectorTraj, bug, -1));
    return [];
  }
  if (validation.brokenSeenBy === 'script') bug.brokenSeenByScriptOnly = true;
  if (!ctx.players.policy || !ctx.players.solve) {
    Object.assign(bug, { status: 'unsolved-no-solver', valid: true, updatedAt: now() });
    await ctx.store.writeBug(bug);
    return [];
  }
  Object.assign(bug, { status: 'solving', valid: true, updatedAt: now() });
  await ctx.store.writeBug(bug);

  const aid = artifactId(artifact);
  const results = await mapLimit([...Array(ctx.config.attempts).keys()], ctx.config.concurrency, (n) => attempt(ctx, bug, artifact, aid, n, validation));
  const judged = results.filter((x) => x.reward !== undefined);
  const { rInject } = await updateBugRewards(ctx.store, bug, ctx.config.alpha, (e) => ctx.emit(e));
  if (rInject !== undefined) {
    if (injectorTraj) ctx.store.appendTrajectory(injectorRecord(injectorTraj, bug, rInject));
  } else if (!judged.length) {
    ctx.emit({ type: 'error', bugId: bug.id, message: 'no solver attempt could be judged (the policy failed every time)' });
  }
  return higherOrderBugs(ctx, bug, artifact, results);
}

/** The bug's validation report: read back when stored, else the seven checks run (and stored). */
async function validateBug(ctx: SessionContext, bug: BugRecord, artifact: ArtifactFiles): Promise<ValidationReport> {
  const cfg = ctx.config;
  const vFile = path.join(ctx.store.bugDir(bug.id), 'validation.json');
  const stored = await readJson<ValidationReport>(vFile);
  if (stored) return stored;
  const validation = await span('validate', () => validateArtifact({
    repoDir: cfg.repoDir,
    artifact,
    image: cfg.image,
    ...cfg.thresholds,
    concurrency: cfg.concurrency,
    testTimeoutMs: cfg.testTimeoutMs,
    signal: ctx.signal,
    runCache: ctx.runCache,
    labels: { 'ssr.run': ctx.store.id },
    onEvent: (e) => {
      if (e.type === 'check') ctx.emit({ type: 'check', bugId: bug.id, check: e.check });
      else forwardRun((b) => ctx.emit(b), bug.id, e);
    },
  }), { bug: bug.id });
  if (ctx.cancelled()) throw new CancelledError();
  // A check that failed while the engine went away is the engine's failure, not the artifact's.
  if (!validation.valid) {
    const infra = await engineFailure(docker());
    if (infra) throw infra;
  }
  if (validation.flaky.length || validation.oracleFailing?.length) {
    // Evaluation leaves the flaky tests out and twins tests of F (judge/canaries.ts): both travel in the bug's metadata.
    artifact.meta = { ...(artifact.meta ?? {}), flaky: validation.flaky, oracleFailing: validation.oracleFailing ?? [] };
    await ctx.store.writeArtifact(bug.id, artifact);
  }
  await writeJsonAtomic(vFile, validation);
  return validation;
}

/** Solver attempt n of a bug: read back when finished, else run (again, from the same id). */
async function attempt(ctx: SessionContext, bug: BugRecord, artifact: ArtifactFiles, aid: string, n: number, validation: ValidationReport): Promise<AttemptOutcome> {
  const cfg = ctx.config;
  const done = await readFinishedAttempt(ctx.store, bug, n);
  if (done) return done;
  return runSolveAttempt({
    store: ctx.store,
    bug,
    artifact,
    artifactId: aid,
    attempt: n,
    signal: ctx.signal,
    engine: docker(),
    unfinished: 'redo',
    emit: (e) => ctx.emit(e),
    policy: () => ctx.players.policy!('solver', { round: bug.round, bugId: bug.id, attempt: n }),
    episode: ({ policy, id, onStep }) =>
      ctx.players.solve!({
        repoDir: cfg.repoDir,
        image: cfg.image,
        policy,
        artifact,
        attempt: n,
        original: validation.original,
        originalReporter: validation.originalReporter,
        maxTurns: cfg.maxTurns,
        testTimeoutMs: cfg.testTimeoutMs,
        signal: ctx.signal,
        id,
        artifactId: aid,
        onStep,
      }),
  });
}

/** The higher-order bugs from the failed attempts (made once, read back on resume), those still to process. */
async function higherOrderBugs(ctx: SessionContext, bug: BugRecord, artifact: ArtifactFiles, results: AttemptOutcome[]): Promise<BugRecord[]> {
  const children: BugRecord[] = [];
  if (!ctx.config.higherOrder || bug.order + 1 > MAX_ORDER) return children;
  for (const res of results) {
    // A tampered patch changed how tests run, not the code: it makes no higher-order bug.
    if (res.solved || !res.patch || !res.evaluation?.applied || res.evaluation.tampered) continue;
    const child = (await ctx.store.readBug(`${bug.id}-a${res.attempt}`)) ?? (await makeChild(ctx, bug, artifact, res));
    if (child && child.status !== 'done' && child.status !== 'invalid' && child.status !== 'unsolved-no-solver') children.push(child);
  }
  return children;
}

/** A failed attempt's patch as a stored higher-order bug; undefined (and said) when it makes none. */
async function makeChild(ctx: SessionContext, bug: BugRecord, artifact: ArtifactFiles, res: AttemptOutcome): Promise<BugRecord | undefined> {
  const childId = `${bug.id}-a${res.attempt}`;
  let next: ArtifactFiles;
  try {
    next = await buildHigherOrder({ repoDir: ctx.config.repoDir, artifact, patch: res.patch!, evaluation: res.evaluation! });
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    ctx.emit({ type: 'higher-order', parent: bug.id, attempt: res.attempt, skipped: err.message });
    return undefined;
  }
  await ctx.store.writeArtifact(childId, next);
  const child: BugRecord = {
    id: childId,
    order: bug.order + 1,
    parent: bug.id,
    parentAttempt: res.attempt,
    round: bug.round,
    source: 'higher-order',
    strategy: bug.strategy,
    status: 'proposed',
    createdAt: now(),
    updatedAt: now(),
  };
  await ctx.store.writeBug(child);
  ctx.emit({ type: 'higher-order', parent: bug.id, attempt: res.attempt, bugId: childId });
  return child;
}
