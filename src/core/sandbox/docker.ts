/**
 * The Docker sandbox: one hardened container per sandbox, holding a copy of
 * the repository (copied in as a tar stream, never bind-mounted), with SSR's
 * Python runner as its main process. Commands travel as JSON lines over the
 * container's attached stdin/stdout, so a round trip costs a pipe write and a
 * fork, not an exec API call; when this process dies the runner sees EOF,
 * kills what it runs and exits, and the engine auto-removes the container.
 */
import Docker from 'dockerode';
import * as path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import * as readline from 'node:readline';
import * as tar from 'tar-fs';
import type { ExecOptions, ExecResult, JudgedRunOptions, JudgedRunResult, SandboxLike } from './types';
import { ignoreOutside, listRepoFiles } from './repoFiles';
import { DEFAULT_IMAGE, docker, removeContainer } from './engine';
import { containerSpec, createContainer, type SandboxOptions } from './container';
import { installSignalHandlers, isClosing, track, untrack } from './lifecycle';
import { joinCapped, type Pending, type RunnerMessage } from './runnerProtocol';
import { EnvironmentError, CancelledError, SandboxError } from '../base/errors';
import { span } from '../base/trace';

// The sandbox module's public face: what other stages import from here.
export { DEFAULT_IMAGE, LABEL, LABEL_HOST, LABEL_PID, docker, ensureEngineAndImage, envLabels, listSandboxes, pidAlive, reapStale } from './engine';
export type { SandboxLimits, SandboxOptions } from './container';
export { disposeAll, liveSandboxCount } from './lifecycle';
export { joinCapped } from './runnerProtocol';

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
 * The unprivileged user test scripts run as (the runner's TEST_UID, py/runner/ssr_common.py). Before a
 * run the runner hands the working copy over to it; environment images hand
 * their installed dependencies over at build time, so a fresh container does
 * not copy every file of node_modules up through the overlay file system.
 */
export const TEST_UID = 61001;
export const DEFAULT_TIMEOUT_MS = 120_000;
export const DEFAULT_OUTPUT_CAP = 1 << 20;

export class DockerSandbox implements SandboxLike {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private stdin?: NodeJS.WritableStream & { end(): void };
  /** The hijacked attach connection to the engine: this sandbox owns it and destroys it in dispose(). */
  private stream?: AttachStream;
  private lines?: readline.Interface;
  private disposed = false;
  private dead?: Error;
  private disposing?: Promise<void>;
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
    if (opts.signal?.aborted || isClosing()) throw new CancelledError();
    installSignalHandlers();
    const repoPath = opts.repoInImage ?? opts.repoPath ?? DEFAULT_REPO_PATH;
    const container = await createContainer(d, image, containerSpec(image, opts));
    const sb = new DockerSandbox(container, container.id.slice(0, 12), repoPath, image);
    track(sb);
    const onAbort = () => void sb.dispose().catch(() => undefined);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await sb.prepare(d, opts);
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

  /** Starts the runner and copies the repository in, side by side; or checks the image's repository. */
  private async prepare(d: Docker, opts: SandboxOptions): Promise<void> {
    // The copy goes in while the container starts: the engine accepts archives either way.
    const copy = opts.repoDir && !opts.repoInImage ? span('sandbox.copy', () => this.copyIn(opts.repoDir!, this.repoPath, opts.includeGit ?? false)) : undefined;
    const start = span('sandbox.start', () => this.attachAndStart(d)).then(() =>
      this.exec(
        `git config --global safe.directory '*' && git config --global user.email ssr@localhost && ` +
          `git config --global user.name ssr && git config --global init.defaultBranch main`,
        { timeoutMs: 30_000, cwd: '/' },
      ),
    );
    const [copied, started] = await Promise.allSettled([copy, start]);
    if (started.status === 'rejected') throw started.reason;
    if (copied.status === 'rejected') throw copied.reason;
    if (copy) return;
    const probe = await this.exec(`test -d '${this.repoPath}'`, { timeoutMs: 10_000, cwd: '/' });
    if (probe.exitCode !== 0) throw new EnvironmentError(`the image ${this.image} has no folder ${this.repoPath} (given as --repo-in-image).`);
  }

  private async attachAndStart(d: Docker): Promise<void> {
    const stream = (await this.container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })) as AttachStream;
    if (this.disposed) {
      // Disposed while the attach was on its way (a signal, a cancelled creation): nobody else will close it.
      stream.destroy();
      throw new SandboxLostError(`sandbox ${this.id} was removed while it was starting`);
    }
    this.stream = stream;
    this.stdin = stream;
    // Named for scripts/handle-report.cjs: a connection left open says whose it is.
    (stream as unknown as Record<symbol, string>)[Symbol.for('ssr.handle')] = `engine attach of sandbox ${this.id}`;
    const ready = new Promise<void>((resolve, reject) => {
      this.pending.set(0, {
        resolve: (m) => (m.error ? reject(new EnvironmentError(`the image ${this.image} cannot host SSR's runner: ${m.error}`)) : resolve()),
        reject,
      });
    });
    const stderr = this.listen(d, stream);
    await this.container.start();
    const timer = setTimeout(
      () => this.fail(new SandboxError(`sandbox ${this.id} did not start its runner within 60 s (does ${this.image} have python3?)`)),
      60_000,
    );
    try {
      await ready;
    } catch (e) {
      if (/python3|executable file not found|no such file/i.test((e as Error).message + stderr())) {
        throw new EnvironmentError(`the image ${this.image} has no python3, which SSR's in-container runner needs.`);
      }
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Reads the runner's answers off the attach stream (stdout: JSON lines, each resolving its request) and
   * fails the sandbox when the stream ends or breaks. Returns the end of what the runner wrote to stderr.
   */
  private listen(d: Docker, stream: AttachStream): () => string {
    const out = new PassThrough();
    const err = new PassThrough();
    d.modem.demuxStream(stream, out, err);
    let errText = '';
    err.on('data', (c: Buffer) => {
      errText = (errText + c.toString('utf8')).slice(-4000);
    });
    this.lines = readline.createInterface({ input: out, crlfDelay: Infinity });
    this.lines.on('line', (line) => this.answer(line));
    stream.on('end', () => this.fail(new SandboxLostError(`sandbox ${this.id} stopped${errText ? `: ${errText.trim()}` : ''}`)));
    stream.on('error', (e: Error) => this.fail(new SandboxLostError(`sandbox ${this.id} connection failed: ${e.message}`)));
    return () => errText;
  }

  /** One line from the runner: the answer to a pending request, or not ours. */
  private answer(line: string): void {
    let msg: RunnerMessage;
    try {
      msg = JSON.parse(line) as RunnerMessage;
    } catch {
      return;
    }
    if (msg.id === null || msg.id === undefined) return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    p.resolve(msg);
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
      ...(opts.ownRepo ? { own: this.repoPath } : {}),
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

  /**
   * Removes the container and closes the connection. Every call waits for
   * the one removal: a cancelled creation disposes from its abort listener
   * and again from its catch, and the caller must not go on (and report no
   * container left) before the engine has removed it.
   */
  dispose(): Promise<void> {
    this.disposing ??= this.disposeOnce();
    return this.disposing;
  }

  private async disposeOnce(): Promise<void> {
    this.disposed = true;
    untrack(this);
    try {
      this.stdin?.end();
    } catch {
      /* ignore */
    }
    try {
      await removeContainer(this.container);
    } finally {
      // The connection is ours to close, whatever the engine did with the container: an engine that
      // removed it (or found it gone, or was removing it already) does not always close a hijacked
      // attach, and an open one keeps this process alive forever.
      this.closeConnection();
      for (const [, p] of this.pending) p.reject(new SandboxLostError(`sandbox ${this.id} was removed`));
      this.pending.clear();
    }
  }

  private closeConnection(): void {
    this.lines?.close();
    const stream = this.stream;
    if (!stream) return;
    stream.removeAllListeners('data');
    // Errors after this point are the closing's own: keep one listener so none goes unhandled.
    stream.removeAllListeners('error');
    stream.on('error', () => undefined);
    stream.removeAllListeners('end');
    stream.destroy();
  }
}

/** A hijacked attach connection: a duplex socket to the engine. */
type AttachStream = NodeJS.ReadWriteStream & { end(): void; destroy(): void; removeAllListeners(event?: string): unknown };
