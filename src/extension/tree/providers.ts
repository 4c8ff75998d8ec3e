/**
 * The three views' data providers. Nodes make their own items and children
 * (tree/nodes/); providers pick the roots and refresh when the runs model or
 * a job's live state changes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { listBugEntries } from '../../core/actions';
import { setContext } from '../state';
import { BugNode } from './nodes/bugNode';
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

export class BugsProvider extends NodeProvider {
  private shownRun?: string;

  override async getChildren(node?: TreeNode): Promise<TreeNode[]> {
    const out = await super.getChildren(node);
    const run = this.env.model.activeRunDir;
    if (!node && run !== this.shownRun) {
      this.shownRun = run;
      this.env.log?.info(`Bugs view: ${out.length} bug(s) of ${run ? path.basename(run) : '(no run)'} listed in ${Math.round(this.lastRootMs)} ms`);
    }
    return out;
  }

  protected async roots(): Promise<TreeNode[]> {
    const { model } = this.env;
    const run = model.activeRun;
    if (!model.repoDir || !run) {
      setContext('ssr.hasBugs', false);
      if (this.view) this.view.description = undefined;
      return [];
    }
    const bugs = await listBugEntries(run.dir);
    setContext('ssr.hasBugs', bugs.length > 0);
    if (this.view) this.view.description = `${run.id} · ${bugs.length} bug${bugs.length === 1 ? '' : 's'}`;
    if (!bugs.length) {
      if (run.state === 'unreadable') {
        return [new MessageNode(`bugs|${run.dir}|unreadable`, `Run ${run.id} cannot be read`, { icon: 'warning', tooltip: run.error, revealPath: path.join(run.dir, 'session.json') })];
      }
      if (this.env.jobs.isRunning(run.dir)) return [new MessageNode(`bugs|${run.dir}|busy`, 'Proposing a bug…', { icon: 'loading~spin', description: 'see the notification for progress' })];
      // Empty: the welcome content ("Inject Bug") shows.
      return [];
    }
    return bugs.map((b) => new BugNode(this.env, run.dir, b));
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
    if (this.view) this.view.description = run.id;
    return bugs.map((b) => new TrajectoryBugNode(this.env, run.dir, b));
  }
}
