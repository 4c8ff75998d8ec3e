/**
 * `ssr selfplay`, `ssr runs`, `ssr export`: the main job, its run list and
 * its dataset export.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_CONFIG, type SelfPlayConfig, SelfPlaySession, type SessionEvent, type SessionFile, resumeCommand } from '../../core/selfplay/session';
import { makePlayers } from '../../core/selfplay/players';
import { policyDescription } from '../../core/selfplay/actions';
import { asInfrastructureError, isCancelled } from '../../core/base/errors';
import { RunStore, listRuns } from '../../core/runs/store';
import { exportSwebench, swebenchJsonl } from '../../core/report/export';
import { DEFAULT_THRESHOLDS } from '../../core/judge/checks';
import type { PolicySpec } from '../../core/policy';
import { EXIT_CANNOT_RUN, EXIT_NEGATIVE, EXIT_OK, action, color, fail, intOption, numberOption, printJson, requireDir, requireFile } from '../util';
import { addPolicyFlags, policyChoice, type Opts } from './inject';
import { StageLines } from '../stages';
import { addOptions, type OptionRow } from '../options';
import { repoImage } from '../image';
import { loadAdapter, readTrainingState, specForState, versionOf } from '../../core/training/loop';

function policySpecs(o: Opts): { policy?: PolicySpec; injectorReplay?: PolicySpec; proposer: 'bootstrap' | 'policy' } {
  const kind = String(o.policy ?? 'bootstrap');
  if (kind === 'bootstrap') {
    if (o.proposer === 'policy') fail('--proposer policy needs a model: --policy openai|onnx|replay');
    return { proposer: 'bootstrap' };
  }
  const { spec } = policyChoice({ ...o, policy: kind }, 'solver');
  const injectorReplay = o.injectorTrajectory
    ? ({ kind: 'replay', trajectory: requireFile(o.injectorTrajectory as string, '--injector-trajectory') } as PolicySpec)
    : undefined;
  let proposer = (o.proposer as 'bootstrap' | 'policy' | undefined) ?? (kind === 'replay' && !injectorReplay ? 'bootstrap' : 'policy');
  if (proposer !== 'bootstrap' && proposer !== 'policy') fail(`--proposer must be bootstrap or policy (got ${proposer})`);
  if (kind === 'replay' && proposer === 'policy' && !injectorReplay) fail('--proposer policy with --policy replay needs --injector-trajectory FILE');
  return { policy: spec, injectorReplay, proposer };
}

function describeEvent(e: SessionEvent): string | undefined {
  switch (e.type) {
    case 'round-started':
      return `round ${e.round + 1}: proposing`;
    case 'proposal':
      return `  proposed ${e.bugId} (${e.source}${e.strategy ? `, ${e.strategy}` : ''})`;
    case 'proposal-failed':
      return `  no proposal: ${e.reason}`;
    case 'validated':
      return `  ${e.bugId}: ${e.valid ? color.green('valid') : color.red(`invalid at ${e.firstFailure}`)}`;
    case 'attempt-finished':
      return `  ${e.bugId} attempt ${e.attempt}: ${e.solved ? color.green('solved') : e.tampered ? color.red('TAMPERED') : color.red('not solved')} (reward ${e.reward ?? 'n/a'}) ${color.dim(e.detail.slice(0, 80))}`;
    case 'reward':
      return `  ${e.bugId}: r_inject ${e.rInject.toFixed(2)}${e.solveRate !== undefined ? ` (solve rate ${e.solveRate.toFixed(2)})` : ''}`;
    case 'higher-order':
      return e.bugId ? `  higher-order bug ${e.bugId} from attempt ${e.attempt}` : `  no higher-order bug from attempt ${e.attempt}: ${e.skipped}`;
    case 'note':
      return `note: ${e.message}`;
    case 'error':
      return color.red(`error: ${e.message}`);
    case 'interrupted':
      return color.red(`interrupted: ${e.message}`);
    case 'training':
      return `training: ${e.detail}`;
    default:
      return undefined;
  }
}

/**
 * An infrastructure failure that escapes the session (the engine gone while
 * the run directory is written, a full disk): its message and exit 2, never a stack trace.
 */
function infrastructureGuard<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<number | void> {
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (err) {
      const infra = isCancelled(err) ? undefined : asInfrastructureError(err);
      if (!infra) throw err;
      process.stderr.write(`ssr: ${infra.message}\n`);
      return EXIT_CANNOT_RUN;
    }
  };
}

/** What a person reads when a session paused on an infrastructure failure (the note says what happened and how to resume). */
export function interruptedMessage(s: SessionFile, runDir: string): string {
  return s.note ?? `paused: the infrastructure failed. Resume with: ${resumeCommand(runDir, s.config)}`;
}

export function summary(s: SessionFile, runDir: string): string {
  const m = s.metrics!;
  const hist = Object.entries(m.solveRateHistogram).map(([k, v]) => `${k}: ${v}`).join('  ');
  const lines = [
    color.bold(`Self-play session ${s.id}: ${s.status}${s.note ? ` (${s.note})` : ''}`),
    `  proposals        ${m.proposals} (${m.proposalsFailed} without an artifact)`,
    `  valid bugs       ${m.validBugs} (valid share of proposals ${(m.validShare * 100).toFixed(0)}%), ${m.higherOrderBugs} higher-order` +
      (m.validOnScriptOnly ? `; ${m.validOnScriptOnly} whose broken tests rest on the artifact's own script (no judge's reporter for its runner)` : ''),
    `  failed checks    ${Object.entries(m.failuresPerCheck).filter(([, v]) => v).map(([k, v]) => `${k}: ${v}`).join(', ') || 'none'}`,
    `  solver attempts  ${m.attempts} (${m.solved} solved${m.tampered ? `, ${m.tampered} tampered` : ''})`,
    `  solve rates      ${hist}`,
    `  mean rewards     r_inject ${m.meanRInject?.toFixed(3) ?? 'n/a'}, r_solve ${m.meanRSolve?.toFixed(3) ?? 'n/a'}`,
    `  throughput       ${m.artifactsPerHour.toFixed(1)} valid artifacts/hour over ${(m.activeMs / 1000).toFixed(0)} s; peak memory ${m.peakRssMb} MB`,
    '',
    `Where to look: ${runDir}`,
    `  bugs/<id>/artifact/        the five files of each bug; validation.json holds the seven verdicts`,
    `  bugs/<id>/attempts/<n>/    solver trajectories (ssr show .../trajectory.json), patches, evaluations`,
    `  trajectories.jsonl         what \`ssr train --run ${runDir}\` learns from`,
    `  events.jsonl               everything that happened, in order`,
  ];
  if (!s.config.policy) {
    lines.push(
      '',
      'Solving was skipped: no model is configured. Point SSR at one in a new session:',
      '  ssr selfplay --repo DIR --policy openai --base-url http://127.0.0.1:8000/v1 --model NAME   (vLLM, SGLang, llama.cpp server)',
      '  ssr selfplay --repo DIR --policy openai --base-url http://127.0.0.1:11434/v1 --model qwen2.5-coder   (Ollama)',
      '  ssr selfplay --repo DIR --policy onnx --model FOLDER   (a local ONNX model, no server)',
    );
  }
  return lines.join('\n');
}

/** `ssr selfplay`'s options, in the order `--help` lists them (the policy flags follow). */
const SELFPLAY_OPTIONS: readonly OptionRow[] = [
  ['--repo <dir>', 'the repository (copied into sandboxes; only .ssr/ is written in it)'],
  ['--image <image>', `sandbox image (default: the repository's built environment, else ${DEFAULT_CONFIG.image})`],
  ['--proposer <kind>', 'bootstrap (no model) | policy (the model as injector)'],
  ['--injector-trajectory <file>', 'replay: a recorded injector trajectory'],
  ['--strategy <s>', 'injector strategy: removal | history | direct | mix', 'mix'],
  ['--rounds <n>', 'rounds (one first-order bug each)', String(DEFAULT_CONFIG.rounds)],
  ['--attempts <n>', 'solver attempts per bug (the paper uses 8)', String(DEFAULT_CONFIG.attempts)],
  ['--concurrency <k>', 'sandboxes at once', String(DEFAULT_CONFIG.concurrency)],
  ['--alpha <a>', 'injector reward alpha', String(DEFAULT_CONFIG.alpha)],
  ['--seed <n>', 'seed of the proposals', '0'],
  ['--max-wall <minutes>', 'stop starting rounds after this many minutes'],
  ['--no-higher-order', 'do not turn failed attempts into higher-order bugs'],
  ['--min-passing-tests <n>', 'original_passes threshold', String(DEFAULT_THRESHOLDS.minPassingTests)],
  ['--min-changed-files <n>', 'bug_scope threshold', String(DEFAULT_THRESHOLDS.minChangedFiles)],
  ['--min-failing-tests <n>', 'bug_breaks_tests threshold', String(DEFAULT_THRESHOLDS.minFailingTests)],
  ['--test-timeout <seconds>', 'timeout of one run of test_script.sh', '120'],
  ['--train-every <n>', 'train the policy every N rounds on the trajectories since the last update and put it back into play (--policy onnx: reloaded in-process; --policy openai with --train-model: a LoRA adapter loaded into the server)', '0'],
  ['--train-device <d>', 'cuda | cpu | auto, for --train-every', 'auto'],
  ['--train-steps <n>', 'optimizer steps per training round'],
  ['--train-model <dir>', '--policy openai: the served base model\'s weights (Hugging Face layout); each update trains a LoRA adapter on it and loads it into the server (vLLM runtime LoRA loading)'],
  ['--out <dir>', 'the run directory (default <repo>/.ssr/runs/<id>)'],
  ['--resume <run>', 'continue a run (a run directory, or a run id of --repo)'],
  ['--json', 'print the final session (configuration, counters, metrics) as JSON'],
];

type Specs = ReturnType<typeof policySpecs>;
type Training = Parameters<typeof makePlayers>[0]['training'];

/** --train-every and friends; on --resume too, where the run's training state decides. */
function trainingOf(o: Opts): Training {
  const trainEvery = intOption(o.trainEvery as string, '--train-every', 0)!;
  if (trainEvery <= 0 && !o.resume) return undefined;
  return {
    device: o.trainDevice as string,
    steps: intOption(o.trainSteps as string | undefined, '--train-steps', 1),
    trainModel: o.trainModel ? requireDir(o.trainModel as string, '--train-model') : undefined,
  };
}

/** The session's players; a resumed session continues with the latest trained policy (RUN/train/state.json). */
async function playersFor(o: Opts, specs: Specs, resumeDir: string | undefined, signal: AbortSignal): Promise<ReturnType<typeof makePlayers>> {
  const training = trainingOf(o);
  const state = resumeDir && specs.policy ? await readTrainingState(resumeDir) : undefined;
  let policy = specs.policy;
  if (specs.policy && state && state.step > 0) {
    policy = specForState(specs.policy, state);
    if (specs.policy.kind === 'openai' && state.served && state.adapter) await loadAdapter(specs.policy, state.served, state.adapter, signal);
    if (!o.json) process.stderr.write(`continuing with the trained policy v${state.step}: ${(policy as { model?: string }).model}\n`);
  }
  const version = specs.policy && (training || state) ? versionOf(specs.policy, state) : undefined;
  return makePlayers({ ...specs, policy, baseSpec: specs.policy, version, training });
}

/** A new session's configuration from the flags. */
async function sessionConfig(o: Opts, specs: Specs): Promise<SelfPlayConfig> {
  const repoDir = requireDir(o.repo as string | undefined, '--repo');
  const maxWall = numberOption(o.maxWall as string | undefined, '--max-wall', 0.1);
  return {
    ...DEFAULT_CONFIG,
    repoDir,
    image: await repoImage(o, repoDir),
    proposer: specs.proposer,
    // What the policy is, never a secret (the replay file's path is kept, so the resume command can name it).
    policy: policyDescription(specs.policy),
    strategy: String(o.strategy),
    rounds: intOption(o.rounds as string, '--rounds', 0)!,
    attempts: intOption(o.attempts as string, '--attempts', 1)!,
    concurrency: intOption(o.concurrency as string, '--concurrency', 1)!,
    alpha: numberOption(o.alpha as string, '--alpha', 0, 1)!,
    seed: intOption(o.seed as string, '--seed', 0)!,
    maxWallMs: maxWall ? maxWall * 60_000 : undefined,
    higherOrder: o.higherOrder !== false,
    thresholds: {
      minPassingTests: intOption(o.minPassingTests as string, '--min-passing-tests')!,
      minChangedFiles: intOption(o.minChangedFiles as string, '--min-changed-files')!,
      minFailingTests: intOption(o.minFailingTests as string, '--min-failing-tests')!,
    },
    trainEvery: intOption(o.trainEvery as string, '--train-every', 0)!,
    maxTurns: intOption(o.maxTurns as string | undefined, '--max-turns', 1),
    testTimeoutMs: intOption(o.testTimeout as string, '--test-timeout', 1)! * 1000,
  };
}

/** Prints the session's end and returns the exit code. */
function finish(o: Opts, result: SessionFile, runDir: string): number {
  if (o.json) printJson({ runDir, ...result });
  else process.stdout.write(summary(result, runDir) + '\n');
  if (result.status === 'cancelled') return 130;
  if (result.status === 'interrupted') {
    // Said last, on stderr, whatever the output format: what happened and the command that continues.
    process.stderr.write(`ssr: ${interruptedMessage(result, runDir)}\n`);
    return EXIT_CANNOT_RUN;
  }
  if (result.status === 'failed') return EXIT_CANNOT_RUN;
  return (result.metrics?.validBugs ?? 0) > 0 ? EXIT_OK : EXIT_NEGATIVE;
}

/** `ssr selfplay`: a new session, or a resumed one, run to its end. */
async function selfplay(o: Opts): Promise<number> {
  const progress = new StageLines();
  const onEvent = (e: SessionEvent) => {
    if (o.json) return;
    // The stage's live line (core/progress.ts), and a line of its own for what people keep reading.
    progress.onSession(e);
    const line = describeEvent(e);
    if (line && e.type !== 'round-started') progress.log(line);
  };
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  const specs = policySpecs(o);
  const resumeDir = o.resume ? RunStore.resolve(o.resume as string, o.repo ? path.resolve(o.repo as string) : undefined) : undefined;
  const players = await playersFor(o, specs, resumeDir, ac.signal);
  const session = resumeDir
    ? await SelfPlaySession.resume(resumeDir, players, { signal: ac.signal, onEvent })
    : await SelfPlaySession.create(await sessionConfig(o, specs), players, { signal: ac.signal, onEvent, out: o.out as string | undefined });
  if (!o.json) process.stderr.write(`run directory: ${session.runDir}\n`);
  const result = await session.run();
  progress.end();
  return finish(o, result, session.runDir);
}

export function register(program: Command): void {
  const cmd = program
    .command('selfplay')
    .description('run a self-play session: propose, validate, solve, reward, higher-order bugs (resumable)');
  addPolicyFlags(addOptions(cmd, SELFPLAY_OPTIONS), { kinds: 'bootstrap (no model) | openai | onnx | replay', default: 'bootstrap' }).action(
    action(infrastructureGuard(selfplay)),
  );
  registerRuns(program);
  registerExport(program);
}

function registerRuns(program: Command): void {
  program
    .command('runs')
    .description('list the self-play runs of a repository')
    .option('--repo <dir>', 'the repository', '.')
    .option('--json', 'print as JSON')
    .action(
      action(async (o: Opts) => {
        const repoDir = requireDir(o.repo as string, '--repo');
        const runs = await listRuns(repoDir);
        if (o.json) {
          printJson(runs.map((r) => ({ id: r.id, dir: r.dir, status: r.session?.status, counters: r.session?.counters, updatedAt: r.session?.updatedAt })));
          return EXIT_OK;
        }
        if (!runs.length) {
          process.stdout.write(`no runs in ${path.join(repoDir, '.ssr', 'runs')}; start one with: ssr selfplay --repo ${o.repo}\n`);
          return EXIT_OK;
        }
        for (const r of runs) {
          const s = r.session as Partial<SessionFile> | undefined;
          const c = s?.counters;
          process.stdout.write(
            `${r.id}  ${String(s?.status ?? '?').padEnd(11)}  ${c ? `${c.proposals} proposals, ${c.validBugs} valid, ${c.attempts} attempts, ${c.solved} solved` : ''}\n`,
          );
        }
        return EXIT_OK;
      }),
    );

}

function registerExport(program: Command): void {
  program
    .command('export')
    .description('export a run\'s valid bugs as a dataset')
    .requiredOption('--run <dir>', 'the run directory')
    .option('--format <f>', 'swebench (one JSON line per valid bug)', 'swebench')
    .option('--repo <dir>', 'the repository (default: the one the run was made from)')
    .option('--out <file>', 'write here instead of stdout')
    .action(
      action(async (o: Opts) => {
        if (o.format !== 'swebench') fail(`--format must be swebench (got ${o.format})`);
        const runDir = requireDir(o.run as string, '--run');
        const rows = await exportSwebench(runDir, o.repo ? requireDir(o.repo as string, '--repo') : undefined);
        const text = swebenchJsonl(rows);
        if (o.out) {
          fs.writeFileSync(o.out as string, text);
          process.stderr.write(`wrote ${rows.length} instance(s) to ${o.out}\n`);
        } else process.stdout.write(text);
        return rows.length ? EXIT_OK : EXIT_NEGATIVE;
      }),
    );
}
