/**
 * The three views' data providers. Nodes make their own items and children
 * (tree/nodes/); providers pick the roots and refresh when the runs model or
 * a job's live state changes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { listBugEntries, type BugEntry } from '../../core/selfplay/actions';
import { runName } from '../../core/report/data';
import { readSettings } from '../settings';
import { RunGroupNode, bugCount } from './nodes/runGroupNode';
import { setContext } from '../state';
import { BugNode, describeBug } from './nodes/bugNode';
import { MessageNode } from './nodes/messageNode';
import { SessionNode } from './nodes/sessionNode';
import { TrajectoryBugNode } from './nodes/trajectoryBugNode';
import type { NodeEnv, TreeNode } from './nodes/treeNode';

abstract class NodeProvider implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  protected readonly changed = new vscode.EventEmitter<TreeNode | undefined | void>();
  readonly onDidChangeTreeData = this.changed.event;
  view?: vscode.TreeView<TreeNode>;
  /** How long the last root listing took (the benchmark reads it from the log). */
  lastRootMs = 0;

  constructor(protected readonly env: NodeEnv) {}

  refresh(): void {
    this.changed.fire();
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    return node.getTreeItem();
  }

  async getChildren(node?: TreeNode): Promise<TreeNode[]> {
    if (node) return node.getChildren();
    const t0 = performance.now();
    const roots = await this.roots();
    this.lastRootMs = performance.now() - t0;
    return roots;
  }

  protected abstract roots(): Promise<TreeNode[]>;

  dispose(): void {
    this.changed.dispose();
  }
}

/**
 * The Bugs view spans every run of the workspace, grouped by run (newest
 * first, named for people); the run shown in the Trajectories view (or a
 * running one) is expanded. With no model configured and valid bugs to
 * solve, one line at the top says so and offers Configure Policy.
 */
export class BugsProvider extends NodeProvider {
  private groups = new Map<string, RunGroupNode>();
  private lastLogged = '';

  override async getChildren(node?: TreeNode): Promise<TreeNode[]> {
    const t0 = performance.now();
    const out = await super.getChildren(node);
    if (!node) {
      const sig = `${this.groups.size}`;
      if (sig !== this.lastLogged) {
        this.lastLogged = sig;
        this.env.log?.info(`Bugs view: ${this.groups.size} run(s) listed in ${Math.round(this.lastRootMs)} ms`);
      }
    }
    if (node instanceof RunGroupNode && node.runDir === this.env.model.activeRunDir) {
      this.env.log?.info(`Bugs view: ${out.length} bug(s) of ${path.basename(node.runDir)} listed in ${Math.round(performance.now() - t0)} ms`);
    }
    return out;
  }

  getParent(node: TreeNode): TreeNode | undefined {
    if (node instanceof BugNode) return this.groups.get(node.runDir);
    return undefined;
  }

  protected async roots(): Promise<TreeNode[]> {
    const { model } = this.env;
    this.groups = new Map();
    if (!model.repoDir || !model.runs.length) {
      setContext('ssr.hasBugs', false);
      if (this.view) this.view.description = undefined;
      return [];
    }
    const active = model.activeRunDir;
    const runs = model.runs.filter((r) => bugCount(r.dir) > 0 || this.env.jobs.isRunning(r.dir) || r.state === 'unreadable');
    let bugs = 0;
    const out: TreeNode[] = [];
    for (const r of runs) {
      const n = bugCount(r.dir);
      bugs += n;
      const g = new RunGroupNode(this.env, r, r.dir === active || this.env.jobs.isRunning(r.dir));
      this.groups.set(r.dir, g);
      out.push(g);
    }
    setContext('ssr.hasBugs', runs.length > 0);
    if (this.view) this.view.description = runs.length ? `${bugs} bug${bugs === 1 ? '' : 's'} in ${runs.length} run${runs.length === 1 ? '' : 's'}` : undefined;
    if (!runs.length) return [];
    const validUnsolved = runs.some((r) => (r.session?.counters?.validBugs ?? 0) > 0 && !r.session?.config.policy);
    if (readSettings().policyKind === 'bootstrap' && validUnsolved) {
      out.unshift(
        new MessageNode('bugs|no-model', 'Solving needs a model: Configure Policy', {
          icon: 'info',
          description: 'bugs are proposed and validated without one',
          tooltip: 'No model is configured, so SSR proposes and validates bugs but cannot solve them. Click to point SSR at an OpenAI-compatible server (vLLM, SGLang, Ollama, llama.cpp) or a local ONNX model.',
          command: { command: 'ssr.configurePolicy', title: 'Configure Policy' },
        }),
      );
    }
    return out;
  }

  /** Shows a bug in the view (expanding its run), e.g. a parent or child from the lineage. */
  async revealBug(runDir: string, bugId: string): Promise<void> {
    const dir = path.resolve(runDir);
    if (!this.groups.has(dir)) await this.getChildren();
    const group = this.groups.get(dir);
    if (!group || !this.view) return;
    const entry = (await listBugEntries(dir)).find((b) => b.id === bugId);
    if (!entry) {
      void vscode.window.showInformationMessage(`SSR: bug ${bugId} is not in run ${path.basename(dir)}.`);
      return;
    }
    await this.view.reveal(new BugNode(this.env, dir, entry), { select: true, focus: true, expand: true });
  }

  /** Shows a run's group expanded (Sessions view clicks). */
  async revealRun(runDir: string): Promise<void> {
    const dir = path.resolve(runDir);
    if (!this.groups.has(dir)) await this.getChildren();
    const group = this.groups.get(dir);
    if (group && this.view?.visible) await this.view.reveal(group, { select: false, focus: false, expand: true });
  }

  /** Asks for a bug of the workspace's runs (the shown run's first). */
  async pickBug(placeHolder: string, filter: (b: BugEntry) => boolean = () => true): Promise<{ runDir: string; bugId: string } | undefined> {
    const { model } = this.env;
    const runs = [...model.runs].sort((a, b) => (a.dir === model.activeRunDir ? -1 : b.dir === model.activeRunDir ? 1 : 0));
    const items: Array<vscode.QuickPickItem & { runDir?: string; bugId?: string }> = [];
    for (const r of runs) {
      const bugs = (await listBugEntries(r.dir)).filter((b) => b.record && filter(b));
      if (!bugs.length) continue;
      items.push({ label: r.session ? runName(r.session, r.id) : r.id, kind: vscode.QuickPickItemKind.Separator });
      for (const b of bugs) items.push({ label: b.id, description: describeBug(b.record!), runDir: r.dir, bugId: b.id });
    }
    if (!items.length) {
      void vscode.window.showInformationMessage('SSR: there is no bug yet. Inject one first.');
      return undefined;
    }
    const pick = await vscode.window.showQuickPick(items, { placeHolder });
    return pick?.runDir && pick.bugId ? { runDir: pick.runDir, bugId: pick.bugId } : undefined;
  }
}

export class SessionsProvider extends NodeProvider {
  protected async roots(): Promise<TreeNode[]> {
    if (!this.env.model.repoDir) return [];
    if (this.view) this.view.description = this.env.model.root ? path.relative(this.env.model.repoDir, this.env.model.root) || '.' : undefined;
    return this.env.model.runs.map((r) => new SessionNode(this.env, r));
  }
}

export class TrajectoriesProvider extends NodeProvider {
  protected async roots(): Promise<TreeNode[]> {
    const run = this.env.model.activeRun;
    if (!this.env.model.repoDir || !run) {
      setContext('ssr.hasTrajectories', false);
      return [];
    }
    const bugs = (await listBugEntries(run.dir)).filter((b) => fs.existsSync(path.join(b.dir, 'attempts')) || fs.existsSync(path.join(b.dir, 'injector.json')));
    setContext('ssr.hasTrajectories', bugs.length > 0);
    if (this.view) this.view.description = run.session ? runName(run.session, run.id) : run.id;
    return bugs.map((b) => new TrajectoryBugNode(this.env, run.dir, b));
  }
}
