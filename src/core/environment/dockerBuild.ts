/**
 * One `docker build` through the engine's API: its log streamed to a file
 * and to the caller line by line, the step now running read from the
 * markers SSR's RUN lines echo, and a failure named by its step
 * (EnvironmentBuildError); retried once on the host network when the engine
 * cannot attach the build to its bridge.
 */
import type * as fs from 'node:fs';
import type Docker from 'dockerode';
import { CancelledError, EnvironmentError } from '../base/errors';

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

interface BuildEvent {
  stream?: string;
  error?: string;
  errorDetail?: { message?: string };
  status?: string;
}

/** What one `docker build` is asked for. */
export interface DockerBuildRequest {
  t: string;
  dockerfile?: string;
  buildargs?: Record<string, string>;
  target?: string;
  labels?: Record<string, string>;
  network?: string;
}

/** Where one build's log and progress go. */
export interface BuildProgress {
  log: fs.WriteStream;
  logFile: string;
  signal?: AbortSignal;
  onLog?: (line: string) => void;
  onStep?: (step: string, index: number, total: number) => void;
  /** Steps in the whole environment build, and how many came before this build. */
  totalSteps: number;
  stepOffset: number;
  /** The step named in an error before the log names one. */
  firstStepName: string;
}

/** Reads the build log line by line: writes it out, keeps its end, follows the step now running. */
function logReader(p: BuildProgress): { onLine: (raw: string) => void; fail: (detail: string) => EnvironmentBuildError } {
  let step = p.firstStepName;
  let stepIndex = p.stepOffset;
  const tail: string[] = [];
  const onLine = (raw: string) => {
    // The engine colours a step's stderr; the log and the error say it plainly.
    // eslint-disable-next-line no-control-regex
    const line = raw.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
    p.log.write(line + '\n');
    tail.push(line);
    if (tail.length > 60) tail.shift();
    p.onLog?.(line);
    // The engine prints "Step N/M : RUN echo '==> ssr-step: NAME' && ..." before each step, cached or not.
    const m = /^Step \d+\/\d+ : RUN echo '==> ssr-step: (.*?)' && /.exec(line);
    if (m) {
      step = m[1].trim();
      p.onStep?.(step, ++stepIndex, p.totalSteps);
    } else if (/^Step \d+\/\d+ : /.test(line)) {
      step = line.length > 140 ? line.slice(0, 137) + '...' : line;
    }
  };
  return { onLine, fail: (detail) => new EnvironmentBuildError(step, tail.join('\n'), p.logFile, detail) };
}

/** Follows the build's event stream to its end: resolves when it finished, rejects naming the step that failed. */
function follow(d: Docker, stream: NodeJS.ReadableStream, p: BuildProgress): Promise<void> {
  const { onLine, fail } = logReader(p);
  return new Promise<void>((resolve, reject) => {
    let buf = '';
    d.modem.followProgress(
      stream,
      (err: Error | null) => {
        if (buf) onLine(buf);
        if (p.signal?.aborted) reject(new CancelledError());
        else if (err) reject(fail(err.message));
        else resolve();
      },
      (ev: BuildEvent) => {
        if (ev.stream) {
          buf += ev.stream;
          const parts = buf.split('\n');
          buf = parts.pop() ?? '';
          for (const part of parts) onLine(part.replace(/\r$/, ''));
        } else if (ev.status) onLine(ev.status);
        if (ev.error) {
          onLine(`ERROR: ${ev.error}`);
          reject(fail(ev.errorDetail?.message ?? ev.error));
        }
      },
    );
  });
}

/** Runs one `docker build`, streaming its log; throws EnvironmentBuildError naming the step that failed. */
export async function dockerBuild(d: Docker, context: NodeJS.ReadableStream, req: DockerBuildRequest, p: BuildProgress): Promise<void> {
  const stream = await d.buildImage(context, {
    t: req.t,
    dockerfile: req.dockerfile,
    buildargs: req.buildargs,
    target: req.target,
    labels: req.labels,
    rm: true,
    forcerm: true,
    networkmode: req.network ?? 'default',
  } as Docker.ImageBuildOptions);
  const onAbort = () => (stream as unknown as { destroy?: () => void }).destroy?.();
  p.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await follow(d, stream, p);
  } finally {
    p.signal?.removeEventListener('abort', onAbort);
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
export async function buildWithFallback(run: (network: string) => Promise<void>, log: fs.WriteStream, onLog?: (l: string) => void): Promise<void> {
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
