import * as vscode from 'vscode';
import type { Trajectory, TrajectoryStep } from '../../../core/base/trajectory';
import { TreeNode, fmtMs, icon } from './treeNode';

const TOOL_ICONS: Record<string, string> = { bash: 'terminal', edit: 'edit', create: 'new-file', submit: 'check-all' };

/** One step of a trajectory; opens the stepper at that step. */
export class StepNode extends TreeNode {
  readonly index: number;
  readonly hasDiff: boolean;
  constructor(
    readonly file: string,
    t: Pick<Trajectory, 'id'>,
    private readonly step: TrajectoryStep,
  ) {
    super();
    this.revealPath = file;
    this.index = step.index;
    this.hasDiff = Boolean(step.diff && step.diff.trim());
    void t;
  }

  get trajectoryFile(): string {
    return this.file;
  }

  getTreeItem(): vscode.TreeItem {
    const s = this.step;
    const what = String((s.parsed?.command as string | undefined) ?? (s.parsed?.path as string | undefined) ?? s.arguments ?? '').split('\n')[0];
    const label = `${s.index + 1}. ${s.tool || '(no tool)'}${what ? ` ${what.length > 60 ? what.slice(0, 60) + '…' : what}` : ''}`;
    const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.None);
    item.id = `step|${this.file}|${s.index}`;
    item.description = [s.error ? 'error' : s.exitCode !== null && s.exitCode !== undefined ? `exit ${s.exitCode}` : '', fmtMs(s.durationMs), this.hasDiff ? 'changed files' : '']
      .filter(Boolean)
      .join(' · ');
    item.iconPath = s.error ? icon('warning', 'list.warningForeground') : icon(TOOL_ICONS[s.tool] ?? 'tools');
    item.tooltip = `Step ${s.index + 1}: ${s.tool}. Click to open it in the trajectory stepper.`;
    item.contextValue = this.hasDiff ? 'ssr.step.diff' : 'ssr.step';
    item.command = { command: 'ssr.openTrajectory', title: 'Open Trajectory', arguments: [this] };
    return item;
  }
}
