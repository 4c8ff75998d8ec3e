import * as vscode from 'vscode';
import type { AttemptEntry } from '../../../core/selfplay/actions';
import { MessageNode } from './messageNode';
import { PatchNode } from './patchNode';
import { StepNode } from './stepNode';
import { TreeNode, fmtReward, icon, type NodeEnv } from './treeNode';

/** A solver attempt: solved or not, its reward; its patch and steps below. */
export class AttemptNode extends TreeNode {
  constructor(
    private readonly env: NodeEnv,
    readonly runDir: string,
    readonly bugId: string,
    readonly attempt: AttemptEntry,
  ) {
    super();
    this.revealPath = attempt.trajectory ?? attempt.dir;
  }

  get trajectoryFile(): string | undefined {
    return this.attempt.trajectory;
  }

  getTreeItem(): vscode.TreeItem {
    const a = this.attempt;
    const item = new vscode.TreeItem(`attempt ${a.n + 1}`, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `attempt|${this.runDir}|${this.bugId}|${a.n}`;
    const res = a.result;
    if (a.error) {
      item.description = 'evaluation.json is unreadable';
      item.iconPath = icon('warning', 'list.warningForeground');
    } else if (!res) {
      item.description = this.env.jobs.isRunning(this.runDir) ? 'running' : 'unfinished';
      item.iconPath = icon(this.env.jobs.isRunning(this.runDir) ? 'loading~spin' : 'circle-outline');
    } else if (res.status === 'cancelled') {
      item.description = 'cancelled';
      item.iconPath = icon('debug-pause', 'charts.yellow');
    } else if (res.evaluation?.tampered) {
      item.description = `tampered · r_solve ${fmtReward(res.reward)}`;
      item.iconPath = icon('shield', 'list.errorForeground');
    } else {
      item.description = `${res.solved ? 'solved' : 'not solved'} · r_solve ${fmtReward(res.reward)}${res.status && res.status !== 'submitted' ? ` · ${res.status}` : ''}`;
      item.iconPath = res.solved ? icon('pass-filled', 'testing.iconPassed') : icon('circle-slash', 'testing.iconFailed');
    }
    const md = new vscode.MarkdownString();
    md.appendMarkdown(`**Attempt ${a.n + 1}** of ${this.bugId}\n\n`);
    if (res?.evaluation?.detail) md.appendText(res.evaluation.detail);
    else if (res?.error) md.appendText(res.error);
    for (const e of res?.evaluation?.tampered?.evidence ?? []) md.appendText(`\n\nevidence: ${e}`);
    item.tooltip = md;
    item.contextValue = a.trajectory ? 'ssr.attempt' : 'ssr.attempt.noTrajectory';
    if (a.trajectory) item.command = { command: 'ssr.openTrajectory', title: 'Open Trajectory', arguments: [this] };
    item.accessibilityInformation = { label: `attempt ${a.n + 1} of ${this.bugId}, ${item.description}` };
    return item;
  }

  override async getChildren(): Promise<TreeNode[]> {
    const out: TreeNode[] = [];
    if (this.attempt.patch) out.push(new PatchNode(this.runDir, this.bugId, this.attempt.n, this.attempt.patch));
    if (!this.attempt.trajectory) return out.length ? out : [new MessageNode(`${this.attempt.dir}|none`, 'No trajectory yet', { icon: 'info' })];
    try {
      const t = await this.env.trajectories.get(this.attempt.trajectory);
      for (const s of t.steps) out.push(new StepNode(this.attempt.trajectory, t, s));
    } catch (err) {
      out.push(new MessageNode(`${this.attempt.dir}|error`, 'trajectory.json is unreadable', { icon: 'warning', tooltip: (err as Error).message, revealPath: this.attempt.trajectory }));
    }
    return out;
  }
}
