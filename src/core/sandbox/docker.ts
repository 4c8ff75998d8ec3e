/**
 * The Docker sandbox: one hardened container per sandbox, holding a copy of
 * the repository (copied in as a tar stream, never bind-mounted), with SSR's
 * Python runner as its main process. Commands travel as JSON lines over the
 * container's attached stdin/stdout, so a round trip costs a pipe write and a
 * fork, not an exec API call; when this process dies the runner sees EOF,
 * kills what it runs and exits, and the engine auto-removes the container.
 */
import Docker from 'dockerode';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import * as readline from 'node:readline';
import * as tar from 'tar-fs';
import type { ExecOptions, ExecResult, JudgedRunOptions, JudgedRunResult, ReporterRecords, SandboxLike } from './types';
import { RUNNER_PY } from './runnerSource';
import { ignoreOutside, listRepoFiles } from './repoFiles';
import { EnvironmentError, CancelledError, SandboxError } from '../base/errors';
import { span } from '../base/trace';

export const DEFAULT_IMAGE = 'ssr-sandbox:bookworm';

/**
 * The sandbox itself went away (container stopped or removed, engine
 * connection lost, runner stopped answering), as opposed to an error the
 * runner reported for one request. Callers retry a lost sandbox's work on a
 * fresh one, and ask the engine whether it is the infrastructure's fault.
 */
export class SandboxLostError extends SandboxError {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxLostError';
  }
}
export const DEFAULT_REPO_PATH = '/repo';
/**
 * The unprivileged user test scripts run as (runner.py's TEST_UID). Before a
 * run the runner hands the working copy over to it; environment images hand
 * their installed dependencies over at build time, so a fresh container does
 * not copy every file of node_modules up through the overlay file system.
 */
export const TEST_UID = 61001;
export const DEFAULT_TIMEOUT_MS = 120_000;
export const DEFAULT_OUTPUT_CAP = 1 << 20;
export const LABEL = 'ssr.managed';
export const LABEL_PID = 'ssr.owner.pid';
export const LABEL_HOST = 'ssr.owner.host';

export interface SandboxLimits {
  /** Memory limit in bytes (swap is not added). Default 4 GiB. */
  memoryBytes?: number;
  /** Maximum processes in the container. Default 1024. */
  pidsLimit?: number;
  /** CPU limit in cores. Default: all cores of the host. */
  cpus?: number;
}

export interface SandboxOptions extends SandboxLimits {
  image?: string;
  /** Host folder copied into the container at repoPath. */
  repoDir?: string;
  /** The image already holds the repository at this path (SWE-bench style); nothing is copied. */
  repoInImage?: string;
  /** Where the repository lives in the container when copied. Default /repo. */
  repoPath?: string;
  /** Copy the repository's own .git (its history) too. Default false. */
  includeGit?: boolean;
  /** Extra labels, e.g. the run id. */
  labels?: Record<string, string>;
  /** Network mode. Default 'none'. */
  network?: string;
  signal?: AbortSignal;
  docker?: Docker;
}

/** Capabilities kept: what running a test suite as root inside a throwaway container needs. */
const KEPT_CAPS = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID'];

/** Extra labels from SSR_LABELS="key=value,key2=value2" (to tag a CI job's or a test run's containers). */
export function envLabels(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (process.env.SSR_LABELS ?? '').split(',')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

let sharedDocker: { host: string | undefined; client: Docker } | undefined;
/** The engine client: one per value of DOCKER_HOST (re-read on each call, so a changed DOCKER_HOST is honoured). */
export function docker(): Docker {
  // dockerode reads DOCKER_HOST (tcp or unix, podman's socket too) or uses /var/run/docker.sock.
  const host = process.env.DOCKER_HOST;
  if (!sharedDocker || sharedDocker.host !== host) sharedDocker = { host, client: new Docker() };
  return sharedDocker.client;
}

function engineHint(): string {
  const where = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  return (
    `cannot reach a Docker engine at ${where}. Start one (Debian: \`apt-get install docker.io && dockerd &\`, ` +
    `or Docker Desktop / podman with its Docker-compatible socket) or point DOCKER_HOST at it.`
  );
}

/** Throws an EnvironmentError that says how to fix it when the engine or the image is missing. */
export async function ensureEngineAndImage(image: string, d: Docker = docker()): Promise<void> {
  try {
    await d.ping();
  } catch (err) {
    throw new EnvironmentError(`${engineHint()} (${(err as Error).message})`);
  }
  try {
    await d.getImage(image).inspect();
  } catch {
    const hint =
      image === DEFAULT_IMAGE
        ? 'build it with `npm run image:base` (no registry needed)'
        : `build or load it first (\`docker images ${image.split(':')[0]}\` lists what the engine has)`;
    throw new EnvironmentError(`the sandbox image ${image} is not present in the Docker engine: ${hint}.`);
  }
}

interface Pending {
  resolve: (msg: RunnerMessage) => void;
  reject: (err: Error) => void;
}

/** A command's stdout and stderr as the runner keeps them: head and tail (base64) and the byte counts. */
interface CapturedOutput {
  code?: number | null;
  timedOut?: boolean;
  outHead?: string;
  outTail?: string;
  outTotal?: number;
  errHead?: string;
  errTail?: string;
  errTotal?: number;
}

interface RunnerMessage extends CapturedOutput {
  id: number | null;
  error?: string;
  ready?: boolean;
  signal?: number | null;
  ms?: number;
  data?: string;
  ok?: boolean;
  /** testrun: the script's exit code, the log's size and end, the parser's output. */
  scriptCode?: number | null;
  logTotal?: number;
  logTail?: string;
  parser?: CapturedOutput;
  /** testrun: the judge's reporter's records (null when no pytest loaded it). */
  reporter?: ReporterRecords | null;
}

/** Sandboxes of this process still alive: removed on SIGINT/SIGTERM and by disposeAll(). */
const live = new Set<DockerSandbox>();
/**
 * Containers the engine is creating right now: a signal that arrives while a
 * creation is in flight must remove that container too, or it stays behind
 * in the Created state (auto-removal applies only once a container ran).
 */
const creating = new Set<Promise<Docker.Container>>();
let signalHandlersInstalled = false;
/** A signal is taking the process down: no new container is made. */
let closing = false;

function installSignalHandlers(): void {
  if (signalHandlersInstalled) return;
  signalHandlersInstalled = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      closing = true;
      void disposeAll().finally(() => {
        // Re-raise with the default behaviour once our containers are gone.
        process.kill(process.pid, sig);
      });
    });
  }
}

export async function disposeAll(): Promise<void> {
  await Promise.allSettled([...live].map((s) => s.dispose()));
  // Creations already sent to the engine: remove what they make (until none is left in flight).
  while (creating.size) {
    await Promise.allSettled(
      [...creating].map(async (p) => {
        const c = await p;
        await c.remove({ force: true }).catch(() => undefined);
      }),
    );
  }
}

export function liveSandboxCount(): number {
  return live.size;
}

/** Joins the two halves the runner kept, with a marker for what was cut. */
export function joinCapped(headB64: string, tailB64: string, total: number): { text: string; truncated: boolean } {
  const head = Buffer.from(headB64, 'base64');
  const tail = Buffer.from(tailB64, 'base64');
  const kept = head.length + tail.length;
  if (total <= kept) return { text: Buffer.concat([head, tail]).toString('utf8'), truncated: false };
  const cut = total - kept;
  return {
    text: `${head.toString('utf8')}\n[... ${cut} bytes of output cut by SSR ...]\n${tail.toString('utf8')}`,
    truncated: true,
  };
}

export class DockerSandbox implements SandboxLike {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private stdin?: NodeJS.WritableStream & { end(): void };
  private disposed = false;
  private dead?: Error;
  private constructor(
    private readonly container: Docker.Container,
    readonly id: string,
    readonly repoPath: string,
    readonly image: string,
  ) {}

  /** Starts a container and copies the repository in. Always removes the container if anything fails. */
  static async create(opts: SandboxOptions): Promise<DockerSandbox> {
    return span('sandbox.create', () => DockerSandbox.createUntraced(opts), { image: opts.image ?? DEFAULT_IMAGE });
  }

  private static async createUntraced(opts: SandboxOptions): Promise<DockerSandbox> {
    const d = opts.docker ?? docker();
    const image = opts.image ?? DEFAULT_IMAGE;
    if (!opts.repoDir && !opts.repoInImage) throw new Error('a sandbox needs repoDir or repoInImage');
    if (opts.signal?.aborted || closing) throw new CancelledError();
    installSignalHandlers();
    const repoPath = opts.repoInImage ?? opts.repoPath ?? DEFAULT_REPO_PATH;
    let container: Docker.Container;
    try {
      const made = d.createContainer({
        Image: image,
        Entrypoint: ['python3', '-u', '-c', RUNNER_PY],
        Cmd: [],
        WorkingDir: '/',
        Tty: false,
        OpenStdin: true,
        StdinOnce: true,
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
        Env: ['HOME=/root', 'LANG=C.UTF-8', 'PYTHONDONTWRITEBYTECODE=1', 'GIT_TERMINAL_PROMPT=0'],
        Labels: {
          [LABEL]: '1',
          [LABEL_PID]: String(process.pid),
          [LABEL_HOST]: os.hostname(),
          ...envLabels(),
          ...(opts.labels ?? {}),
        },
        HostConfig: {
          // A real init as PID 1 reaps orphans (a fork bomb's zombies would
          // otherwise hold the pids limit forever); the runner is its child.
          Init: true,
          AutoRemove: true,
          NetworkMode: opts.network ?? 'none',
          Memory: opts.memoryBytes ?? 4 * 1024 ** 3,
          MemorySwap: opts.memoryBytes ?? 4 * 1024 ** 3,
          PidsLimit: opts.pidsLimit ?? 1024,
          NanoCpus: Math.round((opts.cpus ?? os.cpus().length) * 1e9),
          CapDrop: ['ALL'],
          CapAdd: KEPT_CAPS,
          SecurityOpt: ['no-new-privileges'],
        },
      });
      creating.add(made);
      try {
        container = await made;
      } finally {
        creating.delete(made);
      }
    } catch (err) {
      const msg = (err as Error).message;
      if (/no such image|not found/i.test(msg)) {
        throw new EnvironmentError(
          `the sandbox image ${image} is not present in the Docker engine: ` +
            (image === DEFAULT_IMAGE ? 'build it with `npm run image:base`.' : 'build or load it first.'),
        );
      }
      if (/ECONNREFUSED|ENOENT|EACCES|socket/i.test(msg)) throw new EnvironmentError(`${engineHint()} (${msg})`);
      throw new SandboxError(`could not create a sandbox from ${image}: ${msg}`);
    }
    const sb = new DockerSandbox(container, container.id.slice(0, 12), repoPath, image);
    live.add(sb);
    const onAbort = () => void sb.dispose().catch(() => undefined);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      // The copy goes in while the container starts: the engine accepts archives either way.
      const copy = opts.repoDir && !opts.repoInImage ? span('sandbox.copy', () => sb.copyIn(opts.repoDir!, repoPath, opts.includeGit ?? false)) : undefined;
      const start = span('sandbox.start', () => sb.attachAndStart(d)).then(() =>
        sb.exec(
          `git config --global safe.directory '*' && git config --global user.email ssr@localhost && ` +
            `git config --global user.name ssr && git config --global init.defaultBranch main`,
          { timeoutMs: 30_000, cwd: '/' },
        ),
      );
      const [copied, started] = await Promise.allSettled([copy, start]);
      if (started.status === 'rejected') throw started.reason;
      if (copied.status === 'rejected') throw copied.reason;
      if (!copy) {
        const probe = await sb.exec(`test -d '${repoPath}'`, { timeoutMs: 10_000, cwd: '/' });
        if (probe.exitCode !== 0) {
          throw new EnvironmentError(`the image ${image} has no folder ${repoPath} (given as --repo-in-image).`);
        }
      }
      if (opts.signal?.aborted) throw new CancelledError();
      return sb;
    } catch (err) {
      await sb.dispose();
      if (opts.signal?.aborted) throw new CancelledError();
      throw err;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  private async attachAndStart(d: Docker): Promise<void> {
    const stream = (await this.container.attach({
      stream: true,
      stdin: true,
      stdout: true,
      stderr: true,
      hijack: true,
    })) as NodeJS.ReadWriteStream & { end(): void };
    this.stdin = stream;
    const out = new PassThrough();
    const err = new PassThrough();
    d.modem.demuxStream(stream, out, err);
    let errText = '';
    err.on('data', (c: Buffer) => {
      errText = (errText + c.toString('utf8')).slice(-4000);
    });
    const ready = new Promise<void>((resolve, reject) => {
      this.pending.set(0, {
        resolve: (m) => (m.error ? reject(new EnvironmentError(`the image ${this.image} cannot host SSR's runner: ${m.error}`)) : resolve()),
        reject,
      });
    });
    readline.createInterface({ input: out, crlfDelay: Infinity }).on('line', (line) => {
      let msg: RunnerMessage;
      try {
        msg = JSON.parse(line) as RunnerMessage;
      } catch {
        return; // not ours
      }
      if (msg.id === null || msg.id === undefined) return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      p.resolve(msg);
    });
    stream.on('end', () => this.fail(new SandboxLostError(`sandbox ${this.id} stopped${errText ? `: ${errText.trim()}` : ''}`)));
    stream.on('error', (e: Error) => this.fail(new SandboxLostError(`sandbox ${this.id} connection failed: ${e.message}`)));
    await this.container.start();
    const timer = setTimeout(
      () => this.fail(new SandboxError(`sandbox ${this.id} did not start its runner within 60 s (does ${this.image} have python3?)`)),
      60_000,
    );
    try {
      await ready;
    } catch (e) {
      const msg = (e as Error).message;
      if (/python3|executable file not found|no such file/i.test(msg + errText)) {
        throw new EnvironmentError(`the image ${this.image} has no python3, which SSR's in-container runner needs.`);
      }
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** False once the container stopped, was removed or stopped answering. */
  get alive(): boolean {
    return !this.dead && !this.disposed;
  }

  private fail(err: Error): void {
    this.dead ??= err;
    for (const [, p] of this.pending) p.reject(this.dead);
    this.pending.clear();
    if (!this.disposed) void this.dispose().catch(() => undefined);
  }

  private request(req: Record<string, unknown>, hostTimeoutMs?: number): Promise<RunnerMessage> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.disposed) return Promise.reject(new SandboxLostError(`sandbox ${this.id} was removed`));
    const id = this.nextId++;
    return new Promise<RunnerMessage>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      if (hostTimeoutMs) {
        // The runner enforces the command timeout itself; this is the backstop
        // for a runner that cannot kill what it started: then the container goes.
        timer = setTimeout(() => {
          this.fail(new SandboxLostError(`sandbox ${this.id} did not answer within ${hostTimeoutMs} ms; container removed`));
        }, hostTimeoutMs);
      }
      this.pending.set(id, {
        resolve: (m) => {
          if (timer) clearTimeout(timer);
          if (m.error) reject(new SandboxError(m.error));
          else resolve(m);
        },
        reject: (e) => {
          if (timer) clearTimeout(timer);
          reject(e);
        },
      });
      this.stdin!.write(JSON.stringify({ ...req, id }) + '\n');
    }).finally(() => this.pending.delete(id));
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    if (opts.signal?.aborted) throw new CancelledError();
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const started = Date.now();
    const req: Record<string, unknown> = {
      op: 'exec',
      cmd: command,
      cwd: opts.cwd ?? this.repoPath,
      env: opts.env,
      timeout: timeoutMs,
      cap: opts.maxOutputBytes ?? DEFAULT_OUTPUT_CAP,
      keepBackground: opts.keepBackground ?? false,
      user: opts.user ?? 'root',
    };
    if (opts.stdin !== undefined) req.stdin = Buffer.from(opts.stdin).toString('base64');
    const id = this.nextId; // the id request() will use
    const onAbort = () => {
      void this.request({ op: 'kill', target: id }).catch(() => undefined);
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const m = await this.request(req, timeoutMs + 30_000);
      if (opts.signal?.aborted) throw new CancelledError();
      const out = joinCapped(m.outHead ?? '', m.outTail ?? '', m.outTotal ?? 0);
      const err = joinCapped(m.errHead ?? '', m.errTail ?? '', m.errTotal ?? 0);
      return {
        exitCode: m.code ?? null,
        stdout: out.text,
        stderr: err.text,
        timedOut: Boolean(m.timedOut),
        truncated: out.truncated || err.truncated,
        durationMs: m.ms ?? Date.now() - started,
      };
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  async judgedRun(opts: JudgedRunOptions): Promise<JudgedRunResult> {
    if (opts.signal?.aborted) throw new CancelledError();
    const started = Date.now();
    const id = this.nextId; // the id request() will use
    const onAbort = () => {
      void this.request({ op: 'kill', target: id }).catch(() => undefined);
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const m = await this.request(
        {
          op: 'testrun',
          script: opts.script,
          parser: opts.parser,
          cwd: this.repoPath,
          timeout: opts.timeoutMs,
          parserTimeout: opts.parserTimeoutMs,
          cap: opts.parserOutputCap,
          tail: opts.tailBytes,
          protect: opts.protect ?? [],
          ...(opts.reporter ? { reporter: opts.reporter } : {}),
        },
        opts.timeoutMs + opts.parserTimeoutMs + 60_000,
      );
      if (opts.signal?.aborted) throw new CancelledError();
      const p = m.parser;
      const out = p ? joinCapped(p.outHead ?? '', p.outTail ?? '', p.outTotal ?? 0) : undefined;
      const err = p ? joinCapped(p.errHead ?? '', p.errTail ?? '', p.errTotal ?? 0) : undefined;
      return {
        scriptExitCode: m.scriptCode ?? null,
        timedOut: Boolean(m.timedOut),
        logBytes: m.logTotal ?? 0,
        logTail: Buffer.from(m.logTail ?? '', 'base64').toString('utf8'),
        parser:
          p && !m.timedOut
            ? { exitCode: p.code ?? null, timedOut: Boolean(p.timedOut), stdout: out!.text, stderr: err!.text, truncated: out!.truncated }
            : undefined,
        ...(m.reporter ? { reporter: m.reporter } : {}),
        durationMs: m.ms ?? Date.now() - started,
      };
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  private abs(p: string): string {
    return p.startsWith('/') ? p : path.posix.join(this.repoPath, p);
  }

  async writeFile(p: string, content: string | Buffer, mode?: number): Promise<void> {
    await this.request({ op: 'write', path: this.abs(p), data: Buffer.from(content).toString('base64'), mode }, 60_000);
  }

  async readFile(p: string): Promise<Buffer> {
    const m = await this.request({ op: 'read', path: this.abs(p) }, 60_000);
    return Buffer.from(m.data ?? '', 'base64');
  }

  /** Copies a host folder into the container as a tar stream (the user's folder is only read). */
  async copyIn(hostDir: string, targetPath: string, includeGit: boolean): Promise<void> {
    const prefix = targetPath.replace(/^\/+/, '').replace(/\/+$/, '');
    const root = path.resolve(hostDir);
    // Only what git shows, the dependency folders and what the user declared: never an ignored .env (repoFiles.ts).
    const files = await listRepoFiles(root, { includeGit });
    const pack = tar.pack(root, {
      ignore: ignoreOutside(root, files),
      map: (header) => {
        header.name = header.name === '.' ? prefix : `${prefix}/${header.name}`;
        header.uid = 0;
        header.gid = 0;
        return header;
      },
    });
    await this.container.putArchive(pack as unknown as Readable, { path: '/' });
  }

  /** Copies a tar stream into the container at a folder (created when missing). */
  async putArchive(tarStream: Readable, targetPath: string): Promise<void> {
    await this.exec(`mkdir -p '${targetPath}'`, { timeoutMs: 10_000, cwd: '/' });
    await this.container.putArchive(tarStream, { path: targetPath });
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    live.delete(this);
    try {
      this.stdin?.end();
    } catch {
      /* ignore */
    }
    // The engine can refuse a removal that races a start under load: try again.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.container.remove({ force: true });
        break;
      } catch (err) {
        const status = (err as { statusCode?: number }).statusCode;
        // 404: already gone (auto-remove won the race); 409: removal already in progress.
        if (status === 404 || status === 409) break;
        if (attempt >= 5) throw err;
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
      }
    }
    for (const [, p] of this.pending) p.reject(new SandboxLostError(`sandbox ${this.id} was removed`));
    this.pending.clear();
  }
}

/** Whether a process of this host is alive (a process we may not signal counts as alive). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes SSR containers left by processes of this host that are gone
 * (a crash, a kill -9). Containers of live processes are left alone.
 * Returns the ids removed.
 */
export async function reapStale(d: Docker = docker()): Promise<string[]> {
  const list = await d.listContainers({ all: true, filters: { label: [LABEL] } });
  const host = os.hostname();
  const stale = list.filter((c) => {
    const owner = Number(c.Labels[LABEL_PID]);
    if (c.Labels[LABEL_HOST] !== host) return false;
    return !owner || (owner !== process.pid && !pidAlive(owner));
  });
  await Promise.allSettled(stale.map((c) => d.getContainer(c.Id).remove({ force: true })));
  return stale.map((c) => c.Id.slice(0, 12));
}

/** Lists SSR containers, optionally only those carrying a label value. */
export async function listSandboxes(label?: Record<string, string>, d: Docker = docker()): Promise<string[]> {
  const filters = [LABEL, ...Object.entries(label ?? {}).map(([k, v]) => `${k}=${v}`)];
  const list = await d.listContainers({ all: true, filters: { label: filters } });
  return list.map((c) => c.Id.slice(0, 12));
}
