/**
 * Builds a repository's environment image from its plan: the user's own
 * Dockerfile first when there is one, then SSR's layer (the runner's needs,
 * the recipe or devcontainer steps). The network is used only here, while
 * building: the host's proxy variables go in as build arguments and the
 * host's CA bundle is handed to apt, npm, pip and Node for the build steps
 * only. Sandboxes started from the image keep `--network none`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type Docker from 'dockerode';
import * as tar from 'tar-fs';
import { docker, DEFAULT_IMAGE, DEFAULT_REPO_PATH, TEST_UID } from '../sandbox/docker';

/** Where sandboxes put the repository: dependencies are installed there, under it. */
const REPO = DEFAULT_REPO_PATH;
import { CancelledError, EnvironmentError } from '../base/errors';
import { imageName, planEnvironment, type EnvPlan, type EnvSource } from './plan';
import ENV_PY from './py/ssr_env_py.py';
import FEATURES_PY from './py/ssr_features.py';

export interface EnvResult {
  image: string;
  source: EnvSource;
  cached: boolean;
  declaredBy: string[];
  notes: string[];
  /** The full build log (empty when cached). */
  logFile?: string;
  durationMs: number;
}

export interface BuildOptions {
  repoDir: string;
  /** A Dockerfile named in the settings. */
  dockerfile?: string;
  baseImage?: string;
  /** Rebuild even when the image exists. */
  force?: boolean;
  signal?: AbortSignal;
  /** Each line of the build log, as it comes. */
  onLog?: (line: string) => void;
  /** The step now running (for progress displays). */
  onStep?: (step: string, index: number, total: number) => void;
}

/** A failed build: names the failing step and carries the end of its log. */
export class EnvironmentBuildError extends EnvironmentError {
  constructor(
    readonly step: string,
    readonly logTail: string,
    readonly logFile: string,
    detail: string,
  ) {
    super(
      `the environment build failed at step "${step}": ${detail}\n` +
        `--- last lines of the build log (full log: ${logFile}) ---\n${logTail}`,
    );
    this.name = 'EnvironmentBuildError';
  }
}

const PROXY_VARS = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'FTP_PROXY', 'ALL_PROXY'];
const CA_CANDIDATES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'];

/** The host's CA bundle (corporate networks intercept TLS with their own CA). */
export function hostCaBundle(): string | undefined {
  for (const f of [process.env.SSR_CA_BUNDLE, process.env.SSL_CERT_FILE, process.env.NODE_EXTRA_CA_CERTS, ...CA_CANDIDATES]) {
    if (f && fs.existsSync(f) && fs.statSync(f).isFile()) return f;
  }
  return undefined;
}

function proxyArgs(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of PROXY_VARS) {
    for (const name of [k, k.toLowerCase()]) {
      const v = process.env[name];
      if (v) out[name] = v;
    }
  }
  return out;
}

/** Where build logs go: never into the repository. */
export function logDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  const dir = path.join(base, 'ssr', 'env-logs');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

async function imageExists(d: Docker, name: string): Promise<boolean> {
  try {
    await d.getImage(name).inspect();
    return true;
  } catch {
    return false;
  }
}

async function imageId(d: Docker, name: string): Promise<string> {
  try {
    return (await d.getImage(name).inspect()).Id;
  } catch {
    throw new EnvironmentError(
      `the base image ${name} is not present in the Docker engine: ` +
        (name === DEFAULT_IMAGE ? 'build it with `npm run image:base` (no registry needed).' : 'build or load it first.'),
    );
  }
}

/** Plans with the engine's view of the images (the base image's id is an input). */
export async function planFor(opts: { repoDir: string; dockerfile?: string; baseImage?: string }): Promise<EnvPlan> {
  const d = docker();
  const baseImage = opts.baseImage ?? DEFAULT_IMAGE;
  const plan = await planEnvironment(opts.repoDir, { dockerfile: opts.dockerfile, baseImage, imageExists: (n) => imageExists(d, n) });
  plan.inputs.baseId = await imageId(d, baseImage);
  if (plan.fromImage && plan.fromImage !== baseImage) plan.inputs.fromId = await imageId(d, plan.fromImage);
  return plan;
}

/**
 * The repository's built environment, when there is one for what it
 * declares now (a changed manifest means no match until it is rebuilt).
 */
export async function findEnvironment(repoDir: string, opts: { dockerfile?: string } = {}): Promise<{ image: string; source: EnvSource } | undefined> {
  let plan: EnvPlan;
  try {
    plan = await planFor({ repoDir, dockerfile: opts.dockerfile });
  } catch {
    return undefined;
  }
  if (plan.source === 'base') return undefined;
  const image = imageName(plan);
  return (await imageExists(docker(), image)) ? { image, source: plan.source } : undefined;
}

const STEP_MARK = '==> ssr-step:';

/** The script of one step (written to the build context; no quoting through the Dockerfile's shell). */
function stepScript(step: { name: string; run: string }, withCa: boolean): string {
  const ca = withCa
    ? 'export NODE_EXTRA_CA_CERTS=/ssr/env/host-ca.crt npm_config_cafile=/ssr/env/host-ca.crt PIP_CERT=/ssr/env/host-ca.crt\n' +
      'export REQUESTS_CA_BUNDLE=/ssr/env/host-ca.crt SSL_CERT_FILE=/ssr/env/host-ca.crt GIT_SSL_CAINFO=/ssr/env/host-ca.crt\n'
    : '';
  return (
    '#!/usr/bin/env bash\n' +
    `# ${step.name.replace(/\n/g, ' ')}\n` +
    'set -e\n' +
    ca +
    // sudo in devcontainer commands: the build runs as root.
    'command -v sudo >/dev/null || sudo() { while [ "${1#-}" != "$1" ]; do shift; done; "$@"; }\n' +
    'export DEBIAN_FRONTEND=noninteractive\n' +
    `cd ${REPO}\n` +
    step.run +
    '\n'
  );
}

function runLine(step: { name: string }, index: number): string {
  const label = `${STEP_MARK} ${step.name.replace(/[^\w .,:;/@+=()*\-]/g, ' ')}`;
  return `RUN echo '${label}' && bash /ssr/env/steps/${index}.sh`;
}

/** SSR's layer: the runner's needs, the steps, the git excludes for installed folders. */
export function renderDockerfile(plan: EnvPlan, from: string, withCa: boolean): { dockerfile: string; scripts: string[] } {
  const lines = [
    `FROM ${from}`,
    'USER root',
    `WORKDIR ${REPO}`,
    'RUN mkdir -p /ssr/env',
  ];
  // devcontainer's ${containerEnv:X} is the engine's ${X} in ENV.
  for (const [k, v] of Object.entries(plan.env ?? {})) lines.push(`ENV ${k}=${JSON.stringify(v.replace(/\$\{containerEnv:(\w+)\}/g, '${$1}'))}`);
  if (withCa) lines.push('COPY host-ca.crt /ssr/env/host-ca.crt');
  if (plan.needsPyHelper) lines.push('COPY ssr_env_py.py /ssr/env/ssr_env_py.py');
  if (plan.features?.length) lines.push('COPY features/ /ssr/env/features/', 'COPY ssr_features.py /ssr/env/ssr_features.py');
  const scripts: string[] = [];
  const needs = {
    name: 'what the runner needs (bash, python3, git, patch)',
    run:
      'missing=""; for t in python3 git patch; do command -v $t >/dev/null || missing="$missing $t"; done; ' +
      'if [ -n "$missing" ]; then if command -v apt-get >/dev/null; then apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing ca-certificates >/dev/null; ' +
      'else echo "the image lacks:$missing (and has no apt-get to install them)"; exit 1; fi; fi',
  };
  lines.push('COPY steps/ /ssr/env/steps/');
  scripts.push(stepScript(needs, withCa));
  lines.push(runLine(needs, 0));
  if (plan.copyRepo) {
    lines.push(`COPY repo/ ${REPO}/`);
    lines.push('COPY repo-files.txt /ssr/env/repo-files.txt');
  } else if (plan.copyFiles.length) {
    lines.push(`COPY files/ ${REPO}/`);
  }
  for (const s of plan.steps) {
    scripts.push(stepScript(s, withCa));
    lines.push(runLine(s, scripts.length - 1));
  }
  // The repository is copied in again by every sandbox: leave only what the steps made.
  const cleanup: string[] = [];
  if (plan.copyRepo) cleanup.push(`tr "\\n" "\\0" < /ssr/env/repo-files.txt | (cd ${REPO} && xargs -0 -r rm -f --)`);
  else if (plan.copyFiles.length) cleanup.push(`cd ${REPO} && rm -f -- ${plan.copyFiles.map((f) => JSON.stringify(f)).join(' ')}`);
  // A lockfile the install wrote where the repository has none would look like a change of the repository.
  if (!plan.copyRepo && plan.copyFiles.includes('package.json') && !plan.copyFiles.includes('package-lock.json')) cleanup.push(`rm -f ${REPO}/package-lock.json`);
  cleanup.push('rm -rf /ssr/env/host-ca.crt /ssr/env/repo-files.txt /ssr/env/steps /ssr/env/features /ssr/env/ssr_features.py');
  // SSR's baseline commit must not take installed folders in.
  // (yarn 2+ Plug'n'Play keeps its install in .pnp.* and .yarn/ instead of node_modules/.)
  cleanup.push(
    'printf "node_modules/\\n__pycache__/\\n.venv/\\n.pnp.cjs\\n.pnp.loader.mjs\\n.pnp.data.json\\n.yarn/\\n" > /etc/ssr-gitignore && git config --system core.excludesFile /etc/ssr-gitignore',
  );
  cleanup.push('rm -rf /var/lib/apt/lists/* /root/.npm/_cacache 2>/dev/null || true');
  // What the steps installed in the working copy (node_modules, a virtualenv) belongs to the test user from the start:
  // the runner's hand-over before each run then has nothing to change, instead of copying every installed file up
  // through the overlay file system in each new container (7 s for ufo's 19,000 files).
  cleanup.push(`chown -R -h ${TEST_UID}:${TEST_UID} ${REPO}`);
  lines.push(`RUN ${cleanup.join(' && ')}`);
  lines.push('WORKDIR /');
  return { dockerfile: lines.join('\n') + '\n', scripts };
}

function walkRepo(repoDir: string): string[] {
  const skip = new Set(['.git', '.ssr', 'node_modules', '__pycache__', '.venv', '.tox', '.nox']);
  const out: string[] = [];
  const visit = (rel: string) => {
    for (const e of fs.readdirSync(path.join(repoDir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!skip.has(e.name)) visit(r);
      } else if (e.isFile() || e.isSymbolicLink()) out.push(r);
    }
  };
  visit('');
  return out;
}

/** A build context from a folder of the repository, without .git, .ssr and installed dependencies. */
function packContext(dir: string): NodeJS.ReadableStream {
  return tar.pack(dir, {
    ignore: (name: string) => {
      const rel = path.relative(dir, name).split(path.sep);
      return rel.includes('.git') || rel.includes('.ssr') || rel.includes('node_modules');
    },
  }) as unknown as NodeJS.ReadableStream;
}

interface BuildEvent {
  stream?: string;
  error?: string;
  errorDetail?: { message?: string };
  status?: string;
}

/** Runs one `docker build`, streaming its log; throws EnvironmentBuildError naming the step that failed. */
async function dockerBuild(
  d: Docker,
  context: NodeJS.ReadableStream,
  opts: { t: string; dockerfile?: string; buildargs?: Record<string, string>; target?: string; labels?: Record<string, string>; network?: string },
  log: fs.WriteStream,
  logFile: string,
  bo: BuildOptions,
  totalSteps: number,
  stepOffset: number,
  firstStepName: string,
): Promise<void> {
  const stream = await d.buildImage(context, {
    t: opts.t,
    dockerfile: opts.dockerfile,
    buildargs: opts.buildargs,
    target: opts.target,
    labels: opts.labels,
    rm: true,
    forcerm: true,
    networkmode: opts.network ?? 'default',
  } as Docker.ImageBuildOptions);
  let step = firstStepName;
  let stepIndex = stepOffset;
  const tail: string[] = [];
  const onLine = (raw: string) => {
    // The engine colours a step's stderr; the log and the error say it plainly.
    // eslint-disable-next-line no-control-regex
    const line = raw.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
    log.write(line + '\n');
    tail.push(line);
    if (tail.length > 60) tail.shift();
    bo.onLog?.(line);
    // The engine prints "Step N/M : RUN echo '==> ssr-step: NAME' && ..." before each step, cached or not.
    const m = /^Step \d+\/\d+ : RUN echo '==> ssr-step: (.*?)' && /.exec(line);
    if (m) {
      step = m[1].trim();
      bo.onStep?.(step, ++stepIndex, totalSteps);
    } else if (/^Step \d+\/\d+ : /.test(line)) {
      step = line.length > 140 ? line.slice(0, 137) + '...' : line;
    }
  };
  const onAbort = () => (stream as unknown as { destroy?: () => void }).destroy?.();
  bo.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      d.modem.followProgress(
        stream,
        (err: Error | null) => {
          if (buf) onLine(buf);
          if (bo.signal?.aborted) reject(new CancelledError());
          else if (err) reject(new EnvironmentBuildError(step, tail.join('\n'), logFile, err.message));
          else resolve();
        },
        (ev: BuildEvent) => {
          if (ev.stream) {
            buf += ev.stream;
            const parts = buf.split('\n');
            buf = parts.pop() ?? '';
            for (const p of parts) onLine(p.replace(/\r$/, ''));
          } else if (ev.status) onLine(ev.status);
          if (ev.error) {
            onLine(`ERROR: ${ev.error}`);
            reject(new EnvironmentBuildError(step, tail.join('\n'), logFile, ev.errorDetail?.message ?? ev.error));
          }
        },
      );
    });
  } finally {
    bo.signal?.removeEventListener('abort', onAbort);
    // The build's connection is ours: closed once the build is over, also when it failed midway.
    (stream as unknown as { destroy?: () => void }).destroy?.();
  }
}

/**
 * The build network: the engine's default bridge, or SSR_BUILD_NETWORK. When
 * the engine cannot attach a build container to its bridge (seen when the
 * bridge interface is gone), the build is retried once on the host network,
 * and says so; finished layers come from the engine's cache.
 */
async function buildWithFallback(run: (network: string) => Promise<void>, log: fs.WriteStream, onLog?: (l: string) => void): Promise<void> {
  const first = process.env.SSR_BUILD_NETWORK || 'default';
  try {
    await run(first);
  } catch (err) {
    if (first !== 'default' || !(err instanceof EnvironmentBuildError) || !/failed to create endpoint|bridge|network .* not found/i.test(err.message)) throw err;
    const msg = `ssr-env: the engine could not attach the build to its bridge network (${err.message.split('\n')[0].slice(0, 200)}); retrying on the host network`;
    log.write(msg + '\n');
    onLog?.(msg);
    await run('host');
  }
}

/**
 * Builds (or finds, when its inputs are unchanged) the environment image of
 * a repository. `source: 'base'` means nothing was declared: the base image
 * is used as it is.
 */
export async function buildEnvironment(bo: BuildOptions): Promise<EnvResult> {
  const started = Date.now();
  const d = docker();
  try {
    await d.ping();
  } catch (err) {
    throw new EnvironmentError(`no Docker engine is reachable (${(err as Error).message}); start one or set DOCKER_HOST.`);
  }
  const baseImage = bo.baseImage ?? DEFAULT_IMAGE;
  const plan = await planFor({ repoDir: bo.repoDir, dockerfile: bo.dockerfile, baseImage });
  if (plan.source === 'base') {
    return { image: baseImage, source: 'base', cached: true, declaredBy: [], notes: ['the repository declares no environment: the base image is used as it is', ...plan.notes], durationMs: Date.now() - started };
  }
  const image = imageName(plan);
  if (!bo.force && (await imageExists(d, image))) {
    return { image, source: plan.source, cached: true, declaredBy: plan.declaredBy, notes: plan.notes, durationMs: Date.now() - started };
  }
  const logFile = path.join(logDir(), `${image.replace(/[:/]/g, '_')}.log`);
  const log = fs.createWriteStream(logFile);
  const ctx = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-env-'));
  const labels = { 'ssr.env': '1', 'ssr.env.source': plan.source, 'ssr.env.repo': plan.repoDir };
  for (const kv of (process.env.SSR_LABELS ?? '').split(',')) {
    const i = kv.indexOf('=');
    if (i > 0) (labels as Record<string, string>)[kv.slice(0, i).trim()] = kv.slice(i + 1).trim();
  }
  const total = plan.steps.length + 1 + (plan.userBuild ? 1 : 0);
  try {
    let from = plan.fromImage ?? baseImage;
    let offset = 0;
    if (plan.userBuild) {
      const ub = plan.userBuild;
      const userTag = `${image.split(':')[0]}-user:${image.split(':')[1]}`;
      bo.onStep?.(`build ${path.relative(plan.repoDir, ub.dockerfile)}`, ++offset, total);
      await buildWithFallback(
        (network) =>
          dockerBuild(
            d,
            packContext(ub.context),
            { t: userTag, dockerfile: path.relative(ub.context, ub.dockerfile).split(path.sep).join('/'), buildargs: { ...proxyArgs(), ...ub.args }, target: ub.target, labels, network },
            log,
            logFile,
            bo,
            total,
            offset,
            `build ${path.relative(plan.repoDir, ub.dockerfile)}`,
          ),
        log,
        bo.onLog,
      );
      from = userTag;
    }
    const ca = hostCaBundle();
    if (ca) fs.copyFileSync(ca, path.join(ctx, 'host-ca.crt'));
    if (plan.needsPyHelper) fs.writeFileSync(path.join(ctx, 'ssr_env_py.py'), ENV_PY);
    if (plan.features?.length) {
      fs.writeFileSync(path.join(ctx, 'ssr_features.py'), FEATURES_PY);
      fs.mkdirSync(path.join(ctx, 'features'), { recursive: true });
      plan.features.forEach((f, i) => {
        const dest = path.join(ctx, 'features', String(i));
        if (f.dir) fs.cpSync(f.dir, dest, { recursive: true });
        else fs.mkdirSync(dest);
      });
      fs.writeFileSync(path.join(ctx, 'features', 'features.json'), JSON.stringify(plan.features.map((f) => ({ key: f.key, remote: f.remote, options: f.options ?? null }))));
    }
    if (plan.copyRepo) {
      const files = walkRepo(plan.repoDir);
      for (const f of files) {
        const dest = path.join(ctx, 'repo', f);
        fs.mkdirSync(path.dirname(dest), { recursive: true });
        fs.cpSync(path.join(plan.repoDir, f), dest, { verbatimSymlinks: true });
      }
      fs.mkdirSync(path.join(ctx, 'repo'), { recursive: true });
      fs.writeFileSync(path.join(ctx, 'repo-files.txt'), files.join('\n') + '\n');
    } else {
      for (const f of plan.copyFiles) {
        const dest = path.join(ctx, 'files', f);
        fs.mkdirSync(path.dirname(dest), { recursive: true });
        fs.copyFileSync(path.join(plan.repoDir, f), dest);
      }
    }
    const rendered = renderDockerfile(plan, from, Boolean(ca));
    fs.writeFileSync(path.join(ctx, 'Dockerfile'), rendered.dockerfile);
    fs.mkdirSync(path.join(ctx, 'steps'));
    rendered.scripts.forEach((text, i) => fs.writeFileSync(path.join(ctx, 'steps', `${i}.sh`), text));
    log.write(`# ssr env build: ${plan.source} from ${plan.declaredBy.join(', ') || 'nothing'}\n# ${image}\n`);
    await buildWithFallback(
      (network) =>
        dockerBuild(d, tar.pack(ctx) as unknown as NodeJS.ReadableStream, { t: image, buildargs: proxyArgs(), labels, network }, log, logFile, bo, total, offset, 'what the runner needs (bash, python3, git, patch)'),
      log,
      bo.onLog,
    );
    return { image, source: plan.source, cached: false, declaredBy: plan.declaredBy, notes: plan.notes, logFile, durationMs: Date.now() - started };
  } finally {
    await new Promise<void>((r) => log.end(r));
    fs.rmSync(ctx, { recursive: true, force: true });
  }
}
