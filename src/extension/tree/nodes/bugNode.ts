import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { BugEntry } from '../../../core/selfplay/actions';
import type { BugRecord } from '../../../core/runs/store';
import { ARTIFACT_FILES } from '../../../core/artifact/artifact';
import { ArtifactFileNode } from './artifactFileNode';
import { ChecksNode } from './checksNode';
import { MessageNode } from './messageNode';
import { TreeNode, fmtReward, icon, type NodeEnv } from './treeNode';

/** The short status first ("valid", "valid · solved 2/4", "invalid: bug_scope"), then the order and r_inject when known. */
export function describeBug(b: BugRecord): string {
  const parts: string[] = [];
  if (b.valid === false) parts.push(`invalid: ${b.firstFailure ?? 'a check failed'}`);
  else if (b.valid === true) {
    if (b.solveRate !== undefined && b.attempts) parts.push(`valid · solved ${b.solved ?? 0}/${b.attempts}`);
    else parts.push(b.status === 'solving' ? 'valid · solving' : 'valid');
  } else parts.push(b.status === 'proposed' ? 'validating' : statusWords(b.status));
  if (b.order > 1) parts.push(`order ${b.order}`);
  if (b.rInject !== undefined && b.valid !== false) parts.push(`r_inject ${fmtReward(b.rInject)}`);
  return parts.join(' · ');
}

/** A bug's stored status in words. */
export function statusWords(status: BugRecord['status']): string {
  switch (status) {
    case 'unsolved-no-solver':
      return 'not solved: no model was configured';
    case 'done':
      return 'solved attempts judged';
    case 'solving':
      return 'being solved';
    case 'proposed':
      return 'waiting for validation';
    case 'validated':
      return 'validated';
    case 'invalid':
      return 'invalid';
    default:
      return String(status);
  }
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
    md.appendMarkdown(`\n\nOrder ${b.order} · ${statusWords(b.status)} · updated ${new Date(b.updatedAt).toLocaleString()}`);
    item.tooltip = md;
    item.contextValue = b.valid === true ? 'ssr.bug.valid' : b.valid === false ? 'ssr.bug.invalid' : 'ssr.bug.pending';
    item.accessibilityInformation = { label: `bug ${b.id}, ${item.description}` };
    return item;
  }

  override async getChildren(): Promise<TreeNode[]> {
    if (!this.entry.record) {
      return [new MessageNode(`bug|${this.runDir}|${this.bugId}|error`, this.entry.error ?? 'unreadable', { icon: 'warning', revealPath: path.join(this.entry.dir, 'bug.json') })];
    }
    const b = this.entry.record;
    const out: TreeNode[] = [];
    // Lineage: where a higher-order bug came from, and what a bug's failed attempts gave.
    if (b.parent) {
      out.push(
        new MessageNode(`lineage|${this.runDir}|${b.id}|parent`, `from ${b.parent}`, {
          icon: 'type-hierarchy-super',
          description: `the failed patch of attempt ${(b.parentAttempt ?? 0) + 1}`,
          tooltip: `A second-order bug: attempt ${(b.parentAttempt ?? 0) + 1} of ${b.parent} failed, and its patch on top of that bug is this bug. Click to show ${b.parent}.`,
          command: { command: 'ssr.revealBug', title: 'Reveal Bug', arguments: [this.runDir, b.parent] },
        }),
      );
    }
    for (const child of await childrenOf(this.runDir, b.id)) {
      out.push(
        new MessageNode(`lineage|${this.runDir}|${b.id}|child|${child.id}`, `gave ${child.id}`, {
          icon: 'type-hierarchy-sub',
          description: `from attempt ${(child.parentAttempt ?? 0) + 1}`,
          tooltip: `The failed patch of attempt ${(child.parentAttempt ?? 0) + 1} made the second-order bug ${child.id}. Click to show it.`,
          command: { command: 'ssr.revealBug', title: 'Reveal Bug', arguments: [this.runDir, child.id] },
        }),
      );
    }
    out.push(...ARTIFACT_FILES.map((f) => new ArtifactFileNode(this.env, this.runDir, this.bugId, f)), new ChecksNode(this.env, this.runDir, b));
    if (fs.existsSync(path.join(this.entry.dir, 'validation.json'))) {
      out.push(
        new MessageNode(`matrix|${this.runDir}|${b.id}`, 'Test matrix', {
          icon: 'table',
          description: 'tests × states',
          tooltip: 'Every test in every state validation ran (original, buggy, weakened, each restored file): which file flips which tests.',
          command: { command: 'ssr.openTestMatrix', title: 'Open Test Matrix', arguments: [{ runDir: this.runDir, bugId: b.id }] },
        }),
      );
    }
    if ((b.attempts ?? 0) >= 2 || countAttempts(this.entry.dir) >= 2) {
      out.push(
        new MessageNode(`compare|${this.runDir}|${b.id}`, 'Compare attempts', {
          icon: 'diff-multiple',
          description: b.attempts ? `solved ${b.solved ?? 0}/${b.attempts}` : undefined,
          tooltip: 'Pick attempts to compare their patches side by side, and each with the reference fix (bug_inject.diff reversed).',
          command: { command: 'ssr.compareAttempts', title: 'Compare Attempts', arguments: [{ runDir: this.runDir, bugId: b.id }] },
        }),
      );
    }
    return out;
  }
}

function countAttempts(bugDir: string): number {
  try {
    return fs.readdirSync(path.join(bugDir, 'attempts')).filter((n) => /^\d+$/.test(n)).length;
  } catch {
    return 0;
  }
}

/** The bugs of a run whose parent is `bugId` (second-order bugs are named <parent>-a<attempt>). */
async function childrenOf(runDir: string, bugId: string): Promise<BugRecord[]> {
  let names: string[];
  try {
    names = fs.readdirSync(path.join(runDir, 'bugs')).filter((n) => n.startsWith(`${bugId}-a`) && !n.includes('.tmp-'));
  } catch {
    return [];
  }
  const out: BugRecord[] = [];
  for (const n of names) {
    try {
      const r = JSON.parse(fs.readFileSync(path.join(runDir, 'bugs', n, 'bug.json'), 'utf8')) as BugRecord;
      if (r.parent === bugId) out.push(r);
    } catch {
      // unreadable: shown as such under the run
    }
  }
  return out.sort((a, b) => (a.parentAttempt ?? 0) - (b.parentAttempt ?? 0));
}
