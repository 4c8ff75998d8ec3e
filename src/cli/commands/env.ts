/**
 * `ssr env build`: builds the repository's environment image (devcontainer,
 * a Dockerfile named with --dockerfile, or a recipe from its manifests) on
 * top of SSR's base image. `ssr env show` says which image commands use.
 */
import type { Command } from 'commander';
import { buildEnvironment, chooseImage, planFor, imageName } from '../../core/environment';
import { EXIT_OK, Progress, action, color, printJson, requireDir } from '../util';
import type { Opts } from './inject';

/** `ssr env build`: the image, with the current step on a terminal (or lines, or the whole log with --verbose). */
async function envBuild(o: Opts): Promise<number> {
  const repoDir = requireDir(o.repo as string, '--repo');
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  const progress = new Progress();
  const started = Date.now();
  const plain = !process.stderr.isTTY;
  const r = await buildEnvironment({
    repoDir,
    dockerfile: o.dockerfile as string | undefined,
    baseImage: o.baseImage as string | undefined,
    force: Boolean(o.force),
    signal: ac.signal,
    onLog: (line) => {
      if (o.verbose) process.stderr.write(line + '\n');
    },
    onStep: (step, i, total) => {
      const text = `env build: step ${i}/${total}: ${step} (${((Date.now() - started) / 1000).toFixed(0)} s)`;
      if (o.json && !process.stderr.isTTY) return;
      if (plain || o.verbose) process.stderr.write(text + '\n');
      else progress.update(text);
    },
  });
  progress.done();
  if (o.json) printJson(r);
  else printBuilt(r, o.repo as string);
  return EXIT_OK;
}

function printBuilt(r: Awaited<ReturnType<typeof buildEnvironment>>, repo: string): void {
  process.stdout.write(
    `${color.bold(r.image)}  source ${r.source}${r.declaredBy.length ? ` (${r.declaredBy.join(', ')})` : ''}, ` +
      `${r.cached ? 'cached' : `built in ${(r.durationMs / 1000).toFixed(0)} s`}\n` +
      r.notes.map((n) => `  note: ${n}\n`).join('') +
      (r.logFile ? `  build log: ${r.logFile}\n` : '') +
      (r.source === 'base' ? '' : `Commands given --repo ${repo} now run in this image (an explicit --image wins).\n`),
  );
}

/** `ssr env show`: which image commands use, and what the environment would be built from. */
async function envShow(o: Opts): Promise<number> {
  const repoDir = requireDir(o.repo as string, '--repo');
  const plan = await planFor({ repoDir, dockerfile: o.dockerfile as string | undefined });
  const choice = await chooseImage({ repoDir, dockerfile: o.dockerfile as string | undefined });
  const out = {
    image: choice.image,
    why: choice.why,
    source: plan.source,
    wouldBuild: plan.source === 'base' ? undefined : imageName(plan),
    declaredBy: plan.declaredBy,
    steps: plan.steps.map((s) => s.name),
    notes: plan.notes,
  };
  if (o.json) printJson(out);
  else {
    process.stdout.write(`${choice.message}\n  declared by: ${plan.source}${plan.declaredBy.length ? ` (${plan.declaredBy.join(', ')})` : ''}\n`);
    for (const s of out.steps) process.stdout.write(`  step: ${s}\n`);
    for (const n of plan.notes) process.stdout.write(`  note: ${n}\n`);
  }
  return EXIT_OK;
}

export function register(program: Command): void {
  const env = program.command('env').description("the repository's environment: the image its tests run in");
  env
    .command('build')
    .description('build the environment image from .devcontainer, a Dockerfile, or the dependency manifests (cached by a hash of them)')
    .requiredOption('--repo <dir>', 'the repository')
    .option('--dockerfile <file>', 'a Dockerfile to build from (relative to the repository), when there is no devcontainer')
    .option('--base-image <image>', "SSR's base image the environment is built on", undefined)
    .option('--force', 'rebuild even when an image for the same inputs exists')
    .option('--verbose', 'print the whole build log (a terminal shows the current step otherwise)')
    .option('--json', 'print {image, source, cached, ...} as JSON')
    .action(action(envBuild));
  env
    .command('show')
    .description('which image commands given --repo use, and what the environment would be built from')
    .requiredOption('--repo <dir>', 'the repository')
    .option('--dockerfile <file>', 'a Dockerfile to build from')
    .option('--json', 'print as JSON')
    .action(action(envShow));
}
