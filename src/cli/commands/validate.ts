import type { Command } from 'commander';
import { loadArtifact } from '../../core/artifact/artifact';
import { validateArtifact, type ValidationReport } from '../../core/judge/checks';
import { DEFAULT_IMAGE } from '../../core/sandbox/docker';
import { EXIT_NEGATIVE, EXIT_OK, action, color, fail, intOption, printJson, requireDir } from '../util';
import { repoImage } from '../image';
import { StageLines } from '../stages';

export interface SandboxFlags {
  image?: string;
  repoInImage?: string;
}

export function addSandboxFlags(cmd: Command): Command {
  return cmd
    .option('--image <image>', `sandbox image (default: the repository's built environment, else ${DEFAULT_IMAGE})`)
    .option('--repo-in-image <path>', 'the image already holds the repository at PATH (SWE-bench style); --repo is then optional');
}

export function printReport(r: ValidationReport): void {
  const icon = { pass: color.green('PASS'), fail: color.red('FAIL'), skip: color.yellow('SKIP') };
  const w = Math.max(...r.checks.map((c) => c.id.length));
  for (const c of r.checks) {
    process.stdout.write(`${icon[c.status]}  ${c.id.padEnd(w)}  ${String(c.durationMs).padStart(6)} ms  ${c.detail}\n`);
  }
  const verdict = r.valid ? color.green('VALID') : color.red(`INVALID (first failing check: ${r.firstFailure})`);
  process.stdout.write(`\n${color.bold(verdict)}  ${r.runs.length} test run(s) in ${(r.durationMs / 1000).toFixed(1)} s\n`);
  if (r.flaky.length) process.stdout.write(`flaky tests left out: ${r.flaky.join(', ')}\n`);
}

export function register(program: Command): void {
  addSandboxFlags(
    program
      .command('validate')
      .description('run the seven consistency checks on a bug artifact (exit 0 valid, 1 invalid, 2 could not run)')
      .option('--repo <dir>', 'the original repository (copied into sandboxes, never modified)')
      .requiredOption('--artifact <dir>', 'folder with the five artifact files'),
  )
    .option('--min-passing-tests <n>', 'original_passes threshold', '5')
    .option('--min-changed-files <n>', 'bug_scope threshold', '1')
    .option('--min-failing-tests <n>', 'bug_breaks_tests threshold', '1')
    .option('--concurrency <k>', 'sandboxes at once (default: cores, at most 4)')
    .option('--repeat <n>', 'run each state N times and leave out flaky tests', '1')
    .option('--test-timeout <seconds>', 'timeout of one run of test_script.sh', '120')
    .option('--json', 'print the report as JSON')
    .action(
      action(async (o: Record<string, string | boolean | undefined>) => {
        if (!o.repo && !o.repoInImage) fail('--repo is required (or --repo-in-image with an image that holds the repository)');
        const repoDir = o.repo ? requireDir(o.repo as string, '--repo') : undefined;
        o.image = await repoImage(o, repoDir);
        const artifactDir = requireDir(o.artifact as string, '--artifact');
        const { artifact, problems } = await loadArtifact(artifactDir);
        const concurrency = intOption(o.concurrency as string | undefined, '--concurrency', 1);
        const repeat = intOption(o.repeat as string, '--repeat', 1) ?? 1;
        const stages = new StageLines();
        stages.start('validate', 0, 'starting');
        const report = await validateArtifact({
          repoDir,
          repoInImage: o.repoInImage as string | undefined,
          artifact,
          problems,
          image: o.image as string,
          minPassingTests: intOption(o.minPassingTests as string, '--min-passing-tests'),
          minChangedFiles: intOption(o.minChangedFiles as string, '--min-changed-files'),
          minFailingTests: intOption(o.minFailingTests as string, '--min-failing-tests'),
          concurrency,
          repeat,
          testTimeoutMs: (intOption(o.testTimeout as string, '--test-timeout', 1) ?? 120) * 1000,
          onEvent: (e) => {
            // The run's own line first, then the live line counts it.
            if (e.type === 'run-finished') stages.log(`  ran ${e.run.state} in ${(e.run.durationMs / 1000).toFixed(1)} s${e.run.ok ? '' : `: ${e.run.error}`}`);
            stages.onValidation(e);
          },
        });
        stages.end(report.valid ? 'valid' : `invalid at ${report.firstFailure ?? '?'}`);
        if (o.json) printJson(report);
        else printReport(report);
        return report.valid ? EXIT_OK : EXIT_NEGATIVE;
      }),
    );
}
