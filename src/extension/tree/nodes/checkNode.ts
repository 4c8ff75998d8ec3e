import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CheckResult } from '../../../core/judge/checks';
import { TreeNode, fmtMs, icon, mdCode } from './treeNode';

const ICONS: Record<string, [string, string]> = {
  pass: ['testing-passed-icon', 'testing.iconPassed'],
  fail: ['testing-failed-icon', 'testing.iconFailed'],
  skip: ['testing-skipped-icon', 'testing.iconSkipped'],
};

/** One verdict: pass / fail / skip, with its detail and duration in the tooltip. */
export class CheckNode extends TreeNode {
  constructor(
    readonly runDir: string,
    readonly bugId: string,
    readonly check: CheckResult,
  ) {
    super();
    this.revealPath = path.join(runDir, 'bugs', bugId, 'validation.json');
  }

  getTreeItem(): vscode.TreeItem {
    const c = this.check;
    const item = new vscode.TreeItem(c.id, vscode.TreeItemCollapsibleState.None);
    item.id = `check|${this.runDir}|${this.bugId}|${c.id}`;
    const first = c.detail.split('\n')[0];
    item.description = `${c.status}${first ? ` · ${first.length > 90 ? first.slice(0, 90) + '…' : first}` : ''}`;
    const [ic, color] = ICONS[c.status] ?? ['circle-outline', 'foreground'];
    item.iconPath = icon(ic, color);
    const md = new vscode.MarkdownString();
    md.appendMarkdown(`**${c.id}**: ${c.status} in ${fmtMs(c.durationMs)}\n\n`);
    md.appendMarkdown(mdCode(c.detail));
    item.tooltip = md;
    item.contextValue = `ssr.check.${c.status}`;
    // A click opens the whole detail (the row and the hover cut it).
    item.command = { command: 'ssr.openCheckDetail', title: 'Open Check Detail', arguments: [{ runDir: this.runDir, bugId: this.bugId, check: c }] };
    item.accessibilityInformation = { label: `check ${c.id}: ${c.status}` };
    return item;
  }
}
