/**
 * What a repository declares about its environment, read the way a person
 * would, in this order: `.devcontainer/devcontainer.json` (or
 * `.devcontainer.json`), a Dockerfile named in the settings, else a recipe
 * derived from the dependency manifests (Python: pyproject.toml, setup.py,
 * setup.cfg, requirements*.txt; Node: package.json with its lockfile and
 * package manager). Nothing declared: the SSR base image as it is.
 *
 * The plan is pure data (no engine needed); `build.ts` turns it into images.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../base/errors';
import { NODE_LOCKS, PY_MANIFESTS, addFileInput, exists, lifecycleLines, readJsonc, readText } from './manifests';
import { recipe } from './recipes';
import { planFeatures } from './features';
import { ENV_FORMAT, type EnvPlan, type PlanOptions } from './planTypes';

export * from './planTypes';
export { imageName, lifecycleLines, readJsonc, shellQuote } from './manifests';
export { nodeManager, type NodeManager, type NodePm } from './recipeNode';
export { goInstall } from './recipes';
export { planFeatures } from './features';

type PlanBase = Pick<EnvPlan, 'repoDir' | 'copyFiles' | 'notes' | 'inputs' | 'env' | 'copyRepo' | 'needsPyHelper'>;
type DevcontainerBuild = { dockerfile?: string; context?: string; args?: Record<string, string>; target?: string };

/** Reads what the repository declares and plans its environment. */
export async function planEnvironment(repoDir: string, opts: PlanOptions): Promise<EnvPlan> {
  const inputs: Record<string, string> = { format: String(ENV_FORMAT), base: opts.baseImage };
  const base: PlanBase = { repoDir, copyFiles: [], notes: [], inputs, env: {}, copyRepo: false, needsPyHelper: false };
  const dcFile = ['.devcontainer/devcontainer.json', '.devcontainer.json'].find((f) => exists(repoDir, f));
  if (dcFile) return devcontainerPlan(base, dcFile, opts);
  if (opts.dockerfile) {
    const df = path.resolve(repoDir, opts.dockerfile);
    if (!fs.existsSync(df)) throw new UsageError(`the Dockerfile ${opts.dockerfile} named in the settings does not exist (${df}).`);
    inputs['dockerfile'] = readText(df);
    return { ...base, source: 'dockerfile', declaredBy: [path.relative(repoDir, df)], userBuild: { dockerfile: df, context: repoDir, args: {} }, steps: [] };
  }
  const steps = recipe(repoDir, base.notes, base.copyFiles, inputs, base.env);
  if (!steps.length) return { ...base, source: 'base', declaredBy: [], fromImage: opts.baseImage, steps: [] };
  return { ...base, source: 'recipe', declaredBy: [...base.copyFiles], fromImage: opts.baseImage, steps, needsPyHelper: steps.some((s) => s.run.includes('ssr_env_py.py')) };
}

/** A devcontainer's plan: its image or Dockerfile, its features, then its lifecycle commands (or the recipe). */
async function devcontainerPlan(base: PlanBase, dcFile: string, opts: PlanOptions): Promise<EnvPlan> {
  const { repoDir, inputs, notes, env } = base;
  const dcPath = path.join(repoDir, dcFile);
  const dc = readJsonc(dcPath);
  inputs['file:' + dcFile] = readText(dcPath);
  const dcDir = path.dirname(dcPath);
  const plan: EnvPlan = { ...base, source: 'devcontainer', declaredBy: [dcFile], steps: [] };
  await devcontainerBase(plan, dc, dcFile, dcDir, opts);
  const features = dc.features && typeof dc.features === 'object' ? planFeatures(dcFile, dcDir, dc, inputs, env) : [];
  if (features.length) {
    plan.features = features;
    const remote = features.filter((f) => f.remote).map((f) => f.key);
    notes.push(
      `devcontainer features, installed in this order: ${features.map((f) => f.key).join(', ')}` +
        (remote.length ? `; the remote one(s) (${remote.join(', ')}) are fetched from their registry during the build, when its network reaches it` : ''),
    );
  }
  devcontainerSteps(plan, dc);
  if (dc.containerEnv && typeof dc.containerEnv === 'object') {
    for (const [k, v] of Object.entries(dc.containerEnv as Record<string, unknown>)) env[k] = String(v);
  }
  // Features are installed first, as root, before the lifecycle commands (the spec's order).
  plan.steps.unshift(
    ...features.map((f, i) => ({ name: `devcontainer feature ${f.key}${f.remote ? ' (fetch and install)' : ''}`, run: `python3 /ssr/env/ssr_features.py install ${i}` })),
  );
  return plan;
}

/** Where a devcontainer's image comes from: its Dockerfile, its image (when the engine has it), else SSR's base. */
async function devcontainerBase(plan: EnvPlan, dc: Record<string, unknown>, dcFile: string, dcDir: string, opts: PlanOptions): Promise<void> {
  const build = (dc.build ?? {}) as DevcontainerBuild;
  const dockerfile = build.dockerfile ?? (dc.dockerFile as string | undefined);
  if (dockerfile) {
    const df = path.resolve(dcDir, dockerfile);
    if (!fs.existsSync(df)) throw new UsageError(`${dcFile} names the Dockerfile ${dockerfile}, which does not exist (${df}).`);
    const context = path.resolve(dcDir, build.context ?? (dc.context as string | undefined) ?? '.');
    plan.userBuild = { dockerfile: df, context, args: build.args ?? {}, target: build.target };
    plan.inputs['dockerfile'] = readText(df);
    plan.inputs['args'] = JSON.stringify(build.args ?? {});
    plan.declaredBy.push(path.relative(plan.repoDir, df));
    return;
  }
  plan.fromImage = opts.baseImage;
  if (typeof dc.image !== 'string') return;
  if (opts.imageExists && (await opts.imageExists(dc.image))) plan.fromImage = dc.image;
  else {
    plan.notes.push(
      `${dcFile} names the image ${dc.image}, which the engine does not have (no registry is used); ` +
        `SSR starts from ${opts.baseImage} and runs the devcontainer's install commands on it`,
    );
  }
  plan.inputs['image'] = plan.fromImage;
}

/** The lifecycle commands as steps; a devcontainer with only an image gets the recipe on top. */
function devcontainerSteps(plan: EnvPlan, dc: Record<string, unknown>): void {
  const { repoDir, inputs, notes, copyFiles, env } = plan;
  for (const k of ['onCreateCommand', 'updateContentCommand', 'postCreateCommand']) {
    for (const line of lifecycleLines(dc[k])) plan.steps.push({ name: `devcontainer ${k}: ${line.slice(0, 80)}`, run: line });
  }
  if (plan.steps.length) {
    plan.copyRepo = true;
    // The commands usually install from the manifests: they are inputs too.
    for (const f of ['package.json', ...NODE_LOCKS.map(([l]) => l), ...PY_MANIFESTS, 'requirements.txt']) addFileInput(inputs, repoDir, f);
  } else if (!plan.userBuild) {
    // Only an image: add the recipe on top so the dependencies are there.
    plan.steps.push(...recipe(repoDir, notes, copyFiles, inputs, env));
    plan.needsPyHelper = plan.steps.some((s) => s.run.includes('ssr_env_py.py'));
  }
  for (const k of ['postStartCommand', 'postAttachCommand']) {
    if (dc[k]) notes.push(`${k} is not run: SSR builds an image, and sandboxes run without network`);
  }
}
