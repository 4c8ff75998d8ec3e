import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { listAttempts, type BugEntry } from '../../../core/selfplay/actions';
import { AttemptNode } from './attemptNode';
import { InjectorNode } from './injectorNode';
import { TreeNode, icon, type NodeEnv } from './treeNode';

/** A bug in the Trajectories view: its injector episode (policy proposers) and its solver attempts. */
export class TrajectoryBugNode extends TreeNode {
  constructor(
    private readonly env: NodeEnv,
    readonly runDir: string,
    readonly entry: BugEntry,
  ) {
    super();
    this.revealPath = entry.dir;
  }

  getTreeItem(): vscode.TreeItem {
    const b = this.entry.record;
    const item = new vscode.TreeItem(this.entry.id, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `tbug|${this.runDir}|${this.entry.id}`;
    item.description = b ? (b.attempts !== undefined ? `${b.solved ?? 0}/${b.attempts} solved` : b.status) : 'bug.json is unreadable';
    item.iconPath = icon('bug');
    item.contextValue = 'ssr.trajectoryBug';
    item.tooltip = `Trajectories of ${this.entry.id}`;
    item.accessibilityInformation = { label: `trajectories of ${this.entry.id}, ${item.description}` };
    return item;
  }

  override async getChildren(): Promise<TreeNode[]> {
    const out: TreeNode[] = [];
    const inj = path.join(this.entry.dir, 'injector.json');
    if (fs.existsSync(inj)) out.push(new InjectorNode(this.env, this.runDir, this.entry.id, inj));
    for (const a of await listAttempts(this.runDir, this.entry.id)) out.push(new AttemptNode(this.env, this.runDir, this.entry.id, a));
    return out;
  }
}
