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
import { UsageError } from '../base/errors';

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

/** A Dev Container Feature to install in the image, in install order. */
export interface FeaturePlan {
  /** As devcontainer.json names it ("./local-feature", "REGISTRY/owner/repo/name:1"). */
  key: string;
  /** A local feature's folder (absolute); remote features have none. */
  dir?: string;
  remote: boolean;
  /** What devcontainer.json gives: an options object, or a string (the `version` option). */
  options: unknown;
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
  /** Dev Container Features, in install order (their files go into the build context). */
  features?: FeaturePlan[];
  /** Environment variables of the image (ENV), for the build steps and every sandbox. */
  env: Record<string, string>;
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
  const inputs = Object.keys(plan.env ?? {}).length ? { ...plan.inputs, env: JSON.stringify(plan.env) } : plan.inputs;
  return `ssr-env-${slug.slice(0, 60)}:${hashInputs(inputs).slice(0, 16)}`;
}

function addFileInput(inputs: Record<string, string>, repoDir: string, rel: string): void {
  const file = path.resolve(repoDir, rel);
  if (fs.existsSync(file) && fs.statSync(file).isFile()) inputs[`file:${rel}`] = readText(file);
}

export type NodePm = 'npm' | 'yarn' | 'pnpm' | 'bun';

export interface NodeManager {
  pm: NodePm;
  /** The version to install: declared in package.json's `packageManager`, else implied by the lockfile. */
  version?: string;
  /** yarn 2+ (a `__metadata` lockfile or a declared version >= 2). */
  berry?: boolean;
  /** Where the choice comes from, for notes. */
  why: string;
  /** The lockfile, when there is one. */
  lock?: string;
}

/**
 * The package manager a Node repository declares: package.json's
 * `packageManager` field (name@version, a `+sha...` suffix dropped) wins;
 * else the lockfile says which one, and its format which major version.
 */
export function nodeManager(repoDir: string): NodeManager | undefined {
  if (!exists(repoDir, 'package.json')) return undefined;
  let declared = '';
  try {
    declared = String((JSON.parse(readText(path.join(repoDir, 'package.json'))) as { packageManager?: string }).packageManager ?? '');
  } catch {
    throw new UsageError(`${path.join(repoDir, 'package.json')}: not valid JSON`);
  }
  const lock = NODE_LOCKS.find(([f]) => exists(repoDir, f));
  const m = /^(npm|yarn|pnpm|bun)@([^+\s]+)/.exec(declared.trim());
  if (m) {
    const pm = m[1] as NodePm;
    const version = m[2];
    const berry = pm === 'yarn' && Number(version.split('.')[0]) >= 2;
    const ownLock = NODE_LOCKS.find(([f, p]) => p === pm && exists(repoDir, f));
    return { pm, version, berry, why: `package.json packageManager: ${declared.trim()}`, lock: ownLock?.[0] };
  }
  if (!lock) return { pm: 'npm', why: 'no lockfile' };
  const [file, pm] = lock;
  if (pm === 'pnpm') {
    // lockfileVersion 9.x: pnpm 9 (and 10); 6.x: pnpm 8; 5.4: pnpm 7; older: pnpm 6.
    const v = /^lockfileVersion:\s*['"]?([\d.]+)/m.exec(readText(path.join(repoDir, file)))?.[1] ?? '';
    const major = Number(v.split('.')[0]);
    const version = major >= 9 ? '9' : major >= 6 ? '8' : v === '5.4' ? '7' : '6';
    return { pm, version, why: `${file} (lockfileVersion ${v || '?'})`, lock: file };
  }
  if (pm === 'yarn') {
    const text = readText(path.join(repoDir, file));
    const berry = /^__metadata:/m.test(text) || !/^# yarn lockfile v1/m.test(text);
    return { pm, version: berry ? '4' : '1', berry, why: `${file} (${berry ? 'yarn 2+ format' : 'yarn classic v1 format'})`, lock: file };
  }
  return { pm, why: file, lock: file };
}

const ENSURE_NPM =
  'command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null; }';

/**
 * Puts the declared pnpm or yarn on PATH at the declared version: corepack
 * when the image's Node has it (its cache kept in the image, so sandboxes
 * without network find it), else from the npm registry with npm
 * (yarn 2+ is published there as @yarnpkg/cli-dist).
 */
function managerInstall(nm: NodeManager): string {
  const version = nm.version ?? 'latest';
  const spec = `${nm.pm}@${version}`;
  const npmPkg = nm.pm === 'yarn' && nm.berry ? `@yarnpkg/cli-dist@${version}` : spec;
  return [
    `want=${shellQuote(version)}`,
    `have=$(${nm.pm} --version 2>/dev/null || true)`,
    'case "$have" in "$want"|"$want".*) echo "ssr-env: ' + nm.pm + ' $have is in the image"; exit 0;; esac',
    'if command -v corepack >/dev/null; then',
    `  echo "ssr-env: corepack prepares ${spec}"`,
    `  corepack enable && COREPACK_ENABLE_DOWNLOAD_PROMPT=0 corepack prepare ${shellQuote(spec)} --activate && exit 0`,
    '  echo "ssr-env: corepack could not prepare it; trying npm"',
    'fi',
    ENSURE_NPM,
    `echo "ssr-env: npm install -g ${npmPkg}"`,
    `npm install -g --no-audit --no-fund ${shellQuote(npmPkg)}`,
    `${nm.pm} --version`,
  ].join('\n');
}

/** Node dependencies: package.json + lockfile with its package manager, installed in /repo/node_modules. */
function nodeSteps(repoDir: string, notes: string[], copyFiles: string[], inputs: Record<string, string>, env: Record<string, string>): EnvStep[] {
  const nm = nodeManager(repoDir);
  if (!nm) return [];
  copyFiles.push('package.json');
  addFileInput(inputs, repoDir, 'package.json');
  const lock = nm.lock ?? NODE_LOCKS.find(([f]) => exists(repoDir, f))?.[0];
  if (lock) {
    copyFiles.push(lock);
    addFileInput(inputs, repoDir, lock);
  }
  for (const f of ['.npmrc', '.yarnrc', '.yarnrc.yml', 'pnpm-workspace.yaml']) {
    if (exists(repoDir, f)) {
      copyFiles.push(f);
      addFileInput(inputs, repoDir, f);
    }
  }
  // yarn 2+ may run the release the repository commits (yarnPath in .yarnrc.yml).
  if (exists(repoDir, '.yarnrc.yml')) {
    const yarnPath = /^yarnPath:\s*['"]?([^'"\s]+)/m.exec(readText(path.join(repoDir, '.yarnrc.yml')))?.[1];
    if (yarnPath && exists(repoDir, yarnPath) && !path.isAbsolute(yarnPath) && !yarnPath.split('/').includes('..')) {
      copyFiles.push(yarnPath);
      addFileInput(inputs, repoDir, yarnPath);
    }
  }
  const ensureNpm = { name: 'install npm (Debian)', run: ENSURE_NPM };
  if (nm.pm === 'npm') {
    const install = lock && nm.pm === 'npm' && /package-lock|shrinkwrap/.test(lock) ? 'npm ci --no-audit --no-fund' : 'npm install --no-audit --no-fund';
    return [ensureNpm, { name: 'install Node dependencies (npm)', run: install }];
  }
  if (nm.pm === 'bun') {
    notes.push('bun is not supported: npm installs from package.json (the lockfile is not used)');
    return [ensureNpm, { name: 'install Node dependencies (npm, for a bun project)', run: 'npm install --no-audit --no-fund' }];
  }
  const label = nm.pm === 'yarn' ? (nm.berry ? `yarn ${nm.version} (berry)` : `yarn ${nm.version} (classic)`) : `pnpm ${nm.version}`;
  notes.push(`${nm.pm} from ${nm.why}: installed at ${nm.version} and used for the install and the tests`);
  // Images built before SSR installed pnpm and yarn themselves (npm fell in) must not be reused.
  inputs['node-manager'] = `3:${nm.pm}@${nm.version}${nm.berry ? ':berry' : ''}`;
  // corepack keeps what it prepared here, in the image, for every user.
  env.COREPACK_HOME = '/usr/local/share/corepack';
  env.COREPACK_ENABLE_DOWNLOAD_PROMPT = '0';
  let install: string;
  if (nm.pm === 'pnpm') {
    install =
      (lock ? 'pnpm install --frozen-lockfile' : 'pnpm install') +
      ' --config.confirmModulesPurge=false\n' +
      // The store is not needed once node_modules is linked (same layer: hard links stay).
      'rm -rf "$(pnpm store path 2>/dev/null)" /root/.local/share/pnpm /root/.cache/pnpm 2>/dev/null || true';
  } else if (nm.berry) {
    install =
      // Install scripts of dependencies may need the network at run time; none is there later anyway.
      'export YARN_ENABLE_TELEMETRY=0 YARN_ENABLE_GLOBAL_CACHE=0\n' +
      '[ -n "$NODE_EXTRA_CA_CERTS" ] && export YARN_HTTPS_CA_FILE_PATH="$NODE_EXTRA_CA_CERTS"\n' +
      (lock ? 'yarn install --immutable' : 'yarn install') +
      '\nrm -rf /root/.yarn/berry/cache 2>/dev/null || true';
  } else {
    install = (lock ? 'yarn install --frozen-lockfile --non-interactive' : 'yarn install --non-interactive') + '\nyarn cache clean >/dev/null 2>&1 || true';
  }
  return [
    { name: `install ${label} (${nm.why.replace(/:.*/, '')})`, run: managerInstall(nm) },
    { name: `install Node dependencies (${nm.pm}${lock ? `, ${lock}` : ''})`, run: install },
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

/**
 * Installs Go from Debian's archive: golang-go when it is new enough, else
 * the oldest golang-1.NN-go (NN >= what go.mod needs) of the release or its
 * backports (added from the mirror the image's own apt sources name).
 */
export function goInstall(need: number): string {
  return [
    `need=${need}`,
    'have=$(go env GOVERSION 2>/dev/null | sed -n "s/^go1\\.\\([0-9]*\\).*/\\1/p")',
    'if [ -n "$have" ] && [ "$have" -ge "$need" ]; then go version; exit 0; fi',
    'export DEBIAN_FRONTEND=noninteractive',
    'apt-get update -qq',
    'if [ "$need" -le 19 ]; then apt-get install -y -qq --no-install-recommends golang-go ca-certificates >/dev/null; go version; exit 0; fi',
    // (set -e: the loop's last failed lookup must not end the step)
    'pick() { for v in $(seq "$need" 40); do if apt-cache show "golang-1.$v-go" >/dev/null 2>&1; then echo "$v"; return 0; fi; done; return 0; }',
    'v=$(pick)',
    'if [ -z "$v" ]; then',
    '  . /etc/os-release',
    '  uri=$(sed -n "s/^deb \\(\\[[^]]*\\] \\)\\?\\(http[^ ]*\\) .*/\\2/p" /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n1)',
    '  [ -n "$uri" ] || uri=$(sed -n "s/^URIs: *\\(http[^ ]*\\).*/\\1/p" /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)',
    '  if [ -n "$uri" ] && [ -n "$VERSION_CODENAME" ]; then',
    '    echo "ssr-env: adding $VERSION_CODENAME-backports from $uri for Go 1.$need"',
    '    echo "deb $uri $VERSION_CODENAME-backports main" > /etc/apt/sources.list.d/ssr-backports.list',
    '    apt-get update -qq',
    '    v=$(pick)',
    '  fi',
    'fi',
    'if [ -z "$v" ]; then echo "ssr-env: go.mod needs Go 1.$need; Debian\'s archive (and its backports) has no golang-1.$need-go or newer for this image. Use a devcontainer or Dockerfile that brings that Go."; exit 1; fi',
    'apt-get install -y -qq --no-install-recommends "golang-1.$v-go" ca-certificates',
    'ln -sf "/usr/lib/go-1.$v/bin/go" /usr/local/bin/go && ln -sf "/usr/lib/go-1.$v/bin/gofmt" /usr/local/bin/gofmt',
    'go version',
  ].join('\n');
}

/**
 * Go: Debian's golang-go (from the archive the image's apt sources name),
 * then the module's requirements into the module cache (`go mod download`)
 * unless the repository vendors them. The toolchain stays the image's own
 * (GOTOOLCHAIN=local): sandboxes have no network to fetch another.
 */
function goSteps(repoDir: string, notes: string[], copyFiles: string[], inputs: Record<string, string>, env: Record<string, string>): EnvStep[] {
  if (!exists(repoDir, 'go.mod')) return [];
  const files = ['go.mod', 'go.sum', 'go.work', 'go.work.sum'].filter((f) => exists(repoDir, f));
  for (const f of files) {
    copyFiles.push(f);
    addFileInput(inputs, repoDir, f);
  }
  const mod = readText(path.join(repoDir, 'go.mod'));
  const requires = /^\s*require\b/m.test(mod);
  const vendored = exists(repoDir, 'vendor/modules.txt');
  env.GOTOOLCHAIN = 'local';
  // The Go release go.mod asks for (`go 1.22`, `go 1.22.1`, or a newer `toolchain`): bookworm's golang-go is 1.19;
  // newer ones come as golang-1.NN-go from the same archive's backports.
  const minor = (re: RegExp) => Number(re.exec(mod)?.[1] ?? 0);
  const need = Math.max(minor(/^go\s+1\.(\d+)/m), minor(/^toolchain\s+go1\.(\d+)/m));
  const steps: EnvStep[] = [
    {
      name: need > 19 ? `install Go 1.${need} or newer (Debian golang-1.NN-go)` : 'install Go (Debian golang-go)',
      run: goInstall(need),
    },
  ];
  if (requires && !vendored) {
    notes.push('go.mod requires modules: `go mod download` fetches them while building (the module proxy must be reachable), else vendor them (go mod vendor)');
    steps.push({ name: 'download Go modules (go mod download)', run: 'go mod download -x 2>&1 | tail -50; go mod download' });
  } else if (vendored) {
    notes.push('Go modules come from vendor/ (offline)');
  }
  // Build the standard library's cache once, so each sandbox's first go test is quicker.
  steps.push({ name: 'warm the Go build cache', run: 'go build std >/dev/null 2>&1 || true' });
  return steps;
}

function recipe(repoDir: string, notes: string[], copyFiles: string[], inputs: Record<string, string>, env: Record<string, string>): EnvStep[] {
  return [...pythonSteps(repoDir, copyFiles, inputs), ...nodeSteps(repoDir, notes, copyFiles, inputs, env), ...goSteps(repoDir, notes, copyFiles, inputs, env)];
}

/** A feature's id for installsAfter/dependsOn matching: without a version tag or digest. */
function featureBaseId(key: string): string {
  return key.replace(/@sha256:.*$/, '').replace(/:[^/]*$/, '').replace(/\/$/, '');
}

/**
 * The Dev Container Features of a devcontainer.json, in install order:
 * `overrideFeatureInstallOrder` first, then each feature after the ones its
 * `installsAfter` and `dependsOn` name (when they are in the set), else in
 * declaration order. Local features ("./x", relative to .devcontainer/) are
 * read here: their options, containerEnv and files are inputs of the image.
 */
export function planFeatures(
  dcFile: string,
  dcDir: string,
  dc: Record<string, unknown>,
  inputs: Record<string, string>,
  env: Record<string, string>,
): FeaturePlan[] {
  const declared = (dc.features ?? {}) as Record<string, unknown>;
  const items: Array<FeaturePlan & { after: string[]; ids: string[] }> = [];
  for (const [key, options] of Object.entries(declared)) {
    if (options === false) continue;
    const local = key.startsWith('./') || key.startsWith('../');
    if (!local) {
      if (/^(https?:\/\/|\/)/.test(key) || key.endsWith('.tgz')) {
        throw new UsageError(
          `${dcFile}: the feature ${key} is a tarball URL or an absolute path; SSR installs local features ("./NAME" in .devcontainer/) ` +
            'and OCI references. Copy the feature into .devcontainer/ and name it "./NAME", or install it in a Dockerfile.',
        );
      }
      items.push({ key, remote: true, options, after: [], ids: [featureBaseId(key)] });
      inputs[`feature:${key}`] = JSON.stringify(options ?? null);
      continue;
    }
    const dir = path.resolve(dcDir, key);
    const metaFile = path.join(dir, 'devcontainer-feature.json');
    if (!fs.existsSync(metaFile) || !fs.existsSync(path.join(dir, 'install.sh'))) {
      throw new UsageError(
        `${dcFile}: the local feature ${key} needs ${path.relative(path.dirname(dcDir), metaFile)} and install.sh next to it (${dir}).`,
      );
    }
    const meta = readJsonc(metaFile) as { id?: string; containerEnv?: Record<string, string>; installsAfter?: string[]; dependsOn?: Record<string, unknown> };
    for (const [k, v] of Object.entries(meta.containerEnv ?? {})) env[k] = String(v);
    const files: string[] = [];
    const visit = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
        const f = path.join(d, e.name);
        if (e.isDirectory()) visit(f);
        else if (e.isFile()) files.push(f);
      }
    };
    visit(dir);
    for (const f of files) inputs[`feature:${key}:${path.relative(dir, f)}`] = fs.readFileSync(f).toString('base64');
    inputs[`feature:${key}`] = JSON.stringify(options ?? null);
    const after = [...(meta.installsAfter ?? []), ...Object.keys(meta.dependsOn ?? {})].map(featureBaseId);
    items.push({ key, dir, remote: false, options, after, ids: [featureBaseId(key), ...(meta.id ? [meta.id] : [])] });
  }
  const override = ((dc.overrideFeatureInstallOrder ?? []) as string[]).map(featureBaseId);
  const ordered: typeof items = [];
  for (const id of override) {
    const f = items.find((x) => x.ids.includes(id) && !ordered.includes(x));
    if (f) ordered.push(f);
  }
  const rest = items.filter((x) => !ordered.includes(x));
  const present = (id: string) => items.some((x) => x.ids.includes(id));
  while (rest.length) {
    const done = (id: string) => !present(id) || ordered.some((x) => x.ids.includes(id));
    let i = rest.findIndex((x) => x.after.every(done));
    if (i < 0) i = 0; // a cycle: declaration order
    ordered.push(rest.splice(i, 1)[0]);
  }
  return ordered.map(({ key, dir, remote, options }) => ({ key, dir, remote, options }));
}

/** Reads what the repository declares and plans its environment. */
export async function planEnvironment(repoDir: string, opts: PlanOptions): Promise<EnvPlan> {
  const notes: string[] = [];
  const copyFiles: string[] = [];
  const inputs: Record<string, string> = { format: String(ENV_FORMAT), base: opts.baseImage };
  const env: Record<string, string> = {};
  const base = { repoDir, copyFiles, notes, inputs, env, copyRepo: false, needsPyHelper: false };

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
    const features = dc.features && typeof dc.features === 'object' ? planFeatures(dcFile, dcDir, dc, inputs, env) : [];
    if (features.length) {
      plan.features = features;
      const remote = features.filter((f) => f.remote).map((f) => f.key);
      notes.push(
        `devcontainer features, installed in this order: ${features.map((f) => f.key).join(', ')}` +
          (remote.length ? `; the remote one(s) (${remote.join(', ')}) are fetched from their registry during the build, when its network reaches it` : ''),
      );
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
      plan.steps.push(...recipe(repoDir, notes, copyFiles, inputs, env));
      plan.needsPyHelper = plan.steps.some((s) => s.run.includes('ssr_env_py.py'));
    }
    for (const k of ['postStartCommand', 'postAttachCommand']) {
      if (dc[k]) notes.push(`${k} is not run: SSR builds an image, and sandboxes run without network`);
    }
    if (dc.containerEnv && typeof dc.containerEnv === 'object') {
      for (const [k, v] of Object.entries(dc.containerEnv as Record<string, unknown>)) env[k] = String(v);
    }
    // Features are installed first, as root, before the lifecycle commands (the spec's order).
    plan.steps.unshift(
      ...features.map((f, i) => ({
        name: `devcontainer feature ${f.key}${f.remote ? ' (fetch and install)' : ''}`,
        run: `python3 /ssr/env/ssr_features.py install ${i}`,
      })),
    );
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

  const steps = recipe(repoDir, notes, copyFiles, inputs, env);
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
