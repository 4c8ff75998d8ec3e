/**
 * What the views show: the workspace's runs folder, its runs, the run the
 * Bugs and Trajectories views look at (the newest by default, or the one
 * picked in the Sessions view), and whether Docker answers. Changes on disk
 * (this window's sessions, the CLI in a terminal) arrive through a file
 * watcher and are coalesced; views refresh from here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { listRunEntries, runsRoot, type RunEntry } from '../core/selfplay/actions';
import { ensureEngineAndImage } from '../core/sandbox/docker';
import { dockerProblem, NoWorkspaceError, type DockerProblem } from './errors';
import type { Log } from './log';
import { readSettings } from './settings';

export type DockerState = 'unknown' | 'ok' | DockerProblem;

export function setContext(key: string, value: unknown): void {
  void vscode.commands.executeCommand('setContext', key, value);
}

/** The folder SSR works on: the first workspace folder on disk. */
export function workspaceDir(): string | undefined {
  const f = vscode.workspace.workspaceFolders?.find((w) => w.uri.scheme === 'file');
  return f?.uri.fsPath;
}

export function requireWorkspace(): string {
  const dir = workspaceDir();
  if (!dir) throw new NoWorkspaceError();
  return dir;
}

export class RunsModel implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires when the list of runs, the active run or anything inside a run changed. */
  readonly onDidChange = this.changed.event;
  runs: RunEntry[] = [];
  root?: string;
  repoDir?: string;
  private active?: string;
  private pinned = false;
  private watcher?: vscode.FileSystemWatcher;
  private timer?: NodeJS.Timeout;
  private poller?: NodeJS.Timeout;
  private lastSignature = '';
  private loading?: Promise<void>;
  docker: DockerState = 'unknown';
  private disposables: vscode.Disposable[] = [];

  constructor(
    private readonly log: Log,
    /** Remembers the run picked in the Sessions view across reloads. */
    private readonly memento?: vscode.Memento,
  ) {
    const picked = memento?.get<string>('ssr.activeRun');
    if (picked) {
      this.active = picked;
      this.pinned = true;
    }
    this.disposables.push(
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.configure()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('ssr.runsDirectory')) this.configure();
        if (e.affectsConfiguration('ssr.image')) void this.checkDocker();
      }),
    );
  }

  get activeRunDir(): string | undefined {
    return this.active;
  }

  get activeRun(): RunEntry | undefined {
    return this.runs.find((r) => r.dir === this.active);
  }

  /** (Re)reads the workspace and settings, sets up the watcher, loads runs. */
  configure(): Promise<void> {
    this.repoDir = undefined;
    this.root = undefined;
    this.watcher?.dispose();
    this.watcher = undefined;
    const ws = vscode.workspace.workspaceFolders?.find((w) => w.uri.scheme === 'file');
    setContext('ssr.hasWorkspace', Boolean(ws));
    if (ws) {
      this.repoDir = ws.uri.fsPath;
      this.root = runsRoot(this.repoDir, readSettings().runsDirectory);
      // Watch the run files that change what the views show. The runs folder may not exist yet:
      // inside the workspace, watch through the workspace folder (its watcher sees folders appear).
      const glob = '**/{session,bug,validation,evaluation,trajectory,injector}.json';
      const rel = path.relative(this.repoDir, this.root);
      const inside = rel && !rel.startsWith('..') && !path.isAbsolute(rel);
      const pattern = inside ? new vscode.RelativePattern(ws, `${rel.split(path.sep).join('/')}/${glob}`) : new vscode.RelativePattern(vscode.Uri.file(this.root), glob);
      this.watcher = vscode.workspace.createFileSystemWatcher(pattern);
      const poke = () => this.scheduleRefresh();
      this.watcher.onDidChange(poke);
      this.watcher.onDidCreate(poke);
      this.watcher.onDidDelete(poke);
      this.startPolling();
    }
    return this.refresh();
  }

  /**
   * A cheap check every few seconds (the runs folder's entries and their
   * session.json times) for file systems whose watcher misses changes.
   */
  private startPolling(): void {
    if (this.poller) return;
    this.poller = setInterval(() => {
      if (!this.root || this.timer || this.loading) return;
      const sig = this.signature();
      if (sig !== this.lastSignature) {
        this.lastSignature = sig;
        this.scheduleRefresh(0);
      }
    }, 4000);
    this.poller.unref?.();
  }

  private signature(): string {
    if (!this.root) return '';
    try {
      return fs
        .readdirSync(this.root)
        .map((n) => {
          try {
            return `${n}:${fs.statSync(path.join(this.root!, n, 'session.json')).mtimeMs}`;
          } catch {
            return n;
          }
        })
        .join('|');
    } catch {
      return '';
    }
  }

  /** Coalesces refreshes (a running session writes many files a second). */
  scheduleRefresh(delayMs = 300): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.refresh();
    }, delayMs);
  }

  async refresh(): Promise<void> {
    if (this.loading) {
      await this.loading;
    }
    this.loading = (async () => {
      this.lastSignature = this.signature();
      this.runs = this.root ? await listRunEntries(this.root) : [];
      // A run picked by hand stays shown while it exists; otherwise the newest is.
      if (!(this.pinned && this.runs.some((r) => r.dir === this.active))) {
        this.active = this.runs[0]?.dir;
        this.pinned = false;
      }
      setContext('ssr.hasRuns', this.runs.length > 0);
    })();
    try {
      await this.loading;
    } catch (err) {
      this.log.error(`reading the runs in ${this.root}: ${(err as Error).message}`);
    } finally {
      this.loading = undefined;
    }
    this.changed.fire();
  }

  /** Shows this run in the Bugs and Trajectories views. `pin`: keep it even when newer runs appear. */
  setActive(dir: string, pin = true): void {
    this.active = path.resolve(dir);
    this.pinned = pin;
    void this.memento?.update('ssr.activeRun', pin ? this.active : undefined);
    if (!this.runs.some((r) => r.dir === this.active)) {
      void this.refresh();
      return;
    }
    this.changed.fire();
  }

  /** A new run made in this window becomes the one shown. */
  followNewRun(dir: string): void {
    if (this.active === path.resolve(dir)) return;
    this.active = path.resolve(dir);
    this.pinned = true;
    void this.memento?.update('ssr.activeRun', this.active);
    void this.refresh();
  }

  /** Checks the engine and the image; sets the `ssr.docker` context key for the welcome views. */
  async checkDocker(): Promise<DockerState> {
    const image = readSettings().image || 'ssr-sandbox:bookworm';
    try {
      await Promise.race([
        ensureEngineAndImage(image),
        new Promise((_, reject) => setTimeout(() => reject(Object.assign(new Error('cannot reach a Docker engine (no answer in 8 s)'), { name: 'EnvironmentError' })), 8000)),
      ]);
      this.docker = 'ok';
    } catch (err) {
      this.docker = dockerProblem(err) ?? 'unreachable';
      this.log.warn(`Docker: ${(err as Error).message}`);
    }
    setContext('ssr.docker', this.docker);
    this.changed.fire();
    return this.docker;
  }

  setDocker(p: DockerState): void {
    this.docker = p;
    setContext('ssr.docker', p);
    this.changed.fire();
  }

  /** The repository a run was made from: its recorded folder when it still exists, else the workspace. */
  repoOf(run?: RunEntry): string | undefined {
    const rec = run?.session?.config?.repoDir;
    if (rec && fs.existsSync(rec)) return rec;
    return this.repoDir;
  }

  dispose(): void {
    this.watcher?.dispose();
    if (this.timer) clearTimeout(this.timer);
    if (this.poller) clearInterval(this.poller);
    this.changed.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
