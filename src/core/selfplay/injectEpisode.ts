/**
 * The injector episode: a sandbox with the original repository and its real
 * git history (the history strategy reads it) -> the agent -> the five
 * submitted files -> the consistency checks, run against the ORIGINAL
 * repository on the host (never against the agent's sandbox) -> the verdicts
 * and the consistency part of r_inject (-1 when invalid; a valid artifact's
 * reward needs the solve rate, which self-play measures later).
 */
import type { Strategy, Trajectory } from '../base/trajectory';
import { DockerSandbox, DEFAULT_IMAGE, ensureEngineAndImage } from '../sandbox/docker';
import { artifactId, type ArtifactFiles } from '../artifact/artifact';
import { validateArtifact, DEFAULT_THRESHOLDS, type Thresholds, type ValidateOptions, type ValidationReport } from '../judge/checks';
import { UsageError, isCancelled } from '../base/errors';
import { runAgent, newEpisodeId } from '../agents/loop';
import { injectorSubmit, makeArtifactDir } from '../agents/submit';
import { INJECTOR_ARTIFACT_DIR, injectorSystemPrompt, injectorTaskPrompt, pickStrategy, type StrategyChoice } from '../agents/prompts';
import { assertRepo, cancelledTrajectory, unjudgeable, type EpisodeCommon } from './episodeCommon';

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

/** One episode's fixed facts. */
interface Run {
  id: string;
  image: string;
  thresholds: Thresholds;
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
  const run: Run = { id: opts.id ?? newEpisodeId('injector'), image, thresholds: { ...DEFAULT_THRESHOLDS, ...(opts.thresholds ?? {}) } };
  const picked: Strategy = pickStrategy(opts.strategy ?? 'mix', opts.seed);
  const sb = await injectorSandbox(opts, run);
  if (!sb) return { trajectory: cancelledTrajectory(run.id, 'injector', opts.policy, { repo: opts.repoDir, image }, picked) };
  const { trajectory, artifact, strategy, notes } = await injectorAgent(opts, sb, run, picked);
  trajectory.info!.thresholds = run.thresholds;
  if (opts.strategy === 'mix' || opts.strategy === undefined) trajectory.info!.strategy_choice = 'mix';
  if (notes.length) trajectory.info!.notes = notes;

  let checked: { validation?: ValidationReport; validationError?: string } = {};
  if (artifact) {
    trajectory.task.artifactId = artifactId(artifact);
    trajectory.task.order = 1;
    artifact.meta = { order: 1, strategy, source: opts.policy.info.kind, episode: run.id };
    if (opts.validate !== false) checked = await validateSubmission(opts, run, trajectory, artifact);
  }
  const { validation, validationError } = checked;
  const reward = injectorVerdict(trajectory, artifact, validation);
  if (reward !== undefined) trajectory.reward = reward;
  return { trajectory, artifact, validation, validationError, reward };
}

/** The injector's sandbox, with the repository's history; undefined when cancelled while it was made. */
async function injectorSandbox(opts: InjectEpisodeOptions, run: Run): Promise<DockerSandbox | undefined> {
  try {
    return await DockerSandbox.create({
      repoDir: opts.repoDir,
      image: run.image,
      includeGit: true,
      signal: opts.signal,
      memoryBytes: opts.memoryBytes,
      pidsLimit: opts.pidsLimit,
      cpus: opts.cpus,
      labels: { 'ssr.episode': run.id, ...(opts.labels ?? {}) },
    });
  } catch (err) {
    if (isCancelled(err) || opts.signal?.aborted) return undefined;
    throw err;
  }
}

/** The agent's run in the sandbox (always removed after); the strategy it ran with and the notes on the repository. */
async function injectorAgent(opts: InjectEpisodeOptions, sb: DockerSandbox, run: Run, picked: Strategy) {
  let strategy = picked;
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
      id: run.id,
      sandbox: sb,
      role: 'injector',
      strategy,
      task: { repo: opts.repoDir, image: run.image },
      systemPrompt: injectorSystemPrompt({ repoPath: sb.repoPath, native, commandTimeoutMs: opts.commandTimeoutMs, maxOutputBytes: opts.maxOutputBytes }),
      taskPrompt: injectorTaskPrompt({ strategy, thresholds: run.thresholds, repoPath: sb.repoPath, commits: git.commits }),
      onSubmit: injectorSubmit(INJECTOR_ARTIFACT_DIR),
    });
    const trajectory = result.trajectory;
    if (trajectory.status === 'submitted') {
      // What the agent left in the repository (artifact files removed): for people, not for the checks.
      const left = await result.ctx.workspace.cumulativeDiff().catch(() => undefined);
      if (left !== undefined) trajectory.info!.workspace_diff = left.length > 256 * 1024 ? left.slice(0, 256 * 1024) + '\n[... cut ...]\n' : left;
    }
    return { trajectory, artifact: result.submission, strategy, notes };
  } finally {
    await sb.dispose().catch(() => undefined);
  }
}

/** The consistency checks on the submitted artifact, against the original repository; a cancel marks the trajectory. */
async function validateSubmission(opts: InjectEpisodeOptions, run: Run, trajectory: Trajectory, artifact: ArtifactFiles) {
  const validate = typeof opts.validate === 'function' ? opts.validate : validateArtifact;
  try {
    const validation = await validate({
      repoDir: opts.repoDir,
      artifact,
      image: run.image,
      ...run.thresholds,
      ...(opts.validation ?? {}),
      signal: opts.signal,
      memoryBytes: opts.memoryBytes,
      pidsLimit: opts.pidsLimit,
      cpus: opts.cpus,
      labels: { 'ssr.episode': run.id, ...(opts.labels ?? {}) },
    });
    return { validation };
  } catch (err) {
    if (isCancelled(err) || opts.signal?.aborted) {
      trajectory.status = 'cancelled';
      trajectory.error = 'cancelled during validation';
      return {};
    }
    const validationError = (err as Error).message;
    trajectory.info!.validation_error = validationError;
    return { validationError };
  }
}

/** The trajectory's outcome from the verdicts, and r_inject when already known. */
function injectorVerdict(trajectory: Trajectory, artifact: ArtifactFiles | undefined, validation: ValidationReport | undefined): number | undefined {
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
    return validation.valid ? undefined : -1;
  }
  if (!artifact && !unjudgeable(trajectory)) {
    // No artifact at all (turns, tokens or time ran out, or the model could not follow the format).
    trajectory.outcome = { valid: false, reason: `no artifact submitted (${trajectory.status})` };
    return -1;
  }
  return undefined;
}
