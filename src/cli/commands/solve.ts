/**
 * `ssr solve`: N solver attempts on a bug artifact, each evaluated. Exit 0
 * when any attempt solved the bug, 1 when none did, 2 could not run.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Command } from 'commander';
import { describePolicy, type Policy } from '../../core/policy';
import { runSolveEpisode, writeTrajectory, type SolveEpisodeResult } from '../../core/selfplay/episodes';
import { newEpisodeId } from '../../core/agents/loop';
import { artifactId, readArtifact, type ArtifactFiles } from '../../core/artifact/artifact';
import { originalResults } from '../../core/judge/evaluate';
import type { TestResults } from '../../core/judge/testRun';
import { injectorReward, solveRate } from '../../core/judge/rewards';
import { EXIT_CANNOT_RUN, EXIT_NEGATIVE, EXIT_OK, Progress, action, color, fail, intOption, printJson, requireDir } from '../util';
import { addSandboxFlags } from './validate';
import { addPolicyFlags, budgetOptions, couldNotRun, describeEnd, episodeDir, makePolicy, policyChoice, stepLine, type Opts, type PolicyChoice } from './inject';
import { addOptions, type OptionRow } from '../options';
import { repoImage } from '../image';

/** `ssr solve`'s own options, after the sandbox and policy flags, in the order `--help` lists them. */
const SOLVE_OPTIONS: readonly OptionRow[] = [
  ['--attempts <n>', 'solver attempts (the paper uses a group of 8)', '1'],
  ['--test-timeout <seconds>', 'timeout of one run of test_script.sh', '120'],
  ['--out <dir>', 'where to write each attempt (default <repo>/.ssr/episodes/<id>/)'],
  ['--verbose', 'print each step on stderr'],
  ['--json', 'print the results as JSON'],
];

type Attempt = SolveEpisodeResult & { dir: string };

/** What every attempt shares: the repository, the artifact, the policy choice, the original run. */
interface SolveContext {
  o: Opts;
  repoDir: string;
  artifact: ArtifactFiles;
  aid: string;
  attempts: number;
  testTimeoutMs: number;
  choice: PolicyChoice;
  budgets: ReturnType<typeof budgetOptions>;
  progress: Progress;
  signal: AbortSignal;
}

/** One attempt: the episode, then its files (trajectory.json, patch.diff, evaluation.json). */
async function runAttempt(c: SolveContext, k: number, policy: Policy, original: TestResults): Promise<Attempt> {
  const r = await runSolveEpisode({
    repoDir: c.repoDir,
    artifact: c.artifact,
    artifactId: c.aid,
    image: c.o.image as string | undefined,
    policy,
    attempt: k,
    original,
    testTimeoutMs: c.testTimeoutMs,
    toolMode: c.choice.toolMode,
    temperature: c.choice.temperature,
    topP: c.choice.topP,
    ...c.budgets,
    id: newEpisodeId('solver'),
    signal: c.signal,
    onStep: (s) => {
      if (c.o.verbose) process.stderr.write(`attempt ${k + 1} ${stepLine(s)}\n`);
      c.progress.update(`solve ${k + 1}/${c.attempts}: ${stepLine(s)}`);
    },
  });
  const dir = await episodeDir(c.repoDir, c.o.out ? path.join(c.o.out as string, `attempt-${k}`) : undefined, r.trajectory.id);
  await writeTrajectory(path.join(dir, 'trajectory.json'), r.trajectory);
  if (r.patch !== undefined) await fs.writeFile(path.join(dir, 'patch.diff'), r.patch);
  if (r.evaluation) await fs.writeFile(path.join(dir, 'evaluation.json'), JSON.stringify(r.evaluation, null, 2) + '\n');
  return { ...r, dir };
}

function printAttempt(r: Attempt, k: number, attempts: number): void {
  const t = r.trajectory;
  const verdict = r.evaluation ? (r.evaluation.solved ? color.green('SOLVED') : r.evaluation.tampered ? color.red('TAMPERED') : color.red('NOT SOLVED')) : color.yellow('NOT JUDGED');
  process.stdout.write(
    `attempt ${k + 1}/${attempts}  ${verdict}  r_solve ${r.reward ?? '-'}  ${t.steps.length} turn(s), ${describeEnd(t)}\n` +
      `  ${r.evaluation?.detail ?? (t.info?.evaluation_error as string | undefined) ?? t.error ?? ''}\n  ${color.dim(r.dir)}\n`,
  );
}

/** The attempts one after another; a replay policy plays one recording per attempt, other policies are shared. */
async function runAttempts(c: SolveContext): Promise<Attempt[]> {
  const results: Attempt[] = [];
  let shared: Policy | undefined;
  try {
    c.progress.update('solve: running the tests on the original repository');
    const original = await originalResults({ repoDir: c.repoDir, artifact: c.artifact, image: c.o.image as string | undefined, testTimeoutMs: c.testTimeoutMs, signal: c.signal });
    if (c.choice.spec.kind !== 'replay') shared = await makePolicy(c.choice);
    for (let k = 0; k < c.attempts; k++) {
      const policy = shared ?? (await makePolicy(c.choice));
      c.progress.update(`solve: attempt ${k + 1}/${c.attempts} (${describePolicy(policy)})`);
      const r = await runAttempt(c, k, policy, original).finally(() => (shared ? undefined : policy.dispose?.().catch(() => undefined)));
      results.push(r);
      if (!c.o.json) {
        c.progress.done();
        printAttempt(r, k, c.attempts);
      }
      if (r.trajectory.status === 'cancelled') break;
    }
  } finally {
    c.progress.done();
    await shared?.dispose?.().catch(() => undefined);
  }
  return results;
}

/** The solve rate and r_inject over the judged attempts, as JSON or a line. */
function printSolveSummary(o: Opts, aid: string, results: Attempt[]): void {
  const judged = results.filter((r) => r.evaluation);
  const rate = judged.length ? solveRate(judged.map((r) => r.evaluation!.solved)) : NaN;
  const rInject = Number.isNaN(rate) ? undefined : injectorReward(true, rate);
  if (o.json) {
    printJson({
      artifactId: aid,
      attempts: results.map((r) => ({
        id: r.trajectory.id,
        status: r.trajectory.status,
        ...(r.trajectory.error ? { error: r.trajectory.error } : {}),
        turns: r.trajectory.steps.length,
        solved: r.evaluation?.solved ?? null,
        reward: r.reward ?? null,
        detail: r.evaluation?.detail ?? null,
        ...(r.evaluation?.tampered ? { tampered: r.evaluation.tampered } : {}),
        out: r.dir,
      })),
      solveRate: Number.isNaN(rate) ? null : rate,
      injectorReward: rInject ?? null,
    });
  } else if (judged.length) {
    process.stdout.write(
      `\nsolve rate ${judged.filter((r) => r.evaluation!.solved).length}/${judged.length}` + `  (r_inject for a valid artifact at this rate: ${rInject?.toFixed(3)})\n`,
    );
  }
}

/** 0 when any attempt solved the bug, 1 when none did, 2 when none could run, 130 when cancelled. */
function solveExitCode(results: Attempt[]): number {
  if (results.some((r) => r.trajectory.status === 'cancelled')) return 130;
  if (results.some((r) => r.evaluation?.solved)) return EXIT_OK;
  if (results.length && results.every((r) => couldNotRun(r.trajectory) || (!r.evaluation && r.patch !== undefined))) return EXIT_CANNOT_RUN;
  return EXIT_NEGATIVE;
}

/** `ssr solve`: N attempts on an artifact, each evaluated. */
async function solve(o: Opts): Promise<number> {
  if (o.repoInImage) fail('ssr solve needs --repo');
  const repoDir = requireDir(o.repo as string, '--repo');
  o.image = await repoImage(o, repoDir);
  const artifact = await readArtifact(requireDir(o.artifact as string, '--artifact'));
  const ac = new AbortController();
  const c: SolveContext = {
    o,
    repoDir,
    artifact,
    aid: artifactId(artifact),
    attempts: intOption(o.attempts as string, '--attempts', 1) ?? 1,
    testTimeoutMs: (intOption(o.testTimeout as string, '--test-timeout', 1) ?? 120) * 1000,
    choice: policyChoice(o, 'solver'),
    budgets: budgetOptions(o),
    progress: new Progress(),
    signal: ac.signal,
  };
  const onInt = () => ac.abort();
  process.once('SIGINT', onInt);
  let results: Attempt[];
  try {
    results = await runAttempts(c);
  } finally {
    process.removeListener('SIGINT', onInt);
  }
  printSolveSummary(o, c.aid, results);
  return solveExitCode(results);
}

export function register(program: Command): void {
  const cmd = program
    .command('solve')
    .description('run solver attempts on a bug artifact and evaluate each (exit 0 any solved, 1 none, 2 could not run)')
    .requiredOption('--repo <dir>', 'the original repository (never modified)')
    .requiredOption('--artifact <dir>', 'folder with the five artifact files');
  addOptions(addPolicyFlags(addSandboxFlags(cmd)), SOLVE_OPTIONS).action(action(solve));
}
