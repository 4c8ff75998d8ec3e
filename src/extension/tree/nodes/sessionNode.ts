import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunEntry } from '../../../core/selfplay/actions';
import { MessageNode } from './messageNode';
import { StatNode } from './statNode';
import { TreeNode, fmtMs, fmtReward, icon, type NodeEnv } from './treeNode';
import { runName } from '../../../core/report/data';
import { stateWord } from './runGroupNode';

const STATE_ICON: Record<string, [string, string?]> = {
  running: ['sync~spin'],
  finished: ['pass', 'testing.iconPassed'],
  cancelled: ['debug-pause', 'charts.yellow'],
  interrupted: ['debug-pause', 'charts.yellow'],
  failed: ['error', 'testing.iconFailed'],
  unreadable: ['warning', 'list.warningForeground'],
};

/** A run (a self-play session's directory) in the Sessions view. */
export class SessionNode extends TreeNode {
  constructor(
    private readonly env: NodeEnv,
    readonly run: RunEntry,
  ) {
    super();
    this.revealPath = path.join(run.dir, 'session.json');
  }

  get runDir(): string {
    return this.run.dir;
  }

  /** running here, running elsewhere, or resumable. */
  get state(): string {
    if (this.env.jobs.isRunning(this.run.dir)) return 'running';
    return this.run.state;
  }

  getTreeItem(): vscode.TreeItem {
    const r = this.run;
    const s = r.session;
    const active = this.env.model.activeRunDir === r.dir;
    const item = new vscode.TreeItem(s ? runName(s, r.id) : r.id, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `session|${r.dir}`;
    const state = this.state;
    const live = this.env.jobs.liveFor(r.dir);
    const c = s?.counters;
    // The short status first; numbers that are not known (no attempt without a model) are left out.
    const counts = c ? `${c.validBugs}/${c.proposals} valid${c.attempts ? ` · ${c.solved}/${c.attempts} solved` : ''}` : '';
    if (live) {
      const round = live.round !== undefined && !live.phase.startsWith('round') ? `round ${live.round + 1}${live.rounds ? `/${live.rounds}` : ''} · ` : '';
      item.description = `running · ${round}${live.phase}`;
    } else if (r.error) {
      item.description = 'unreadable session.json';
    } else {
      item.description = `${stateWord(state)}${counts ? ` · ${counts}` : ''}`;
    }
    const [ic, color] = STATE_ICON[state] ?? ['circle-outline'];
    item.iconPath = icon(ic, color);
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**${s ? runName(s, r.id) : r.id}**: ${stateWord(state)}\n\nrun ${r.id}${active ? ' · shown in the Trajectories view' : ''}\n\n`);
    if (r.error) md.appendMarkdown(`$(warning) ${r.error.replace(/[<>]/g, '')}\n\n`);
    if (s) {
      md.appendMarkdown(`Proposer: ${s.config.proposer}${s.config.policy ? ` · policy ${s.config.policy.kind}${s.config.policy.model ? ` ${s.config.policy.model}` : ''}` : ''}\n\n`);
      md.appendMarkdown(`Rounds ${Object.keys(s.rounds ?? {}).length}/${s.config.rounds} · attempts per bug ${s.config.attempts} · concurrency ${s.config.concurrency}\n\n`);
      if (s.note && state !== 'cancelled') md.appendText(`${s.note}\n\n`);
      md.appendMarkdown(`Created ${s.createdAt} · active ${fmtMs(s.activeMs)}`);
    }
    md.appendMarkdown(`\n\nClick to show its bugs and trajectories; Open Dashboard for its charts.`);
    item.tooltip = md;
    item.contextValue = state === 'running' ? 'ssr.run.running' : state === 'unreadable' ? 'ssr.run.unreadable' : state !== 'finished' ? 'ssr.run.resumable' : 'ssr.run';
    item.command = { command: 'ssr.selectRun', title: 'Show Run', arguments: [r.dir] };
    item.accessibilityInformation = { label: `session ${r.id}, ${item.description}` };
    return item;
  }

  override async getChildren(): Promise<TreeNode[]> {
    const r = this.run;
    const s = r.session;
    const id = (k: string) => `session|${r.dir}|${k}`;
    if (!s) {
      return [new MessageNode(id('error'), r.error ?? 'session.json cannot be read', { icon: 'warning', revealPath: path.join(r.dir, 'session.json'), tooltip: `${r.error}\n\nFix or delete ${path.join(r.dir, 'session.json')}.` })];
    }
    const c = s.counters;
    const m = s.metrics;
    const live = this.env.jobs.liveFor(r.dir);
    const out: TreeNode[] = [];
    const state = this.state;
    if (live) out.push(new StatNode(id('live'), 'Now', live.phase, 'pulse'));
    out.push(new MessageNode(id('dashboard'), 'Open Dashboard', { icon: 'graph-line', description: 'charts of this run', command: { command: 'ssr.openDashboard', title: 'Open Dashboard', arguments: [r.dir] } }));
    if (state === 'cancelled' || state === 'interrupted') {
      out.push(
        new MessageNode(id('resume'), `${state === 'cancelled' ? 'Stopped' : 'Interrupted'}: Resume`, {
          icon: 'debug-continue',
          description: 'continues where it stopped',
          tooltip: 'SSR: Resume Session continues this run where it stopped; finished work is kept.',
          command: { command: 'ssr.resumeSession', title: 'Resume Session', arguments: [r.dir] },
        }),
      );
    }
    out.push(
      new StatNode(id('policy'), 'Policy', s.config.policy ? `${s.config.policy.kind}${s.config.policy.model ? ` ${s.config.policy.model}` : ''}` : 'none (bootstrap proposer)', 'hubot'),
      new StatNode(id('rounds'), 'Rounds', `${Object.keys(s.rounds ?? {}).length} of ${s.config.rounds}`, 'history'),
      new StatNode(id('bugs'), 'Valid bugs', `${c.validBugs} of ${c.proposals} proposals${c.higherOrder ? `, ${c.higherOrder} higher-order` : ''}`, 'bug'),
    );
    if (c.attempts || s.config.policy) out.push(new StatNode(id('attempts'), 'Solver attempts', `${c.attempts} (${c.solved} solved)`, 'beaker'));
    else out.push(new MessageNode(id('nomodel'), 'Not solved: no model configured', { icon: 'info', tooltip: 'Solving needs a model. Click to configure one.', command: { command: 'ssr.configurePolicy', title: 'Configure Policy' } }));
    if (m) {
      // Only the numbers that are known.
      const rewards = [m.meanRInject !== undefined ? `r_inject ${fmtReward(m.meanRInject)}` : '', m.meanRSolve !== undefined ? `r_solve ${fmtReward(m.meanRSolve)}` : ''].filter(Boolean).join(' · ');
      if (rewards) out.push(new StatNode(id('rewards'), 'Mean rewards', rewards, 'graph'));
      if (m.validBugs > 0 && m.artifactsPerHour > 0) out.push(new StatNode(id('throughput'), 'Throughput', `${m.artifactsPerHour.toFixed(1)} valid bugs/hour over ${fmtMs(m.activeMs)}`, 'dashboard'));
    }
    // A stopped run's note is a command line; the Resume item above says it inside the editor.
    if (s.note && state !== 'cancelled' && state !== 'interrupted') out.push(new MessageNode(id('note'), s.note, { icon: 'info', revealPath: path.join(r.dir, 'events.jsonl') }));
    return out;
  }
}
