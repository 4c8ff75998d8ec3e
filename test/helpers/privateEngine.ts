/**
 * A private Docker engine for tests that stop and restart one: its own
 * dockerd with its own socket, data root, exec root and pid file under a
 * temporary folder, no bridge and no iptables rules, so stopping it never
 * touches the machine's main engine (which other work uses). Needs root and
 * dockerd (Debian's docker.io, installed by scripts/install.sh).
 */
import { type ChildProcess, spawn, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';

export class PrivateEngine {
  private proc?: ChildProcess;
  private exited?: Promise<void>;
  readonly socket: string;
  readonly host: string;
  private readonly log: string;

  private constructor(readonly dir: string) {
    this.socket = path.join(dir, 'docker.sock');
    this.host = `unix://${this.socket}`;
    this.log = path.join(dir, 'dockerd.log');
  }

  /** A new engine folder (short, so the socket path fits a unix socket's limit). */
  static create(): PrivateEngine {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-engine-'));
    fs.writeFileSync(path.join(dir, 'daemon.json'), '{}\n'); // never the machine's /etc/docker/daemon.json
    return new PrivateEngine(dir);
  }

  client(): Docker {
    return new Docker({ socketPath: this.socket });
  }

  /** Starts dockerd and waits until it answers; fails with its log when it cannot start. */
  async start(): Promise<void> {
    const d = this.dir;
    const ns = `ssr-test-${path.basename(d)}`;
    const out = fs.openSync(this.log, 'a');
    this.proc = spawn(
      'dockerd',
      [
        '-H', this.host,
        '--data-root', path.join(d, 'data'),
        '--exec-root', path.join(d, 'exec'),
        '--pidfile', path.join(d, 'docker.pid'),
        '--config-file', path.join(d, 'daemon.json'),
        '--bridge=none', '--iptables=false', '--ip6tables=false',
        '--containerd-namespace', ns,
        '--containerd-plugins-namespace', `${ns}-plugins`,
      ],
      { stdio: ['ignore', out, out] },
    );
    fs.closeSync(out);
    const proc = this.proc;
    let failed: Error | undefined;
    this.exited = new Promise<void>((resolve) => {
      proc.on('error', (err) => {
        failed = err;
        resolve();
      });
      proc.on('exit', () => resolve());
    });
    const client = this.client();
    for (let i = 0; ; i++) {
      if (failed || proc.exitCode !== null) {
        throw new Error(`the private dockerd did not start (${failed?.message ?? `exit ${proc.exitCode}`}):\n${this.logTail()}`);
      }
      try {
        await client.ping();
        return;
      } catch {
        if (i > 600) throw new Error(`the private dockerd did not answer within 120 s:\n${this.logTail()}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** Stops dockerd the way a service manager does (SIGTERM: it stops its containers, then exits) and waits for it. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill(signal);
    const killer = setTimeout(() => this.proc?.kill('SIGKILL'), 90_000);
    await this.exited;
    clearTimeout(killer);
  }

  /** Copies an image of the main engine into this one. */
  loadImage(image: string): void {
    execFileSync('bash', ['-o', 'pipefail', '-c', `docker save "$1" | docker -H "$2" load`, 'load', image, this.host], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DOCKER_HOST: '' },
    });
  }

  /** Stops the engine and removes everything it had: processes, mounts, the folder. */
  async destroy(): Promise<void> {
    await this.stop();
    // A containerd that outlived its dockerd (a SIGKILL) still runs from the exec root.
    const pidFile = path.join(this.dir, 'exec', 'containerd', 'containerd.pid');
    if (fs.existsSync(pidFile)) {
      const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
      if (pid > 0) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    const mounts = fs
      .readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1])
      .filter((m) => m && m.startsWith(this.dir + '/'))
      .sort((a, b) => b.length - a.length);
    for (const m of mounts) execFileSync('umount', ['-l', m], { stdio: 'ignore' });
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  logTail(): string {
    try {
      return fs.readFileSync(this.log, 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '(no log)';
    }
  }
}
