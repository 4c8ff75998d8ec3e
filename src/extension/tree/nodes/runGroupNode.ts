import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { listBugEntries, type RunEntry } from '../../../core/selfplay/actions';
import { runName } from '../../../core/report/data';
import { BugNode } from './bugNode';
import { MessageNode } from './messageNode';
import { TreeNode, icon, type NodeEnv } from './treeNode';

/** How many bug folders a run holds (cheap: one readdir). */
export function bugCount(runDir: string): number {
  try {
    return fs.readdirSync(path.join(runDir, 'bugs')).filter((n) => !n.includes('.tmp-')).length;
  } catch {
    return 0;
  }
}

/** A state word for people: a stopped session reads "stopped" everywhere. */
export function stateWord(state: string): string {
  return state === 'cancelled' ? 'stopped' : state;
}

/** A run in the Bugs view: its name for people, a short status first, its bugs below. */
export class RunGroupNode extends TreeNode {
  constructor(
    private readonly env: NodeEnv,
    readonly run: RunEntry,
    private readonly expanded: boolean,
  ) {
    super();
    this.revealPath = run.dir;
  }

  get runDir(): string {
    return this.run.dir;
  }

  get id(): string {
    return `bugrun|${this.run.dir}`;
  }

  getTreeItem(): vscode.TreeItem {
    const r = this.run;
    const s = r.session;
    const name = s ? runName(s, r.id) : r.id;
    const item = new vscode.TreeItem(name, this.expanded ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed);
    item.id = this.id;
    const running = this.env.jobs.isRunning(r.dir) || r.state === 'running';
    const c = s?.counters;
    const n = bugCount(r.dir);
    let status: string;
    if (!s) status = 'unreadable';
    else if (s.config.rounds === 1 && s.config.attempts === 1 && s.config.higherOrder === false) {
      // Inject Bug: one bug, its verdict.
      status = running ? 'validating' : c && c.validBugs > 0 ? 'valid' : n ? 'invalid' : 'no bug';
    } else {
      status = `${c?.validBugs ?? 0}/${n} valid`;
      if (running) status = `running · ${status}`;
      else if (r.state !== 'finished') status = `${status} · ${stateWord(r.state)}`;
    }
    item.description = status;
    item.iconPath = running ? icon('sync~spin') : icon('folder-library');
    const md = new vscode.MarkdownString();
    md.appendMarkdown(`**${name}**\n\n`);
    md.appendText(`run ${r.id} · ${stateWord(r.state)} · ${n} bug(s)\n`);
    if (s?.createdAt) md.appendText(`started ${new Date(s.createdAt).toLocaleString()}\n`);
    item.tooltip = md;
    item.contextValue = running ? 'ssr.bugRun.running' : 'ssr.bugRun';
    item.accessibilityInformation = { label: `run ${name}, ${status}` };
    return item;
  }

  override async getChildren(): Promise<TreeNode[]> {
    const bugs = await listBugEntries(this.run.dir);
    if (!bugs.length) {
      if (this.env.jobs.isRunning(this.run.dir)) return [new MessageNode(`bugs|${this.run.dir}|busy`, 'Proposing a bug…', { icon: 'loading~spin', description: 'see the notification for progress' })];
      return [new MessageNode(`bugs|${this.run.dir}|none`, 'No bug in this run', { icon: 'info', description: this.run.session?.note })];
    }
    return bugs.map((b) => new BugNode(this.env, this.run.dir, b));
  }
}
