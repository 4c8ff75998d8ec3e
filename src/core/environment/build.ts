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
import { docker, DEFAULT_IMAGE } from '../sandbox/docker';
import { EnvironmentError } from '../base/errors';
import { imageName, planEnvironment, type EnvPlan, type EnvSource } from './plan';
import { packContext, writeContext } from './buildContext';
import { NEEDS_STEP } from './dockerfile';
import { buildWithFallback, dockerBuild, type BuildProgress } from './dockerBuild';

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

/** The labels of the images a build makes: SSR's, and the ones SSR_LABELS adds (`k=v,k2=v2`). */
function buildLabels(plan: EnvPlan): Record<string, string> {
  const labels: Record<string, string> = { 'ssr.env': '1', 'ssr.env.source': plan.source, 'ssr.env.repo': plan.repoDir };
  for (const kv of (process.env.SSR_LABELS ?? '').split(',')) {
    const i = kv.indexOf('=');
    if (i > 0) labels[kv.slice(0, i).trim()] = kv.slice(i + 1).trim();
  }
  return labels;
}

/** What one build of the environment shares between its `docker build`s. */
interface BuildRun {
  d: Docker;
  plan: EnvPlan;
  image: string;
  labels: Record<string, string>;
  bo: BuildOptions;
  log: fs.WriteStream;
  logFile: string;
  total: number;
}

function progress(run: BuildRun, stepOffset: number, firstStepName: string): BuildProgress {
  const { bo } = run;
  return { log: run.log, logFile: run.logFile, signal: bo.signal, onLog: bo.onLog, onStep: bo.onStep, totalSteps: run.total, stepOffset, firstStepName };
}

/** The user's own Dockerfile, built first under its own tag: SSR's layer goes on top of it. */
async function buildUserImage(run: BuildRun, ub: NonNullable<EnvPlan['userBuild']>): Promise<string> {
  const { plan, image, bo } = run;
  const userTag = `${image.split(':')[0]}-user:${image.split(':')[1]}`;
  const name = `build ${path.relative(plan.repoDir, ub.dockerfile)}`;
  bo.onStep?.(name, 1, run.total);
  const dockerfile = path.relative(ub.context, ub.dockerfile).split(path.sep).join('/');
  await buildWithFallback(
    (network) =>
      dockerBuild(run.d, packContext(ub.context), { t: userTag, dockerfile, buildargs: { ...proxyArgs(), ...ub.args }, target: ub.target, labels: run.labels, network }, progress(run, 1, name)),
    run.log,
    bo.onLog,
  );
  return userTag;
}

/** SSR's layer on top of `from`: its context written to `ctx`, then built under the environment's name. */
async function buildLayer(run: BuildRun, ctx: string, from: string, offset: number): Promise<void> {
  const { plan, image } = run;
  writeContext(ctx, plan, from, hostCaBundle());
  run.log.write(`# ssr env build: ${plan.source} from ${plan.declaredBy.join(', ') || 'nothing'}\n# ${image}\n`);
  await buildWithFallback(
    (network) =>
      dockerBuild(run.d, tar.pack(ctx) as unknown as NodeJS.ReadableStream, { t: image, buildargs: proxyArgs(), labels: run.labels, network }, progress(run, offset, NEEDS_STEP.name)),
    run.log,
    run.bo.onLog,
  );
}

async function pingEngine(d: Docker): Promise<void> {
  try {
    await d.ping();
  } catch (err) {
    throw new EnvironmentError(`no Docker engine is reachable (${(err as Error).message}); start one or set DOCKER_HOST.`);
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
  await pingEngine(d);
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
  const total = plan.steps.length + 1 + (plan.userBuild ? 1 : 0);
  const run: BuildRun = { d, plan, image, labels: buildLabels(plan), bo, log, logFile, total };
  try {
    const from = plan.userBuild ? await buildUserImage(run, plan.userBuild) : (plan.fromImage ?? baseImage);
    await buildLayer(run, ctx, from, plan.userBuild ? 1 : 0);
    return { image, source: plan.source, cached: false, declaredBy: plan.declaredBy, notes: plan.notes, logFile, durationMs: Date.now() - started };
  } finally {
    await new Promise<void>((r) => log.end(r));
    fs.rmSync(ctx, { recursive: true, force: true });
  }
}
