import * as vscode from 'vscode';
import { MessageNode } from './messageNode';
import { StepNode } from './stepNode';
import { TreeNode, icon, type NodeEnv } from './treeNode';

/** The injector's episode that made a bug (policy proposers only). */
export class InjectorNode extends TreeNode {
  constructor(
    private readonly env: NodeEnv,
    readonly runDir: string,
    readonly bugId: string,
    readonly file: string,
  ) {
    super();
    this.revealPath = file;
  }

  get trajectoryFile(): string {
    return this.file;
  }

  getTreeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem('injector', vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `injector|${this.file}`;
    item.description = 'the episode that made this bug';
    item.iconPath = icon('wand');
    item.contextValue = 'ssr.trajectory';
    item.command = { command: 'ssr.openTrajectory', title: 'Open Trajectory', arguments: [this] };
    return item;
  }

  override async getChildren(): Promise<TreeNode[]> {
    try {
      const t = await this.env.trajectories.get(this.file);
      return t.steps.map((s) => new StepNode(this.file, t, s));
    } catch (err) {
      return [new MessageNode(`${this.file}|error`, 'injector.json is unreadable', { icon: 'warning', tooltip: (err as Error).message, revealPath: this.file })];
    }
  }
}
