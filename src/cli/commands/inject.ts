/**
 * `ssr inject`: one bug-injection episode on a repository, then the
 * consistency checks. Exit 0 valid artifact, 1 invalid (or none), 2 could
 * not run (no engine or image, bad flags, the model server failed).
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { createPolicy, describePolicy, type Policy, type PolicySpec } from '../../core/policy';
import { runInjectEpisode, writeTrajectory } from '../../core/selfplay/episodes';
import { newEpisodeId, MAX_MAX_TURNS, DEFAULT_MAX_TURNS, type ToolMode } from '../../core/agents/loop';
import { nativeToolSchemas } from '../../core/agents/protocol';
import { writeArtifact } from '../../core/artifact/artifact';
import { excludeFromGit } from '../../core/runs/store';
import { DEFAULT_THRESHOLDS, type Thresholds } from '../../core/judge/checks';
import { STRATEGIES, type StrategyChoice } from '../../core/agents/prompts';
import type { Role, Trajectory, TrajectoryStep } from '../../core/base/trajectory';
import { EXIT_CANNOT_RUN, EXIT_NEGATIVE, EXIT_OK, action, color, fail, intOption, numberOption, printJson, requireDir, requireFile } from '../util';
import { addSandboxFlags, printReport } from './validate';
import { repoImage } from '../image';
import { StageLines } from '../stages';
import { addOptions, type OptionRow } from '../options';

export type Opts = Record<string, string | boolean | undefined>;

/** The flags that choose and configure the policy, shared by inject and solve. */
export function addPolicyFlags(cmd: Command, policy = { kinds: 'openai | onnx | replay', default: 'openai' }): Command {
  return cmd
    .option('--policy <kind>', policy.kinds, policy.default)
    .option('--model <name>', 'model name (openai: the served name; onnx: a hub id or a local folder)')
    .option('--base-url <url>', 'OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (vLLM) or http://127.0.0.1:11434/v1 (Ollama); key from SSR_API_KEY')
    .option('--device <d>', 'onnx: cpu | cuda')
    .option('--trajectory <file>', 'replay: the recorded trajectory (or JSON list of assistant turns) to play back')
    .option('--temperature <t>', 'sampling temperature (default 1.0)')
    .option('--top-p <p>', 'nucleus sampling (default 0.95)')
    .option('--tool-mode <mode>', 'text (the <tool: NAME> protocol, any model) | native (OpenAI function calling)', 'text')
    .option('--max-turns <n>', `assistant turns (default ${DEFAULT_MAX_TURNS}, at most ${MAX_MAX_TURNS})`)
    .option('--max-context <tokens>', 'context budget in tokens (default 128000)')
    .option('--max-minutes <m>', 'wall-time budget of one episode (default 60)')
    .option('--command-timeout <seconds>', 'timeout of one bash command (default 120)');
}

export interface PolicyChoice {
  spec: PolicySpec;
  toolMode: ToolMode;
  temperature?: number;
  topP?: number;
}

export function policyChoice(o: Opts, role: Role): PolicyChoice {
  const kind = String(o.policy ?? 'openai');
  const toolMode = String(o.toolMode ?? 'text');
  if (toolMode !== 'text' && toolMode !== 'native') fail(`--tool-mode must be text or native (got ${toolMode})`);
  const temperature = numberOption(o.temperature as string | undefined, '--temperature', 0, 10);
  const topP = numberOption(o.topP as string | undefined, '--top-p', 0, 1);
  let spec: PolicySpec;
  switch (kind) {
    case 'openai':
      spec = {
        kind: 'openai',
        baseUrl: (o.baseUrl as string | undefined) ?? process.env.SSR_BASE_URL,
        model: (o.model as string | undefined) ?? process.env.SSR_MODEL,
        temperature,
        topP,
        ...(toolMode === 'native' ? { tools: nativeToolSchemas(role), toolChoice: 'auto' as const } : {}),
      };
      break;
    case 'onnx':
      if (toolMode === 'native') fail('--tool-mode native needs --policy openai');
      spec = {
        kind: 'onnx',
        model: o.model as string | undefined,
        temperature,
        topP,
        ...(o.device ? { device: String(o.device) === 'cuda' ? 'cuda' : 'cpu' } : {}),
      };
      break;
    case 'replay':
      spec = { kind: 'replay', trajectory: requireFile(o.trajectory as string | undefined, '--trajectory') };
      break;
    default:
      fail(`--policy must be openai, onnx or replay (got ${kind})`);
  }
  return { spec, toolMode, temperature, topP };
}

export function budgetOptions(o: Opts) {
  const maxTurns = intOption(o.maxTurns as string | undefined, '--max-turns', 1);
  if (maxTurns !== undefined && maxTurns > MAX_MAX_TURNS) fail(`--max-turns is at most ${MAX_MAX_TURNS}`);
  const maxContext = intOption(o.maxContext as string | undefined, '--max-context', 1024);
  const maxMinutes = numberOption(o.maxMinutes as string | undefined, '--max-minutes', 0.1);
  const cmdTimeout = numberOption(o.commandTimeout as string | undefined, '--command-timeout', 1);
  return {
    maxTurns,
    maxContextTokens: maxContext,
    maxWallMs: maxMinutes !== undefined ? Math.round(maxMinutes * 60_000) : undefined,
    commandTimeoutMs: cmdTimeout !== undefined ? Math.round(cmdTimeout * 1000) : undefined,
  };
}

/**
 * Where an episode's files go: --out, else `<repo>/.ssr/episodes/<id>/`
 * (and `.ssr/` is added to the repository's .git/info/exclude). A repository
 * that cannot be written to gets a temporary folder instead.
 */
export async function episodeDir(repoDir: string, out: string | undefined, id: string): Promise<string> {
  if (out) {
    const abs = path.resolve(out);
    await fs.mkdir(abs, { recursive: true });
    return abs;
  }
  const dir = path.join(repoDir, '.ssr', 'episodes', id);
  try {
    await fs.mkdir(dir, { recursive: true });
    await excludeFromGit(repoDir);
    return dir;
  } catch {
    const tmp = path.join(os.tmpdir(), 'ssr-episodes', id);
    await fs.mkdir(tmp, { recursive: true });
    return tmp;
  }
}

/** A one-line summary of a step, for progress output. */
export function stepLine(s: TrajectoryStep): string {
  const what = s.tool === 'bash' ? String((s.parsed?.command as string) ?? s.arguments) : String((s.parsed?.path as string) ?? s.arguments);
  const first = what.split('\n')[0].slice(0, 70);
  const status = s.error ? `error: ${s.error.split('\n')[0].slice(0, 50)}` : s.exitCode !== null ? `exit ${s.exitCode}` : '';
  return `[${s.index + 1}] ${s.tool || '(no tool)'} ${first}  ${status}`;
}

export function describeEnd(t: Trajectory): string {
  return t.status === 'submitted' ? 'submitted' : `${t.status}${t.error ? `: ${t.error}` : ''}`;
}

/** Policy failures mean the episode could not run; other statuses are the model's outcome. */
export function couldNotRun(t: Trajectory): boolean {
  const kind = t.info?.error_kind;
  return t.status === 'error' && (kind === 'policy' || kind === 'sandbox' || kind === 'internal');
}

/** 0 valid, 1 invalid or no artifact, 2 could not run or could not validate, 130 cancelled. */
export function injectExitCode(
  r: { trajectory: Trajectory; artifact?: unknown; validation?: { valid: boolean } },
  validated: boolean,
): number {
  if (r.trajectory.status === 'cancelled') return 130;
  if (r.validation) return r.validation.valid ? EXIT_OK : EXIT_NEGATIVE;
  if (r.artifact) return validated ? EXIT_CANNOT_RUN : EXIT_OK;
  return couldNotRun(r.trajectory) ? EXIT_CANNOT_RUN : EXIT_NEGATIVE;
}

export async function makePolicy(choice: PolicyChoice): Promise<Policy> {
  return createPolicy(choice.spec);
}

/** `ssr inject`'s own options, after the sandbox and policy flags, in the order `--help` lists them. */
const INJECT_OPTIONS: readonly OptionRow[] = [
  ['--strategy <s>', 'removal | history | direct | mix (50/50 removal and history)', 'mix'],
  ['--seed <n>', 'seed of the mix draw'],
  ['--min-passing-tests <n>', 'original_passes threshold', String(DEFAULT_THRESHOLDS.minPassingTests)],
  ['--min-changed-files <n>', 'bug_scope threshold', String(DEFAULT_THRESHOLDS.minChangedFiles)],
  ['--min-failing-tests <n>', 'bug_breaks_tests threshold', String(DEFAULT_THRESHOLDS.minFailingTests)],
  ['--no-validate', 'skip the consistency checks'],
  ['--out <dir>', 'where to write trajectory.json and artifact/ (default <repo>/.ssr/episodes/<id>/)'],
  ['--verbose', 'print each step on stderr'],
  ['--json', 'print the result as JSON'],
];

type InjectResult = Awaited<ReturnType<typeof runInjectEpisode>>;
interface EpisodeFiles {
  dir: string;
  trajectoryPath: string;
  artifactDir?: string;
}

/** The thresholds given on the command line (absent ones keep validation's defaults). */
function thresholdFlags(o: Opts): Partial<Thresholds> {
  const given = {
    minPassingTests: intOption(o.minPassingTests as string, '--min-passing-tests', 0),
    minChangedFiles: intOption(o.minChangedFiles as string, '--min-changed-files', 1),
    minFailingTests: intOption(o.minFailingTests as string, '--min-failing-tests', 1),
  };
  return Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
}

/** Writes the episode: trajectory.json, artifact/ and validation.json. */
async function saveEpisode(repoDir: string, o: Opts, r: InjectResult): Promise<EpisodeFiles> {
  const dir = await episodeDir(repoDir, o.out as string | undefined, r.trajectory.id);
  const trajectoryPath = path.join(dir, 'trajectory.json');
  await writeTrajectory(trajectoryPath, r.trajectory);
  const artifactDir = r.artifact ? path.join(dir, 'artifact') : undefined;
  if (artifactDir) await writeArtifact(artifactDir, r.artifact!);
  if (r.validation) await fs.writeFile(path.join(dir, 'validation.json'), JSON.stringify(r.validation, null, 2) + '\n');
  return { dir, trajectoryPath, artifactDir };
}

function printInjectJson(r: InjectResult, f: EpisodeFiles): void {
  const t = r.trajectory;
  printJson({
    id: t.id,
    status: t.status,
    ...(t.error ? { error: t.error } : {}),
    strategy: t.strategy,
    policy: t.policy,
    turns: t.steps.length,
    out: f.dir,
    trajectory: f.trajectoryPath,
    ...(f.artifactDir ? { artifact: f.artifactDir } : {}),
    valid: r.validation ? r.validation.valid : null,
    ...(r.validation?.firstFailure ? { firstFailure: r.validation.firstFailure } : {}),
    checks: r.validation?.checks ?? [],
    ...(r.validationError ? { validationError: r.validationError } : {}),
    reward: r.reward ?? null,
  });
}

function printInjectText(r: InjectResult, f: EpisodeFiles): void {
  const t = r.trajectory;
  process.stdout.write(`episode ${t.id}: ${t.strategy} strategy, ${t.steps.length} turn(s), ${describeEnd(t)} (${((t.timings.totalMs ?? 0) / 1000).toFixed(1)} s)\n`);
  if (r.validation) {
    process.stdout.write('\n');
    printReport(r.validation);
  } else if (r.validationError) {
    process.stdout.write(`${color.red('validation could not run')}: ${r.validationError}\n`);
  } else if (!r.artifact) {
    process.stdout.write(`${color.red('no artifact')}: the agent did not submit one\n`);
  }
  const reward =
    r.reward !== undefined
      ? `r_inject = ${r.reward}`
      : r.validation?.valid === true
        ? 'r_inject: consistency passed; the rest depends on the solve rate (run ssr solve --attempts N)'
        : 'r_inject: not judged';
  process.stdout.write(`${reward}\n`);
  process.stdout.write(`trajectory: ${f.trajectoryPath}${f.artifactDir ? `\nartifact:   ${f.artifactDir}` : ''}\n`);
}

/** One injection episode with its stage lines; the policy is disposed at the end. */
async function runEpisode(o: Opts, repoDir: string, strategy: StrategyChoice, choice: PolicyChoice, progress: StageLines, signal: AbortSignal): Promise<InjectResult> {
  const policy = await makePolicy(choice);
  try {
    progress.start('inject', 0, `starting a sandbox (${describePolicy(policy)})`);
    return await runInjectEpisode({
      repoDir,
      image: o.image as string | undefined,
      policy,
      strategy,
      seed: intOption(o.seed as string | undefined, '--seed', 0),
      thresholds: thresholdFlags(o),
      validate: o.validate !== false,
      validation: {
        onEvent: (e) => {
          // The agent's stage ends where validation's begins: a line of its own.
          if (e.type === 'runs-planned') progress.start('validate', 0, 'starting');
          progress.onValidation(e);
        },
      },
      toolMode: choice.toolMode,
      temperature: choice.temperature,
      topP: choice.topP,
      ...budgetOptions(o),
      id: newEpisodeId('injector'),
      signal,
      onStep: (s) => {
        if (o.verbose) process.stderr.write(stepLine(s) + '\n');
        progress.update(stepLine(s));
      },
    });
  } finally {
    progress.end();
    await policy.dispose?.().catch(() => undefined);
  }
}

/** `ssr inject`: one episode, its files, its verdict and its exit code. */
async function inject(o: Opts): Promise<number> {
  if (o.repoInImage) fail('ssr inject needs --repo (the injector works on a copy of a host folder)');
  const repoDir = requireDir(o.repo as string, '--repo');
  o.image = await repoImage(o, repoDir);
  const strategy = String(o.strategy ?? 'mix') as StrategyChoice;
  if (!STRATEGIES.includes(strategy)) fail(`--strategy must be one of ${STRATEGIES.join(', ')} (got ${strategy})`);
  const choice = policyChoice(o, 'injector');
  const progress = new StageLines(process.stderr.isTTY === true && !o.json, o.json ? () => undefined : undefined);
  const ac = new AbortController();
  const onInt = () => ac.abort();
  process.once('SIGINT', onInt);
  try {
    const r = await runEpisode(o, repoDir, strategy, choice, progress, ac.signal);
    const files = await saveEpisode(repoDir, o, r);
    if (o.json) printInjectJson(r, files);
    else printInjectText(r, files);
    return injectExitCode(r, o.validate !== false);
  } finally {
    process.removeListener('SIGINT', onInt);
  }
}

export function register(program: Command): void {
  const cmd = program
    .command('inject')
    .description('run one bug-injection episode and check the artifact (exit 0 valid, 1 invalid, 2 could not run)')
    .requiredOption('--repo <dir>', 'the repository (copied into a sandbox with its git history, never modified)');
  addOptions(addPolicyFlags(addSandboxFlags(cmd)), INJECT_OPTIONS).action(action(inject));
}
