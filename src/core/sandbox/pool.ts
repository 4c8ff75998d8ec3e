/**
 * A pool of up to K workers over the same repository, each prepared once
 * (copy, baseline, setup hook) and reused for many states, so a validation
 * pays for preparation once, in parallel, not once per test run.
 *
 * Each worker is a container of its own: test runs that happen at the same
 * time never share a writable /tmp, a home folder, a working copy, the
 * loopback interface (a suite that binds a fixed port) or the test user whose
 * processes are all killed when a run ends.
 */
import { DockerSandbox, type SandboxOptions } from './docker';
import type { SandboxLike } from './types';
import { CancelledError } from '../base/errors';

export class SandboxPool {
  private readonly idle: SandboxLike[] = [];
  private readonly containers: DockerSandbox[] = [];
  /** Workers made or being made. */
  private workers = 0;
  /** Workers being made (not yet handed out or idle). */
  private starting = 0;
  private readonly waiters: Array<{ resolve: (sb: SandboxLike) => void; reject: (err: Error) => void }> = [];
  private closed = false;
  private failure?: Error;
  private pending = 0;

  constructor(
    private readonly size: number,
    private readonly options: SandboxOptions,
    /** Prepares a fresh container (baseline, files); runs once per container. */
    private readonly setup: (sb: DockerSandbox) => Promise<void>,
  ) {}

  /** Prepares `n` workers now, in parallel where the layout allows, instead of on first use. */
  warm(n = this.size): void {
    const want = Math.min(n, this.size) - this.workers;
    if (want <= 0) return;
    for (let i = 0; i < want; i++) this.spawnContainer();
  }

  private track(p: Promise<void>): void {
    this.pending++;
    void p.finally(() => {
      this.pending--;
      // Nobody can be served if no worker exists and none is coming.
      if (this.failure && this.idle.length === 0 && this.pending === 0 && this.workers === 0) {
        for (const w of this.waiters.splice(0)) w.reject(this.failure);
      }
    });
  }

  private async newContainer(): Promise<DockerSandbox> {
    const sb = await DockerSandbox.create(this.options);
    try {
      await this.setup(sb);
    } catch (err) {
      await sb.dispose();
      throw err;
    }
    if (this.closed) {
      await sb.dispose();
      throw new CancelledError('the sandbox pool is closed');
    }
    this.containers.push(sb);
    return sb;
  }

  private spawnContainer(): void {
    this.workers++;
    this.starting++;
    this.track(
      this.newContainer().then(
        (sb) => {
          this.starting--;
          this.release(sb);
        },
        (err) => {
          this.starting--;
          this.workers--;
          this.failure ??= err as Error;
        },
      ),
    );
  }

  private release(sb: SandboxLike): void {
    const w = this.waiters.shift();
    if (w) w.resolve(sb);
    else this.idle.push(sb);
  }

  private acquire(signal?: AbortSignal): Promise<SandboxLike> {
    if (this.closed) return Promise.reject(new CancelledError('the sandbox pool is closed'));
    const sb = this.idle.pop();
    if (sb) return Promise.resolve(sb);
    if (this.failure && this.workers === 0 && this.pending === 0) return Promise.reject(this.failure);
    // A worker on its way serves this caller: make another only when every coming one is spoken for.
    if (this.workers < this.size && this.waiters.length >= this.starting) this.warm(this.workers + 1);
    return new Promise<SandboxLike>((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new CancelledError());
      };
      const done = () => signal?.removeEventListener('abort', onAbort);
      const waiter = {
        resolve: (sb: SandboxLike) => (done(), resolve(sb)),
        reject: (err: Error) => (done(), reject(err)),
      };
      this.waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Runs fn with a worker of the pool; the worker goes back to the pool afterwards. */
  async use<T>(fn: (sb: SandboxLike) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const sb = await this.acquire(signal);
    try {
      return await fn(sb);
    } finally {
      if (sb instanceof DockerSandbox && !sb.alive) {
        // A lost container is replaced on the next acquire, never handed out again.
        this.workers--;
        const i = this.containers.indexOf(sb);
        if (i >= 0) this.containers.splice(i, 1);
        void sb.dispose().catch(() => undefined);
      } else if (!this.closed) this.release(sb);
    }
  }

  async dispose(): Promise<void> {
    this.closed = true;
    const err = new CancelledError('the sandbox pool is closed');
    for (const w of this.waiters.splice(0)) w.reject(err);
    await Promise.allSettled(this.containers.map((s) => s.dispose()));
  }
}
