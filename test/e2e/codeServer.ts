/**
 * A real VS Code for the end-to-end test: code-server (VS Code 1.100 served
 * to a browser, from npm; VS Code desktop cannot be downloaded offline),
 * installed by scripts/install-code-server.sh into .cache/code-server, with
 * the extension's .vsix installed into a throw-away extensions folder.
 * Every process started here runs in its own process group and is killed
 * with it; the sandboxes the extension starts carry a label unique to this
 * run (SSR_LABELS) and are removed at the end.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): string {
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, encoding: 'utf8', timeout: opts.timeoutMs ?? 900_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}${r.signal ? `, ${r.signal}` : ''}):\n${(r.stdout ?? '').slice(-3000)}\n${(r.stderr ?? '').slice(-3000)}`);
  }
  return r.stdout;
}

/** Installs code-server (idempotent) and returns its entry.js. */
export function ensureCodeServer(): string {
  const out = run('bash', [path.join(ROOT, 'scripts/install-code-server.sh')]);
  const entry = out.trim().split('\n').pop()!;
  if (!fs.existsSync(entry)) throw new Error(`install-code-server.sh did not give an entry.js (got ${entry})`);
  return entry;
}

/** Builds the .vsix with `npm run package` unless SSR_E2E_VSIX names one. */
export function buildVsix(): string {
  const given = process.env.SSR_E2E_VSIX;
  if (given) {
    if (!fs.existsSync(given)) throw new Error(`SSR_E2E_VSIX=${given} does not exist`);
    return path.resolve(given);
  }
  run('npm', ['run', '--silent', 'package'], { env: { ONNXRUNTIME_NODE_INSTALL: 'skip', NO_COLOR: '1' } });
  const vsix = path.join(ROOT, 'ssr-linux-x64.vsix');
  if (!fs.existsSync(vsix)) throw new Error(`npm run package made no ${vsix}`);
  return vsix;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface CodeServer {
  url: string;
  port: number;
  proc: ChildProcess;
  userDataDir: string;
  extensionsDir: string;
  logFile: string;
  label: string;
  stop(): Promise<void>;
}

/** Settings that keep dialogs and tours away from a test. */
export const TEST_SETTINGS = {
  'security.workspace.trust.enabled': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'update.mode': 'none',
  'telemetry.telemetryLevel': 'off',
  'window.commandCenter': true,
  'workbench.editor.enablePreview': true,
  'git.enabled': false,
  'ssr.concurrency': 2,
};

export async function startCodeServer(opts: { entry: string; vsix: string; workspace: string; tmp: string; label: string; env?: NodeJS.ProcessEnv; settings?: Record<string, unknown> }): Promise<CodeServer> {
  const userDataDir = path.join(opts.tmp, 'user-data');
  const extensionsDir = path.join(opts.tmp, 'extensions');
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  fs.writeFileSync(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify({ ...TEST_SETTINGS, ...(opts.settings ?? {}) }, null, 2));
  const config = path.join(opts.tmp, 'code-server.yaml');
  fs.writeFileSync(config, 'auth: none\ncert: false\n');
  const common = ['--config', config, '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];
  run(process.execPath, [opts.entry, ...common, '--install-extension', opts.vsix], { timeoutMs: 180_000 });
  const port = await freePort();
  const logFile = path.join(opts.tmp, 'code-server.log');
  const log = fs.openSync(logFile, 'a');
  const proc = spawn(
    process.execPath,
    [opts.entry, ...common, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override', opts.workspace],
    {
      cwd: opts.tmp,
      detached: true,
      stdio: ['ignore', log, log],
      env: { ...process.env, SSR_LABELS: `ssr.e2e=${opts.label}`, HOME: process.env.HOME ?? os.homedir(), VSCODE_PROXY_URI: '', ...(opts.env ?? {}) },
    },
  );
  fs.closeSync(log);
  const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(opts.workspace)}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`code-server exited (${proc.exitCode}); its log:\n${fs.readFileSync(logFile, 'utf8').slice(-3000)}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`code-server did not answer on port ${port} within 120 s; log:\n${fs.readFileSync(logFile, 'utf8').slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const stop = async () => {
    if (proc.exitCode === null && proc.pid) {
      try {
        process.kill(-proc.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
      const t0 = Date.now();
      while (proc.exitCode === null && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 200));
      try {
        process.kill(-proc.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await removeContainers(opts.label);
  };
  return { url, port, proc, userDataDir, extensionsDir, logFile, label: opts.label, stop };
}

/** Removes the sandboxes this test's extension host started (label ssr.e2e=<label>); returns how many were left. */
export async function removeContainers(label: string): Promise<number> {
  try {
    const Docker = (await import('dockerode')).default;
    const d = new Docker();
    const list = await d.listContainers({ all: true, filters: { label: [`ssr.e2e=${label}`] } });
    for (const c of list) await d.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    return list.length;
  } catch {
    return 0;
  }
}

/** Sandboxes of this test's extension host that exist now. */
export async function countContainers(label: string): Promise<number> {
  const Docker = (await import('dockerode')).default;
  const list = await new Docker().listContainers({ all: true, filters: { label: [`ssr.e2e=${label}`] } });
  return list.length;
}

/** Rewrites the user settings (code-server applies them at once). */
export function writeUserSettings(userDataDir: string, extra: Record<string, unknown>): void {
  fs.writeFileSync(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify({ ...TEST_SETTINGS, ...extra }, null, 2));
}

/** The "SSR" output channel's log files of every window session, in order, joined. */
export function outputLogs(userDataDir: string, name: string): string {
  const logs = path.join(userDataDir, 'logs');
  if (!fs.existsSync(logs)) return '';
  const found: string[] = [];
  const stack = [logs];
  while (stack.length) {
    const d = stack.pop()!;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.name.endsWith(`${name}.log`)) found.push(p);
    }
  }
  return found
    .sort()
    .map((f) => `=== ${path.relative(logs, f)}\n${fs.readFileSync(f, 'utf8')}`)
    .join('\n');
}
