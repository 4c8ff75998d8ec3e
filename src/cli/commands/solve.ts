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
import { artifactId, readArtifact } from '../../core/artifact/artifact';
import { originalResults } from '../../core/judge/evaluate';
import { injectorReward, solveRate } from '../../core/judge/rewards';
import { EXIT_CANNOT_RUN, EXIT_NEGATIVE, EXIT_OK, Progress, action, color, fail, intOption, printJson, requireDir } from '../util';
import { addSandboxFlags } from './validate';
import { addPolicyFlags, budgetOptions, couldNotRun, describeEnd, episodeDir, makePolicy, policyChoice, stepLine, type Opts } from './inject';
import { repoImage } from '../image';

export function register(program: Command): void {
  addPolicyFlags(
    addSandboxFlags(
      program
        .command('solve')
        .description('run solver attempts on a bug artifact and evaluate each (exit 0 any solved, 1 none, 2 could not run)')
        .requiredOption('--repo <dir>', 'the original repository (never modified)')
        .requiredOption('--artifact <dir>', 'folder with the five artifact files'),
    ),
  )
    .option('--attempts <n>', 'solver attempts (the paper uses a group of 8)', '1')
    .option('--test-timeout <seconds>', 'timeout of one run of test_script.sh', '120')
    .option('--out <dir>', 'where to write each attempt (default <repo>/.ssr/episodes/<id>/)')
    .option('--verbose', 'print each step on stderr')
    .option('--json', 'print the results as JSON')
    .action(
      action(async (o: Opts) => {
        if (o.repoInImage) fail('ssr solve needs --repo');
        const repoDir = requireDir(o.repo as string, '--repo');
        o.image = await repoImage(o, repoDir);
        const artifact = await readArtifact(requireDir(o.artifact as string, '--artifact'));
        const attempts = intOption(o.attempts as string, '--attempts', 1) ?? 1;
        const testTimeoutMs = (intOption(o.testTimeout as string, '--test-timeout', 1) ?? 120) * 1000;
        const choice = policyChoice(o, 'solver');
        const budgets = budgetOptions(o);
        const aid = artifactId(artifact);
        const progress = new Progress();
        const ac = new AbortController();
        const onInt = () => ac.abort();
        process.once('SIGINT', onInt);
        let shared: Policy | undefined;
        const results: Array<SolveEpisodeResult & { dir: string }> = [];
        try {
          progress.update('solve: running the tests on the original repository');
          const original = await originalResults({ repoDir, artifact, image: o.image as string | undefined, testTimeoutMs, signal: ac.signal });
          // A replay policy plays one recording per attempt; other policies are shared by the attempts.
          if (choice.spec.kind !== 'replay') shared = await makePolicy(choice);
          for (let k = 0; k < attempts; k++) {
            const policy = shared ?? (await makePolicy(choice));
            const id = newEpisodeId('solver');
            progress.update(`solve: attempt ${k + 1}/${attempts} (${describePolicy(policy)})`);
            const r = await runSolveEpisode({
              repoDir,
              artifact,
              artifactId: aid,
              image: o.image as string | undefined,
              policy,
              attempt: k,
              original,
              testTimeoutMs,
              toolMode: choice.toolMode,
              temperature: choice.temperature,
              topP: choice.topP,
              ...budgets,
              id,
              signal: ac.signal,
              onStep: (s) => {
                if (o.verbose) process.stderr.write(`attempt ${k + 1} ${stepLine(s)}\n`);
                progress.update(`solve ${k + 1}/${attempts}: ${stepLine(s)}`);
              },
            });
            if (!shared) await policy.dispose?.().catch(() => undefined);
            const dir = await episodeDir(repoDir, o.out ? path.join(o.out as string, `attempt-${k}`) : undefined, r.trajectory.id);
            await writeTrajectory(path.join(dir, 'trajectory.json'), r.trajectory);
            if (r.patch !== undefined) await fs.writeFile(path.join(dir, 'patch.diff'), r.patch);
            if (r.evaluation) await fs.writeFile(path.join(dir, 'evaluation.json'), JSON.stringify(r.evaluation, null, 2) + '\n');
            results.push({ ...r, dir });
            if (!o.json) {
              progress.done();
              const t = r.trajectory;
              const verdict = r.evaluation ? (r.evaluation.solved ? color.green('SOLVED') : r.evaluation.tampered ? color.red('TAMPERED') : color.red('NOT SOLVED')) : color.yellow('NOT JUDGED');
              process.stdout.write(
                `attempt ${k + 1}/${attempts}  ${verdict}  r_solve ${r.reward ?? '-'}  ${t.steps.length} turn(s), ${describeEnd(t)}\n` +
                  `  ${r.evaluation?.detail ?? (t.info?.evaluation_error as string | undefined) ?? t.error ?? ''}\n  ${color.dim(dir)}\n`,
              );
            }
            if (r.trajectory.status === 'cancelled') break;
          }
        } finally {
          process.removeListener('SIGINT', onInt);
          progress.done();
          await shared?.dispose?.().catch(() => undefined);
        }
        const judged = results.filter((r) => r.evaluation);
        const rate = judged.length ? solveRate(judged.map((r) => r.evaluation!.solved)) : NaN;
        const anySolved = judged.some((r) => r.evaluation!.solved);
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
            `\nsolve rate ${judged.filter((r) => r.evaluation!.solved).length}/${judged.length}` +
              `  (r_inject for a valid artifact at this rate: ${rInject?.toFixed(3)})\n`,
          );
        }
        if (results.some((r) => r.trajectory.status === 'cancelled')) return 130;
        if (anySolved) return EXIT_OK;
        if (results.length && results.every((r) => couldNotRun(r.trajectory) || (!r.evaluation && r.patch !== undefined))) return EXIT_CANNOT_RUN;
        return EXIT_NEGATIVE;
      }),
    );
}
