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
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseJsonc, type ParseError } from 'jsonc-parser';
import { UsageError } from '../errors';

export type EnvSource = 'devcontainer' | 'dockerfile' | 'recipe' | 'base';

/** Bumped when the way images are built changes, so old images are not reused. */
export const ENV_FORMAT = 3;

/** A build step of SSR's layer: one RUN, named in logs and errors. */
export interface EnvStep {
  name: string;
  /** bash script run in /repo. */
  run: string;
}

export interface UserBuild {
  /** Absolute path of the Dockerfile. */
  dockerfile: string;
  /** Absolute path of the build context. */
  context: string;
  args: Record<string, string>;
  target?: string;
}

export interface EnvPlan {
  source: EnvSource;
  repoDir: string;
  /** What the environment was derived from (repo-relative paths). */
  declaredBy: string[];
  /** The image SSR's layer starts from (when there is no user build). */
  fromImage?: string;
  /** A Dockerfile to build first; SSR's layer goes on top of it. */
  userBuild?: UserBuild;
  /** Repo-relative files copied into /repo before the steps (manifests). */
  copyFiles: string[];
  /** Copy the whole repository in for the steps, and remove its files after (lifecycle commands). */
  copyRepo: boolean;
  /** Python recipe helper needed in the context. */
  needsPyHelper: boolean;
  steps: EnvStep[];
  notes: string[];
  /** Everything the image depends on, hashed into its tag. */
  inputs: Record<string, string>;
}

export interface PlanOptions {
  /** A Dockerfile named in the settings (repo-relative or absolute). */
  dockerfile?: string;
  /** The SSR base image. */
  baseImage: string;
  /** Whether an image exists in the engine (for devcontainer `image`). */
  imageExists?: (name: string) => Promise<boolean>;
}

const PY_MANIFESTS = ['pyproject.toml', 'setup.py', 'setup.cfg'];
const NODE_LOCKS: Array<[string, 'npm' | 'yarn' | 'pnpm' | 'bun']> = [
  ['package-lock.json', 'npm'],
  ['npm-shrinkwrap.json', 'npm'],
  ['yarn.lock', 'yarn'],
  ['pnpm-lock.yaml', 'pnpm'],
  ['bun.lockb', 'bun'],
  ['bun.lock', 'bun'],
];

function exists(repoDir: string, rel: string): boolean {
  return fs.existsSync(path.join(repoDir, rel));
}

function readText(file: string): string {
  return fs.readFileSync(file, 'utf8');
}

/** Reads a JSON-with-comments file (devcontainer.json), failing with the place of the error. */
export function readJsonc(file: string): Record<string, unknown> {
  const errors: ParseError[] = [];
  const value = parseJsonc(readText(file), errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length || !value || typeof value !== 'object') {
    const at = errors[0] ? ` at offset ${errors[0].offset}` : '';
    throw new UsageError(`${file}: not valid JSON with comments${at}; fix the file or remove it.`);
  }
  return value as Record<string, unknown>;
}

/** A lifecycle command (string, array, or object of named commands) as bash lines. */
export function lifecycleLines(v: unknown): string[] {
  if (typeof v === 'string') return v.trim() ? [v] : [];
  if (Array.isArray(v)) return v.length ? [v.map((a) => shellQuote(String(a))).join(' ')] : [];
  if (v && typeof v === 'object') return Object.values(v as Record<string, unknown>).flatMap(lifecycleLines);
  return [];
}

export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function hashInputs(inputs: Record<string, string>): string {
  const h = crypto.createHash('sha256');
  for (const k of Object.keys(inputs).sort()) h.update(`${k}\0${inputs[k]}\0`);
  return h.digest('hex');
}

/** The image name of a plan: `ssr-env-<repo>:<hash of the inputs>`. */
export function imageName(plan: EnvPlan): string {
  const slug = path.basename(plan.repoDir).toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '') || 'repo';
  return `ssr-env-${slug.slice(0, 60)}:${hashInputs(plan.inputs).slice(0, 16)}`;
}

function addFileInput(inputs: Record<string, string>, repoDir: string, rel: string): void {
  const file = path.resolve(repoDir, rel);
  if (fs.existsSync(file) && fs.statSync(file).isFile()) inputs[`file:${rel}`] = readText(file);
}

/** Node dependencies: package.json + lockfile with its package manager, installed in /repo/node_modules. */
function nodeSteps(repoDir: string, notes: string[], copyFiles: string[], inputs: Record<string, string>): EnvStep[] {
  if (!exists(repoDir, 'package.json')) return [];
  copyFiles.push('package.json');
  addFileInput(inputs, repoDir, 'package.json');
  const lock = NODE_LOCKS.find(([f]) => exists(repoDir, f));
  let pm: 'npm' | 'yarn' | 'pnpm' | 'bun' = lock?.[1] ?? 'npm';
  try {
    const declared = String((JSON.parse(readText(path.join(repoDir, 'package.json'))) as { packageManager?: string }).packageManager ?? '');
    const m = /^(npm|yarn|pnpm|bun)@/.exec(declared);
    if (m) pm = m[1] as typeof pm;
  } catch {
    throw new UsageError(`${path.join(repoDir, 'package.json')}: not valid JSON`);
  }
  if (lock) {
    copyFiles.push(lock[0]);
    addFileInput(inputs, repoDir, lock[0]);
  }
  for (const f of ['.npmrc', '.yarnrc', '.yarnrc.yml']) {
    if (exists(repoDir, f)) {
      copyFiles.push(f);
      addFileInput(inputs, repoDir, f);
    }
  }
  const ensureNpm = 'command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null; }';
  let install: string;
  if (pm === 'npm') {
    install = lock ? 'npm ci --no-audit --no-fund' : 'npm install --no-audit --no-fund';
  } else if (pm === 'yarn') {
    install =
      'if command -v yarn >/dev/null || command -v yarnpkg >/dev/null; then $(command -v yarn || command -v yarnpkg) install --frozen-lockfile; ' +
      'else echo "ssr-env: yarn is not in the image; installing with npm from package.json"; npm install --no-audit --no-fund; fi';
  } else {
    install =
      `if command -v ${pm} >/dev/null; then ${pm} install --frozen-lockfile; ` +
      `else echo "ssr-env: ${pm} is not in the image; installing with npm from package.json (the lockfile is not used)"; npm install --no-audit --no-fund; fi`;
    notes.push(`${pm} lockfile found: ${pm} is used when the image has it, else npm installs from package.json`);
  }
  return [
    { name: 'install npm (Debian)', run: ensureNpm },
    { name: `install Node dependencies (${pm})`, run: install },
  ];
}

/** Python dependencies, mapped to Debian python3-* packages (pip for the rest, where an index is reachable). */
function pythonSteps(repoDir: string, copyFiles: string[], inputs: Record<string, string>): EnvStep[] {
  const files = fs.readdirSync(repoDir).filter((f) => PY_MANIFESTS.includes(f) || /requirements.*\.txt$/.test(f));
  if (exists(repoDir, 'requirements') && fs.statSync(path.join(repoDir, 'requirements')).isDirectory()) {
    for (const f of fs.readdirSync(path.join(repoDir, 'requirements'))) if (f.endsWith('.txt')) files.push(`requirements/${f}`);
  }
  if (!files.length) return [];
  for (const f of files) {
    copyFiles.push(f);
    addFileInput(inputs, repoDir, f);
  }
  // setup.py often reads the package's version file: copy the whole repo would be safer but makes the
  // image depend on every file; the recipe helper reads setup.py with `ast` and never runs it.
  return [{ name: 'install Python dependencies (Debian python3-* packages, pip for the rest)', run: 'python3 /ssr/env/ssr_env_py.py' }];
}

function recipe(repoDir: string, notes: string[], copyFiles: string[], inputs: Record<string, string>): EnvStep[] {
  return [...pythonSteps(repoDir, copyFiles, inputs), ...nodeSteps(repoDir, notes, copyFiles, inputs)];
}

/** Reads what the repository declares and plans its environment. */
export async function planEnvironment(repoDir: string, opts: PlanOptions): Promise<EnvPlan> {
  const notes: string[] = [];
  const copyFiles: string[] = [];
  const inputs: Record<string, string> = { format: String(ENV_FORMAT), base: opts.baseImage };
  const base = { repoDir, copyFiles, notes, inputs, copyRepo: false, needsPyHelper: false };

  const dcFile = ['.devcontainer/devcontainer.json', '.devcontainer.json'].find((f) => exists(repoDir, f));
  if (dcFile) {
    const dcPath = path.join(repoDir, dcFile);
    const dc = readJsonc(dcPath);
    inputs['file:' + dcFile] = readText(dcPath);
    const dcDir = path.dirname(dcPath);
    const plan: EnvPlan = { ...base, source: 'devcontainer', declaredBy: [dcFile], steps: [] };
    const build = (dc.build ?? {}) as { dockerfile?: string; context?: string; args?: Record<string, string>; target?: string };
    const dockerfile = build.dockerfile ?? (dc.dockerFile as string | undefined);
    if (dockerfile) {
      const df = path.resolve(dcDir, dockerfile);
      if (!fs.existsSync(df)) throw new UsageError(`${dcFile} names the Dockerfile ${dockerfile}, which does not exist (${df}).`);
      const context = path.resolve(dcDir, build.context ?? (dc.context as string | undefined) ?? '.');
      plan.userBuild = { dockerfile: df, context, args: build.args ?? {}, target: build.target };
      inputs['dockerfile'] = readText(df);
      inputs['args'] = JSON.stringify(build.args ?? {});
      plan.declaredBy.push(path.relative(repoDir, df));
    } else if (typeof dc.image === 'string') {
      const present = opts.imageExists ? await opts.imageExists(dc.image) : false;
      if (present) {
        plan.fromImage = dc.image;
      } else {
        plan.fromImage = opts.baseImage;
        notes.push(
          `${dcFile} names the image ${dc.image}, which the engine does not have (no registry is used); ` +
            `SSR starts from ${opts.baseImage} and runs the devcontainer's install commands on it`,
        );
      }
      inputs['image'] = plan.fromImage;
    } else {
      plan.fromImage = opts.baseImage;
    }
    if (dc.features && Object.keys(dc.features as object).length) {
      notes.push(`devcontainer features are not installed (they need a registry): ${Object.keys(dc.features as object).join(', ')}`);
    }
    const lifecycle = ['onCreateCommand', 'updateContentCommand', 'postCreateCommand'];
    for (const k of lifecycle) {
      for (const line of lifecycleLines(dc[k])) plan.steps.push({ name: `devcontainer ${k}: ${line.slice(0, 80)}`, run: line });
    }
    if (plan.steps.length) {
      plan.copyRepo = true;
      // The commands usually install from the manifests: they are inputs too.
      for (const f of ['package.json', ...NODE_LOCKS.map(([l]) => l), ...PY_MANIFESTS, 'requirements.txt']) addFileInput(inputs, repoDir, f);
    } else if (!plan.userBuild) {
      // Only an image: add the recipe on top so the dependencies are there.
      plan.steps.push(...recipe(repoDir, notes, copyFiles, inputs));
      plan.needsPyHelper = plan.steps.some((s) => s.run.includes('ssr_env_py.py'));
    }
    for (const k of ['postStartCommand', 'postAttachCommand']) {
      if (dc[k]) notes.push(`${k} is not run: SSR builds an image, and sandboxes run without network`);
    }
    return plan;
  }

  if (opts.dockerfile) {
    const df = path.resolve(repoDir, opts.dockerfile);
    if (!fs.existsSync(df)) throw new UsageError(`the Dockerfile ${opts.dockerfile} named in the settings does not exist (${df}).`);
    inputs['dockerfile'] = readText(df);
    return {
      ...base,
      source: 'dockerfile',
      declaredBy: [path.relative(repoDir, df)],
      userBuild: { dockerfile: df, context: repoDir, args: {} },
      steps: [],
    };
  }

  const steps = recipe(repoDir, notes, copyFiles, inputs);
  if (steps.length) {
    return {
      ...base,
      source: 'recipe',
      declaredBy: [...copyFiles],
      fromImage: opts.baseImage,
      steps,
      needsPyHelper: steps.some((s) => s.run.includes('ssr_env_py.py')),
    };
  }
  return { ...base, source: 'base', declaredBy: [], fromImage: opts.baseImage, steps: [] };
}
