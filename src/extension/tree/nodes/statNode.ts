import * as vscode from 'vscode';
import { TreeNode, icon } from './treeNode';

/** One figure of a session: proposals, valid bugs, attempts, mean rewards, the policy. */
export class StatNode extends TreeNode {
  constructor(
    private readonly id: string,
    private readonly label: string,
    private readonly value: string,
    private readonly iconId: string,
    revealPath?: string,
  ) {
    super();
    this.revealPath = revealPath;
  }

  getTreeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem(this.label, vscode.TreeItemCollapsibleState.None);
    item.id = this.id;
    item.description = this.value;
    item.tooltip = `${this.label}: ${this.value}`;
    item.iconPath = icon(this.iconId);
    item.contextValue = 'stat';
    return item;
  }
}
