import * as path from 'node:path';
import * as vscode from 'vscode';
import type { BugEntry } from '../../../core/actions';
import type { BugRecord } from '../../../core/store';
import { ARTIFACT_FILES } from '../../../core/artifact';
import { ArtifactFileNode } from './artifactFileNode';
import { ChecksNode } from './checksNode';
import { MessageNode } from './messageNode';
import { TreeNode, fmtReward, icon, type NodeEnv } from './treeNode';

/** Order, validity, solve rate and rewards in a line. */
export function describeBug(b: BugRecord): string {
  const parts = [`order ${b.order}`];
  if (b.valid === false) parts.push(`invalid: ${b.firstFailure ?? 'a check failed'}`);
  else if (b.valid === true) parts.push('valid');
  else parts.push(b.status === 'proposed' ? 'validating' : b.status);
  if (b.solveRate !== undefined) parts.push(`s=${b.solveRate.toFixed(2)} (${b.solved ?? 0}/${b.attempts ?? 0})`);
  else if (b.valid === true) parts.push(b.status === 'solving' ? 'solving' : 'not solved yet');
  if (b.rInject !== undefined) parts.push(`r_inject ${fmtReward(b.rInject)}`);
  if (b.solveRate !== undefined) parts.push(`r_solve ${fmtReward(2 * b.solveRate - 1)}`);
  return parts.join(' · ');
}

function bugIcon(b: BugRecord, busy: boolean): vscode.ThemeIcon {
  if (b.valid === false) return icon('error', 'testing.iconFailed');
  if (b.status === 'solving' || (b.status === 'proposed' && busy)) return icon('loading~spin');
  if (b.status === 'proposed') return icon('circle-outline');
  if (b.solveRate !== undefined) {
    // Bugs the solver sometimes solves are the ones the injector is paid for.
    return b.solveRate > 0 && b.solveRate < 1 ? icon('verified-filled', 'testing.iconPassed') : icon('verified', 'charts.orange');
  }
  return icon('bug', 'charts.yellow');
}

/** A bug artifact of the shown run: its five files, then the seven checks. */
export class BugNode extends TreeNode {
  constructor(
    private readonly env: NodeEnv,
    readonly runDir: string,
    readonly entry: BugEntry,
  ) {
    super();
    this.revealPath = entry.dir;
  }

  get bugId(): string {
    return this.entry.id;
  }

  get valid(): boolean {
    return this.entry.record?.valid === true;
  }

  getTreeItem(): vscode.TreeItem {
    const e = this.entry;
    const item = new vscode.TreeItem(e.id, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `bug|${this.runDir}|${e.id}`;
    if (!e.record) {
      item.description = 'bug.json is unreadable';
      item.iconPath = icon('warning', 'list.warningForeground');
      item.tooltip = `${e.error}\n\nFix or delete ${path.join(e.dir, 'bug.json')}.`;
      item.contextValue = 'ssr.bug.unreadable';
      return item;
    }
    const b = e.record;
    item.description = describeBug(b);
    item.iconPath = bugIcon(b, this.env.jobs.isRunning(this.runDir));
    const md = new vscode.MarkdownString();
    md.appendMarkdown(`**${b.id}**\n\n`);
    md.appendText(`${describeBug(b)}\n`);
    md.appendMarkdown(`\n\nSource: ${b.source}${b.strategy ? ` (${b.strategy})` : ''} · round ${b.round + 1}`);
    if (b.parent) md.appendMarkdown(` · from ${b.parent}, attempt ${(b.parentAttempt ?? 0) + 1}`);
    md.appendMarkdown(`\n\nStatus: ${b.status} · updated ${b.updatedAt}`);
    item.tooltip = md;
    item.contextValue = b.valid === true ? 'ssr.bug.valid' : b.valid === false ? 'ssr.bug.invalid' : 'ssr.bug.pending';
    item.accessibilityInformation = { label: `bug ${b.id}, ${item.description}` };
    return item;
  }

  override async getChildren(): Promise<TreeNode[]> {
    if (!this.entry.record) {
      return [new MessageNode(`bug|${this.runDir}|${this.bugId}|error`, this.entry.error ?? 'unreadable', { icon: 'warning', revealPath: path.join(this.entry.dir, 'bug.json') })];
    }
    return [...ARTIFACT_FILES.map((f) => new ArtifactFileNode(this.env, this.runDir, this.bugId, f)), new ChecksNode(this.env, this.runDir, this.entry.record)];
  }
}
