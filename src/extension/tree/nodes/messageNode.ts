import * as vscode from 'vscode';
import { TreeNode, icon } from './treeNode';

/** A leaf that says something: an error reading a file, "validating...", "no attempts yet". */
export class MessageNode extends TreeNode {
  constructor(
    private readonly id: string,
    private readonly label: string,
    private readonly opts: { description?: string; tooltip?: string; icon?: string; color?: string; revealPath?: string; command?: vscode.Command } = {},
  ) {
    super();
    this.revealPath = opts.revealPath;
  }

  getTreeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem(this.label, vscode.TreeItemCollapsibleState.None);
    item.id = this.id;
    item.description = this.opts.description;
    item.tooltip = this.opts.tooltip ?? this.label;
    item.iconPath = this.opts.icon ? icon(this.opts.icon, this.opts.color) : undefined;
    item.contextValue = this.revealPath ? 'ssr.message' : 'message';
    item.command = this.opts.command;
    item.accessibilityInformation = { label: this.opts.description ? `${this.label}, ${this.opts.description}` : this.label };
    return item;
  }
}
