/**
 * A pool of up to K sandboxes over the same repository, each prepared once
 * (copy, baseline, setup hook) and reused for many states, so a validation
 * pays for container starts once, in parallel, not once per test run.
 */
import { DockerSandbox, type SandboxOptions } from './docker';
import { CancelledError } from '../errors';

export class SandboxPool {
  private readonly idle: DockerSandbox[] = [];
  private readonly all: DockerSandbox[] = [];
  private creating = 0;
  private readonly waiters: Array<(sb: DockerSandbox) => void> = [];
  private closed = false;
  private failure?: Error;
  private readonly failWaiters: Array<(err: Error) => void> = [];

  constructor(
    private readonly size: number,
    private readonly options: SandboxOptions,
    private readonly setup: (sb: DockerSandbox) => Promise<void>,
  ) {}

  /** Starts `n` sandboxes now, in parallel, instead of on first use. */
  warm(n = this.size): void {
    const want = Math.min(n, this.size) - this.all.length - this.creating;
    for (let i = 0; i < want; i++) this.spawn();
  }

  private spawn(): void {
    this.creating++;
    void (async () => {
      let sb: DockerSandbox | undefined;
      try {
        sb = await DockerSandbox.create(this.options);
        await this.setup(sb);
        this.creating--;
        if (this.closed) {
          await sb.dispose();
          return;
        }
        this.all.push(sb);
        this.release(sb);
      } catch (err) {
        this.creating--;
        await sb?.dispose();
        this.failure ??= err as Error;
        // Nobody can be served if no sandbox exists and none is coming.
        if (this.all.length === 0 && this.creating === 0) {
          for (const w of this.failWaiters.splice(0)) w(this.failure);
          this.waiters.length = 0;
        }
      }
    })();
  }

  private release(sb: DockerSandbox): void {
    const w = this.waiters.shift();
    if (w) {
      this.failWaiters.shift();
      w(sb);
    } else this.idle.push(sb);
  }

  private acquire(signal?: AbortSignal): Promise<DockerSandbox> {
    if (this.closed) return Promise.reject(new CancelledError('the sandbox pool is closed'));
    const sb = this.idle.pop();
    if (sb) return Promise.resolve(sb);
    if (this.failure && this.all.length === 0 && this.creating === 0) return Promise.reject(this.failure);
    if (this.all.length + this.creating < this.size) this.spawn();
    return new Promise<DockerSandbox>((resolve, reject) => {
      this.waiters.push(resolve);
      this.failWaiters.push(reject);
      signal?.addEventListener('abort', () => reject(new CancelledError()), { once: true });
    });
  }

  /** Runs fn with a sandbox of the pool; the sandbox goes back to the pool afterwards. */
  async use<T>(fn: (sb: DockerSandbox) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const sb = await this.acquire(signal);
    try {
      return await fn(sb);
    } finally {
      if (this.closed) await sb.dispose();
      else this.release(sb);
    }
  }

  async dispose(): Promise<void> {
    this.closed = true;
    const err = new CancelledError('the sandbox pool is closed');
    for (const w of this.failWaiters.splice(0)) w(err);
    this.waiters.length = 0;
    await Promise.allSettled(this.all.map((s) => s.dispose()));
  }
}
