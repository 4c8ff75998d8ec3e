/**
 * Episodes: one injector or solver run from sandbox to reward.
 *
 * Inject: a sandbox with the original repository and its real git history
 * (the history strategy reads it) -> the agent -> the five submitted files ->
 * the consistency checks, run against the ORIGINAL repository on the host
 * (never against the agent's sandbox) -> the verdicts and the consistency
 * part of r_inject (-1 when invalid; a valid artifact's reward needs the
 * solve rate, which self-play measures later).
 *
 * Solve: the solver workspace (original + bug + weakening, fresh history) ->
 * the agent, told only the reversed test_weaken.diff -> the patch -> the
 * evaluation -> r_solve.
 *
 * Both throw only for setup problems (no engine or image, a repository or
 * artifact that cannot be used: EnvironmentError / UsageError / SandboxError
 * from the workspace); everything the model or the model server does ends in
 * the returned trajectory's status. The sandbox is always removed.
 */
import * as fs from 'node:fs/promises';
import type { Policy } from '../policy/types';
import { TRAJECTORY_FORMAT, type Role, type Strategy, type TaskInfo, type Trajectory, type TrajectoryStep } from '../base/trajectory';
import { DockerSandbox, DEFAULT_IMAGE, ensureEngineAndImage, type SandboxLimits } from '../sandbox/docker';
import { artifactId, type ArtifactFiles } from '../artifact/artifact';
import { validateArtifact, DEFAULT_THRESHOLDS, type Thresholds, type ValidateOptions, type ValidationReport } from '../judge/checks';
import { createSolverWorkspace, evaluatePatch, type Evaluation } from '../judge/evaluate';
import type { ReporterRecords, TestResults } from '../judge/testRun';
import { solverReward } from '../judge/rewards';
import { UsageError, isCancelled } from '../base/errors';
import { runAgent, newEpisodeId, type AgentBudgets, type ToolMode } from '../agents/loop';
import { injectorSubmit, makeArtifactDir, solverSubmit } from '../agents/submit';
import { reverseDiff } from '../agents/diffs';
import {
  INJECTOR_ARTIFACT_DIR,
  injectorSystemPrompt,
  injectorTaskPrompt,
  pickStrategy,
  solverSystemPrompt,
  solverTaskPrompt,
  type StrategyChoice,
} from '../agents/prompts';

export { writeTrajectory, readTrajectory, trajectoryProblem } from '../agents/trajectoryFile';

/** The trajectory of an episode cancelled before its agent started. */
function cancelledTrajectory(id: string, role: Role, policy: Policy, task: TaskInfo, strategy?: Strategy): Trajectory {
  const now = new Date().toISOString();
  return {
    format: TRAJECTORY_FORMAT,
    id,
    role,
    ...(strategy ? { strategy } : {}),
    policy: { ...policy.info },
    task,
    messages: [],
    steps: [],
    tokens: [],
    status: 'cancelled',
    error: 'cancelled before the agent started',
    timings: { startedAt: now, finishedAt: now, totalMs: 0 },
    info: { exit_status: 'cancelled' },
  };
}

/** Statuses that say the episode could not be judged (no fault of the model's): no reward. */
function unjudgeable(t: Trajectory): boolean {
  if (t.status === 'cancelled') return true;
  if (t.status !== 'error') return false;
  const kind = t.info?.error_kind;
  return kind === 'policy' || kind === 'sandbox' || kind === 'internal';
}

interface EpisodeCommon extends AgentBudgets, SandboxLimits {
  repoDir: string;
  image?: string;
  policy: Policy;
  signal?: AbortSignal;
  onStep?: (step: TrajectoryStep, trajectory: Trajectory) => void;
  toolMode?: ToolMode;
  temperature?: number;
  topP?: number;
  id?: string;
  labels?: Record<string, string>;
}

export interface InjectEpisodeOptions extends EpisodeCommon {
  /** removal | history | direct | mix (default: mix, 50/50 removal and history). */
  strategy?: StrategyChoice;
  /** Seed of the mix draw (default: time-based). */
  seed?: number;
  thresholds?: Partial<Thresholds>;
  /**
   * Run the consistency checks on the submitted artifact (default true).
   * A function replaces validateArtifact (tests); false skips validation.
   */
  validate?: boolean | ((opts: ValidateOptions) => Promise<ValidationReport>);
  /** Passed to validateArtifact. */
  validation?: Pick<ValidateOptions, 'concurrency' | 'repeat' | 'testTimeoutMs' | 'onEvent'>;
}

export interface InjectEpisodeResult {
  trajectory: Trajectory;
  /** The submitted files, when the agent submitted a complete set. */
  artifact?: ArtifactFiles;
  validation?: ValidationReport;
  /** Why validation could not run, when it could not. */
  validationError?: string;
  /** r_inject when already known: -1 for no or an invalid artifact; undefined for a valid one (needs the solve rate). */
  reward?: number;
}

async function assertRepo(repoDir: string): Promise<void> {
  const st = await fs.stat(repoDir).catch(() => undefined);
  if (!st?.isDirectory()) throw new UsageError(`the repository folder ${repoDir} does not exist`);
}

/** Makes sure the sandbox's repository is a git repository whose HEAD is the original state. */
async function prepareInjectorRepo(sb: DockerSandbox): Promise<{ commits: number; note?: string }> {
  const r = await sb.exec(
    [
      'set -e',
      'note=""',
      'if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1 || [ "$(git rev-parse --show-toplevel)" != "$PWD" ]; then',
      '  rm -rf .git; git init -q; git add -A; git commit -q --no-verify --allow-empty -m "Initial commit"; note="no git repository: one was made with a single commit"',
      'elif ! git rev-parse -q --verify HEAD >/dev/null; then',
      '  git add -A; git commit -q --no-verify --allow-empty -m "Initial commit"; note="the repository had no commit: one was made"',
      'elif [ -n "$(git status --porcelain --untracked-files=all)" ]; then',
      '  git add -A; git commit -q --no-verify -m "Working tree state"; note="uncommitted changes were committed as the original state"',
      'fi',
      'echo "$(git rev-list --count HEAD)"',
      'echo "$note"',
    ].join('\n'),
    { timeoutMs: 300_000 },
  );
  if (r.exitCode !== 0) throw new UsageError(`the repository's git state cannot be used: ${(r.stderr || r.stdout).trim().slice(-500)}`);
  const [count, note] = r.stdout.split('\n');
  return { commits: Number(count) || 0, note: note?.trim() || undefined };
}

/** One injector episode. */
export async function runInjectEpisode(opts: InjectEpisodeOptions): Promise<InjectEpisodeResult> {
  await assertRepo(opts.repoDir);
  const image = opts.image ?? DEFAULT_IMAGE;
  await ensureEngineAndImage(image);
  const thresholds: Thresholds = { ...DEFAULT_THRESHOLDS, ...(opts.thresholds ?? {}) };
  const id = opts.id ?? newEpisodeId('injector');
  let strategy: Strategy = pickStrategy(opts.strategy ?? 'mix', opts.seed);

  let sb: DockerSandbox;
  try {
    sb = await DockerSandbox.create({
      repoDir: opts.repoDir,
      image,
      includeGit: true,
      signal: opts.signal,
      memoryBytes: opts.memoryBytes,
      pidsLimit: opts.pidsLimit,
      cpus: opts.cpus,
      labels: { 'ssr.episode': id, ...(opts.labels ?? {}) },
    });
  } catch (err) {
    if (isCancelled(err) || opts.signal?.aborted) {
      return { trajectory: cancelledTrajectory(id, 'injector', opts.policy, { repo: opts.repoDir, image }, strategy) };
    }
    throw err;
  }
  let trajectory: Trajectory;
  let artifact: ArtifactFiles | undefined;
  const notes: string[] = [];
  try {
    const git = await prepareInjectorRepo(sb);
    if (git.note) notes.push(git.note);
    if (strategy === 'history' && git.commits < 2) {
      notes.push(`the history strategy needs history; the repository has ${git.commits} commit(s), so removal was used`);
      strategy = 'removal';
    }
    await makeArtifactDir(sb, INJECTOR_ARTIFACT_DIR);
    const native = opts.toolMode === 'native';
    const result = await runAgent<ArtifactFiles>({
      ...opts,
      id,
      sandbox: sb,
      role: 'injector',
      strategy,
      task: { repo: opts.repoDir, image },
      systemPrompt: injectorSystemPrompt({ repoPath: sb.repoPath, native, commandTimeoutMs: opts.commandTimeoutMs, maxOutputBytes: opts.maxOutputBytes }),
      taskPrompt: injectorTaskPrompt({ strategy, thresholds, repoPath: sb.repoPath, commits: git.commits }),
      onSubmit: injectorSubmit(INJECTOR_ARTIFACT_DIR),
    });
    trajectory = result.trajectory;
    artifact = result.submission;
    if (trajectory.status === 'submitted') {
      // What the agent left in the repository (artifact files removed): for people, not for the checks.
      const left = await result.ctx.workspace.cumulativeDiff().catch(() => undefined);
      if (left !== undefined) trajectory.info!.workspace_diff = left.length > 256 * 1024 ? left.slice(0, 256 * 1024) + '\n[... cut ...]\n' : left;
    }
  } finally {
    await sb.dispose().catch(() => undefined);
  }
  trajectory.info!.thresholds = thresholds;
  if (opts.strategy === 'mix' || opts.strategy === undefined) trajectory.info!.strategy_choice = 'mix';
  if (notes.length) trajectory.info!.notes = notes;

  let validation: ValidationReport | undefined;
  let validationError: string | undefined;
  if (artifact) {
    trajectory.task.artifactId = artifactId(artifact);
    trajectory.task.order = 1;
    artifact.meta = { order: 1, strategy, source: opts.policy.info.kind, episode: id };
    if (opts.validate !== false) {
      const validate = typeof opts.validate === 'function' ? opts.validate : validateArtifact;
      try {
        validation = await validate({
          repoDir: opts.repoDir,
          artifact,
          image,
          ...thresholds,
          ...(opts.validation ?? {}),
          signal: opts.signal,
          memoryBytes: opts.memoryBytes,
          pidsLimit: opts.pidsLimit,
          cpus: opts.cpus,
          labels: { 'ssr.episode': id, ...(opts.labels ?? {}) },
        });
      } catch (err) {
        if (isCancelled(err) || opts.signal?.aborted) {
          trajectory.status = 'cancelled';
          trajectory.error = 'cancelled during validation';
        } else {
          validationError = (err as Error).message;
          trajectory.info!.validation_error = validationError;
        }
      }
    }
  }

  let reward: number | undefined;
  if (validation) {
    trajectory.outcome = {
      valid: validation.valid,
      ...(validation.firstFailure ? { firstFailure: validation.firstFailure } : {}),
      checks: validation.checks,
      thresholds: validation.thresholds,
      bugFiles: validation.bugFiles,
      brokenTests: validation.brokenTests,
      hiddenTests: validation.hiddenTests,
      durationMs: validation.durationMs,
    };
    if (!validation.valid) reward = -1;
  } else if (!artifact && !unjudgeable(trajectory)) {
    // No artifact at all (turns, tokens or time ran out, or the model could not follow the format).
    reward = -1;
    trajectory.outcome = { valid: false, reason: `no artifact submitted (${trajectory.status})` };
  }
  if (reward !== undefined) trajectory.reward = reward;
  return { trajectory, artifact, validation, validationError, reward };
}

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

/** One solver episode. */
export async function runSolveEpisode(opts: SolveEpisodeOptions): Promise<SolveEpisodeResult> {
  await assertRepo(opts.repoDir);
  const image = opts.image ?? DEFAULT_IMAGE;
  await ensureEngineAndImage(image);
  const id = opts.id ?? newEpisodeId('solver');
  const aid = opts.artifactId ?? artifactId(opts.artifact);
  const labels = { 'ssr.episode': id, ...(opts.labels ?? {}) };
  const task = {
    repo: opts.repoDir,
    artifactId: aid,
    order: typeof opts.artifact.meta?.order === 'number' ? opts.artifact.meta.order : 1,
    attempt: opts.attempt ?? 0,
    image,
  };
  let sb: DockerSandbox;
  try {
    sb = await createSolverWorkspace({
      repoDir: opts.repoDir,
      artifact: opts.artifact,
      image,
      signal: opts.signal,
      memoryBytes: opts.memoryBytes,
      pidsLimit: opts.pidsLimit,
      cpus: opts.cpus,
      labels,
    });
  } catch (err) {
    if (isCancelled(err) || opts.signal?.aborted) return { trajectory: cancelledTrajectory(id, 'solver', opts.policy, task) };
    throw err;
  }
  let trajectory: Trajectory;
  let patch: string | undefined;
  try {
    const native = opts.toolMode === 'native';
    const result = await runAgent<string>({
      ...opts,
      id,
      sandbox: sb,
      role: 'solver',
      task,
      systemPrompt: solverSystemPrompt({ repoPath: sb.repoPath, native, commandTimeoutMs: opts.commandTimeoutMs, maxOutputBytes: opts.maxOutputBytes }),
      taskPrompt: solverTaskPrompt({ testPatch: reverseDiff(opts.artifact.testWeakenDiff), repoPath: sb.repoPath }),
      onSubmit: solverSubmit(),
    });
    trajectory = result.trajectory;
    patch = result.submission;
  } finally {
    await sb.dispose().catch(() => undefined);
  }

  let evaluation: Evaluation | undefined;
  let reward: number | undefined;
  if (patch !== undefined) {
    if (opts.evaluate !== false) {
      const evaluate = typeof opts.evaluate === 'function' ? opts.evaluate : evaluatePatch;
      try {
        evaluation = await evaluate({
          repoDir: opts.repoDir,
          artifact: opts.artifact,
          patch,
          image,
          original: opts.original,
          originalReporter: opts.originalReporter,
          signal: opts.signal,
          testTimeoutMs: opts.testTimeoutMs,
          memoryBytes: opts.memoryBytes,
          pidsLimit: opts.pidsLimit,
          cpus: opts.cpus,
          labels,
        });
        reward = evaluation.reward;
      } catch (err) {
        if (isCancelled(err) || opts.signal?.aborted) {
          trajectory.status = 'cancelled';
          trajectory.error = 'cancelled during evaluation';
        } else {
          trajectory.info!.evaluation_error = (err as Error).message;
        }
      }
    }
  } else if (!unjudgeable(trajectory)) {
    reward = solverReward(false);
    evaluation = {
      solved: false,
      reward: solverReward(false),
      detail: `not solved: no patch was submitted (${trajectory.status}${trajectory.error ? `: ${trajectory.error}` : ''})`,
      applied: false,
      failedTests: [],
      missingTests: [],
      durationMs: 0,
    };
  }
  if (evaluation) trajectory.outcome = { ...evaluation, results: undefined } as unknown as Record<string, unknown>;
  if (reward !== undefined) trajectory.reward = reward;
  return { trajectory, patch, evaluation, reward };
}
