import * as path from 'node:path';
import * as vscode from 'vscode';
import { TreeNode, icon, type NodeEnv } from './treeNode';

const DESCRIPTIONS: Record<string, string> = {
  'test_script.sh': 'runs the tests',
  'test_files.txt': 'the test files',
  'test_parser.py': 'test log → JSON',
  'bug_inject.diff': 'the bug',
  'test_weaken.diff': 'hides it from the tests',
};

/** One of the five artifact files; diffs open in the diff editor, the rest read-only. */
export class ArtifactFileNode extends TreeNode {
  constructor(
    private readonly env: NodeEnv,
    readonly runDir: string,
    readonly bugId: string,
    readonly name: string,
  ) {
    super();
    this.revealPath = path.join(runDir, 'bugs', bugId, 'artifact', name);
  }

  get isDiff(): boolean {
    return this.name.endsWith('.diff');
  }

  getTreeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem(this.name, vscode.TreeItemCollapsibleState.None);
    item.id = `file|${this.runDir}|${this.bugId}|${this.name}`;
    item.description = DESCRIPTIONS[this.name];
    item.resourceUri = vscode.Uri.file(this.revealPath!);
    item.iconPath = this.isDiff ? icon('diff') : this.name.endsWith('.txt') ? icon('list-flat') : icon(this.name.endsWith('.py') ? 'symbol-method' : 'terminal');
    item.contextValue = this.isDiff ? 'ssr.file.diff' : 'ssr.file';
    item.tooltip = this.isDiff ? `${this.name}: click to review it in the diff editor (original ↔ patched)` : `${this.name}: click to open it read-only`;
    item.command = this.isDiff
      ? { command: 'ssr.openDiff', title: 'Open Diff', arguments: [this] }
      : { command: 'ssr.openArtifactFile', title: 'Open Read-only', arguments: [this] };
    item.accessibilityInformation = { label: `artifact file ${this.name}` };
    return item;
  }
}
