/**
 * The solver episode: the solver workspace (original + bug + weakening,
 * fresh history) -> the agent, told only the reversed test_weaken.diff ->
 * the patch -> the evaluation -> r_solve.
 */
import type { TaskInfo, Trajectory } from '../base/trajectory';
import { DEFAULT_IMAGE, ensureEngineAndImage, type DockerSandbox } from '../sandbox/docker';
import { artifactId, type ArtifactFiles } from '../artifact/artifact';
import { createSolverWorkspace, evaluatePatch, type Evaluation } from '../judge/evaluate';
import type { ReporterRecords, TestResults } from '../judge/testRun';
import { solverReward } from '../judge/rewards';
import { isCancelled } from '../base/errors';
import { runAgent, newEpisodeId } from '../agents/loop';
import { solverSubmit } from '../agents/submit';
import { reverseDiff } from '../agents/diffs';
import { solverSystemPrompt, solverTaskPrompt } from '../agents/prompts';
import { assertRepo, cancelledTrajectory, unjudgeable, type EpisodeCommon } from './episodeCommon';

export interface SolveEpisodeOptions extends EpisodeCommon {
  artifact: ArtifactFiles;
  /** Attempt number within the bug's group (0-based). */
  attempt?: number;
  /** Results on the original repository (from validation); computed by the evaluation when absent. */
  original?: TestResults;
  /** What the judge's pytest reporter saw on the original run (validation's), passed on to evaluation. */
  originalReporter?: ReporterRecords;
  /** Artifact id recorded in the trajectory (default: the hash of the five files). */
  artifactId?: string;
  /** Evaluate the patch (default true); a function replaces evaluatePatch (tests). */
  evaluate?: boolean | typeof evaluatePatch;
  testTimeoutMs?: number;
}

export interface SolveEpisodeResult {
  trajectory: Trajectory;
  /** The submitted patch (undefined when the agent did not submit). */
  patch?: string;
  evaluation?: Evaluation;
  /** r_solve: +1 solved, -1 not; undefined when the episode could not be judged (policy or sandbox failure, cancel). */
  reward?: number;
}

/** One episode's fixed facts. */
interface Run {
  id: string;
  image: string;
  labels: Record<string, string>;
  task: TaskInfo;
}

/** One solver episode. */
export async function runSolveEpisode(opts: SolveEpisodeOptions): Promise<SolveEpisodeResult> {
  await assertRepo(opts.repoDir);
  const image = opts.image ?? DEFAULT_IMAGE;
  await ensureEngineAndImage(image);
  const id = opts.id ?? newEpisodeId('solver');
  const task = {
    repo: opts.repoDir,
    artifactId: opts.artifactId ?? artifactId(opts.artifact),
    order: typeof opts.artifact.meta?.order === 'number' ? opts.artifact.meta.order : 1,
    attempt: opts.attempt ?? 0,
    image,
  };
  const run: Run = { id, image, labels: { 'ssr.episode': id, ...(opts.labels ?? {}) }, task };
  const sb = await solverSandbox(opts, run);
  if (!sb) return { trajectory: cancelledTrajectory(id, 'solver', opts.policy, task) };
  const { trajectory, patch } = await solverAgent(opts, sb, run);

  let judged: { evaluation?: Evaluation; reward?: number } = {};
  if (patch !== undefined) {
    if (opts.evaluate !== false) judged = await judgePatch(opts, run, trajectory, patch);
  } else if (!unjudgeable(trajectory)) {
    judged = { evaluation: noPatch(trajectory), reward: solverReward(false) };
  }
  const { evaluation, reward } = judged;
  if (evaluation) trajectory.outcome = { ...evaluation, results: undefined } as unknown as Record<string, unknown>;
  if (reward !== undefined) trajectory.reward = reward;
  return { trajectory, patch, evaluation, reward };
}

/** The solver workspace; undefined when cancelled while it was made. */
async function solverSandbox(opts: SolveEpisodeOptions, run: Run): Promise<DockerSandbox | undefined> {
  try {
    return await createSolverWorkspace({
      repoDir: opts.repoDir,
      artifact: opts.artifact,
      image: run.image,
      signal: opts.signal,
      memoryBytes: opts.memoryBytes,
      pidsLimit: opts.pidsLimit,
      cpus: opts.cpus,
      labels: run.labels,
    });
  } catch (err) {
    if (isCancelled(err) || opts.signal?.aborted) return undefined;
    throw err;
  }
}

/** The agent's run in the workspace (always removed after), told only the reversed weakening. */
async function solverAgent(opts: SolveEpisodeOptions, sb: DockerSandbox, run: Run): Promise<{ trajectory: Trajectory; patch?: string }> {
  try {
    const native = opts.toolMode === 'native';
    const result = await runAgent<string>({
      ...opts,
      id: run.id,
      sandbox: sb,
      role: 'solver',
      task: run.task,
      systemPrompt: solverSystemPrompt({ repoPath: sb.repoPath, native, commandTimeoutMs: opts.commandTimeoutMs, maxOutputBytes: opts.maxOutputBytes }),
      taskPrompt: solverTaskPrompt({ testPatch: reverseDiff(opts.artifact.testWeakenDiff), repoPath: sb.repoPath }),
      onSubmit: solverSubmit(),
    });
    return { trajectory: result.trajectory, patch: result.submission };
  } finally {
    await sb.dispose().catch(() => undefined);
  }
}

/** The patch's evaluation and r_solve; a cancel or an evaluation error marks the trajectory (no reward). */
async function judgePatch(opts: SolveEpisodeOptions, run: Run, trajectory: Trajectory, patch: string): Promise<{ evaluation?: Evaluation; reward?: number }> {
  const evaluate = typeof opts.evaluate === 'function' ? opts.evaluate : evaluatePatch;
  let evaluation: Evaluation | undefined;
  try {
    evaluation = await evaluate({
      repoDir: opts.repoDir,
      artifact: opts.artifact,
      patch,
      image: run.image,
      original: opts.original,
      originalReporter: opts.originalReporter,
      signal: opts.signal,
      testTimeoutMs: opts.testTimeoutMs,
      memoryBytes: opts.memoryBytes,
      pidsLimit: opts.pidsLimit,
      cpus: opts.cpus,
      labels: run.labels,
    });
    return { evaluation, reward: evaluation.reward };
  } catch (err) {
    if (isCancelled(err) || opts.signal?.aborted) {
      trajectory.status = 'cancelled';
      trajectory.error = 'cancelled during evaluation';
    } else {
      trajectory.info!.evaluation_error = (err as Error).message;
    }
    return { evaluation };
  }
}

/** The evaluation of an episode that submitted no patch: not solved. */
function noPatch(trajectory: Trajectory): Evaluation {
  return {
    solved: false,
    reward: solverReward(false),
    detail: `not solved: no patch was submitted (${trajectory.status}${trajectory.error ? `: ${trajectory.error}` : ''})`,
    applied: false,
    failedTests: [],
    missingTests: [],
    durationMs: 0,
  };
}
