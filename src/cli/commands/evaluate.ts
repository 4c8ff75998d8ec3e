import * as fs from 'node:fs/promises';
import type { Command } from 'commander';
import { readArtifact } from '../../core/artifact/artifact';
import { evaluatePatch, type Evaluation } from '../../core/judge/evaluate';
import { buildHigherOrder } from '../../core/selfplay/higherOrder';
import { writeArtifact } from '../../core/artifact/artifact';
import { EXIT_NEGATIVE, EXIT_OK, Progress, action, color, fail, intOption, printJson, requireDir, requireFile } from '../util';
import { addSandboxFlags } from './validate';
import { repoImage } from '../image';

export function register(program: Command): void {
  addSandboxFlags(
    program
      .command('evaluate')
      .description("evaluate a solver's predicted patch (exit 0 solved, 1 not solved, 2 could not run)")
      .option('--repo <dir>', 'the original repository')
      .requiredOption('--artifact <dir>', 'the bug artifact')
      .requiredOption('--patch <file>', 'the predicted patch (a unified diff against the buggy repository)'),
  )
    .option('--test-timeout <seconds>', 'timeout of one run of test_script.sh', '120')
    .option('--json', 'print the evaluation as JSON')
    .action(action(evaluateCommand));

  addSandboxFlags(
    program
      .command('higher-order')
      .description('turn a failed solver patch into a second-order bug artifact')
      .requiredOption('--repo <dir>', 'the original repository')
      .requiredOption('--artifact <dir>', 'the first-order bug artifact')
      .requiredOption('--patch <file>', "the solver's failed patch")
      .requiredOption('--out <dir>', 'where to write the new artifact'),
  )
    .option('--json', 'print the result as JSON')
    .action(action(higherOrderCommand));
}

/** `ssr higher-order`: a failed solver patch, evaluated, becomes a second-order bug artifact. */
async function higherOrderCommand(o: Record<string, string | boolean | undefined>): Promise<number> {
  const repoDir = requireDir(o.repo as string, '--repo');
  const artifact = await readArtifact(requireDir(o.artifact as string, '--artifact'));
  const patch = await fs.readFile(requireFile(o.patch as string, '--patch'), 'utf8');
  const ev = await evaluatePatch({ repoDir, image: o.image as string, artifact, patch });
  // A tampered patch changed how tests run, not the code: it makes no bug.
  if (ev.tampered) fail(`the patch is tampered (${ev.tampered.reason}): ${ev.tampered.evidence.join('; ')}`);
  const next = await buildHigherOrder({ repoDir, artifact, patch, evaluation: ev });
  await writeArtifact(o.out as string, next);
  if (o.json) printJson({ out: o.out, order: next.meta?.order, parent: next.meta?.parent, evaluation: ev });
  else process.stdout.write(`wrote an order-${next.meta?.order} artifact to ${o.out} (the patch left: ${ev.detail})\n`);
  return EXIT_OK;
}

/** `ssr evaluate`: judges the patch against the artifact; exit 0 solved, 1 not solved. */
async function evaluateCommand(o: Record<string, string | boolean | undefined>): Promise<number> {
  if (!o.repo && !o.repoInImage) fail('--repo is required (or --repo-in-image)');
  const repoDir = o.repo ? requireDir(o.repo as string, '--repo') : undefined;
  o.image = await repoImage(o, repoDir);
  const artifact = await readArtifact(requireDir(o.artifact as string, '--artifact'));
  const patch = await fs.readFile(requireFile(o.patch as string, '--patch'), 'utf8');
  const progress = new Progress();
  progress.update('evaluating: original and patched runs');
  const ev = await evaluatePatch({
    repoDir,
    repoInImage: o.repoInImage as string | undefined,
    image: o.image as string,
    artifact,
    patch,
    testTimeoutMs: (intOption(o.testTimeout as string, '--test-timeout', 1) ?? 120) * 1000,
  });
  progress.done();
  if (o.json) printJson(ev);
  else process.stdout.write(evaluationLines(ev).join('\n') + '\n');
  return ev.solved ? EXIT_OK : EXIT_NEGATIVE;
}

/** `ssr evaluate`'s human output: the verdict (SOLVED, NOT SOLVED or TAMPERED), then what it rests on. */
export function evaluationLines(ev: Evaluation): string[] {
  const verdict = ev.solved ? color.green('SOLVED') : ev.tampered ? color.red('TAMPERED') : color.red('NOT SOLVED');
  const lines = [`${verdict}  reward ${ev.reward}  ${ev.detail}`];
  for (const e of ev.tampered?.evidence ?? []) lines.push(`  evidence: ${e}`);
  const g = ev.groups;
  if (g) {
    lines.push(`  required (passed on the original): ${g.required.passed}/${g.required.total} pass, ${g.required.failed} fail, ${g.required.missing} missing`);
    if (g.preexisting.total) lines.push(`  failed on the original (not required): ${g.preexisting.total}, ${g.preexisting.passed} pass now`);
    if (g.flaky) lines.push(`  flaky (left out): ${g.flaky}`);
  }
  for (const c of ev.ignoredChanges ?? []) lines.push(`  reverted before the run: ${c.path} (${c.reason})`);
  return lines;
}
