import * as path from 'node:path';
import * as vscode from 'vscode';
import { orderedChecks, readValidation } from '../../../core/selfplay/actions';
import type { BugRecord } from '../../../core/runs/store';
import { CheckNode } from './checkNode';
import { MessageNode } from './messageNode';
import { TreeNode, icon, type NodeEnv } from './treeNode';

/** The seven consistency checks of a bug, failing ones first. */
export class ChecksNode extends TreeNode {
  constructor(
    private readonly env: NodeEnv,
    readonly runDir: string,
    readonly bug: BugRecord,
  ) {
    super();
    this.revealPath = path.join(runDir, 'bugs', bug.id, 'validation.json');
  }

  getTreeItem(): vscode.TreeItem {
    const b = this.bug;
    const item = new vscode.TreeItem('Checks', vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `checks|${this.runDir}|${b.id}`;
    if (b.valid === true) {
      item.description = 'all 7 pass';
      item.iconPath = icon('testing-passed-icon', 'testing.iconPassed');
    } else if (b.valid === false) {
      item.description = `failed: ${b.firstFailure ?? '?'}`;
      item.iconPath = icon('testing-failed-icon', 'testing.iconFailed');
    } else {
      item.description = this.env.jobs.isRunning(this.runDir) ? 'running' : 'not run';
      item.iconPath = icon(this.env.jobs.isRunning(this.runDir) ? 'loading~spin' : 'circle-outline');
    }
    item.tooltip = 'The seven consistency checks that make a bug artifact valid (failing ones first).';
    item.contextValue = 'ssr.checks';
    item.accessibilityInformation = { label: `Checks, ${item.description}` };
    return item;
  }

  override async getChildren(): Promise<TreeNode[]> {
    const { report, error } = await readValidation(this.runDir, this.bug.id);
    const id = `checks|${this.runDir}|${this.bug.id}`;
    if (error) return [new MessageNode(`${id}|error`, 'validation.json is unreadable', { icon: 'warning', tooltip: error, revealPath: this.revealPath })];
    if (!report) {
      const busy = this.env.jobs.isRunning(this.runDir);
      return [new MessageNode(`${id}|none`, busy ? 'Validating…' : 'Not validated yet', { icon: busy ? 'loading~spin' : 'info', description: busy ? '' : 'run SSR: Validate Artifact' })];
    }
    return orderedChecks(report).map((c) => new CheckNode(this.runDir, this.bug.id, c));
  }
}
