import * as vscode from 'vscode';
import { TreeNode, icon } from './treeNode';

/** A solver's submitted patch (pred_patch.diff). */
export class PatchNode extends TreeNode {
  constructor(
    readonly runDir: string,
    readonly bugId: string,
    readonly attempt: number,
    readonly file: string,
  ) {
    super();
    this.revealPath = file;
  }

  getTreeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem('pred_patch.diff', vscode.TreeItemCollapsibleState.None);
    item.id = `patch|${this.file}`;
    item.description = 'the submitted fix';
    item.iconPath = icon('diff');
    item.contextValue = 'ssr.patch.diff';
    item.command = { command: 'ssr.openDiff', title: 'Open Diff', arguments: [this] };
    return item;
  }
}
