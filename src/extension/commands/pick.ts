/**
 * Asking which run or which bug a command works on, when its argument
 * (a tree node, a path) does not say.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { listBugEntries, type RunEntry } from '../../core/selfplay/actions';
import { runName } from '../../core/report/data';
import { BugNode } from '../tree/nodes/bugNode';
import { SessionNode } from '../tree/nodes/sessionNode';
import type { CommandEnv } from './context';

export interface BugTarget {
  runDir: string;
  bugId: string;
}

function offerInject(message: string): void {
  void vscode.window.showInformationMessage(message, 'Inject Bug').then((b) => b && vscode.commands.executeCommand('ssr.injectBug'));
}

function describeRun(r: RunEntry): string {
  const s = r.session;
  const solved = s?.counters.attempts ? ` · ${s.counters.solved}/${s.counters.attempts} solved` : '';
  return `${r.state === 'cancelled' ? 'stopped' : r.state}${s ? ` · ${s.counters.validBugs} valid bugs${solved}` : ''} · ${r.id}`;
}

/** The run named by the argument (a Sessions node, a path, a Uri), else the one picked among those that fit. */
export async function pickRun(env: CommandEnv, arg: unknown, placeHolder: string, filter: (r: RunEntry) => boolean = () => true): Promise<RunEntry | undefined> {
  const dir = arg instanceof SessionNode ? arg.runDir : typeof arg === 'string' ? arg : arg instanceof vscode.Uri ? arg.fsPath : undefined;
  await env.model.refresh();
  if (dir) {
    const found = env.model.runs.find((r) => r.dir === path.resolve(dir));
    if (found) return found;
  }
  const runs = env.model.runs.filter(filter);
  if (!runs.length) {
    offerInject('SSR: no run fits. Start a self-play session or inject a bug first.');
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    runs.map((r) => ({ label: r.session ? runName(r.session, r.id) : r.id, description: describeRun(r), detail: r.error, run: r })),
    { placeHolder },
  );
  return pick?.run;
}

/** The bug named by a Bugs node, else one picked among the active run's bugs (only valid ones when asked). */
export async function pickBug(env: CommandEnv, arg: unknown, placeHolder: string, onlyValid: boolean): Promise<BugTarget | undefined> {
  if (arg instanceof BugNode) return { runDir: arg.runDir, bugId: arg.bugId };
  const run = env.model.activeRun;
  if (!run) {
    offerInject('SSR: there is no run yet: inject a bug first.');
    return undefined;
  }
  const bugs = (await listBugEntries(run.dir)).filter((b) => b.record && (!onlyValid || b.record.valid === true));
  if (!bugs.length) {
    void vscode.window.showInformationMessage(`SSR: run ${run.id} has no ${onlyValid ? 'valid ' : ''}bug.`);
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    bugs.map((b) => ({ label: b.id, description: b.record!.valid ? 'valid' : b.record!.valid === false ? `invalid: ${b.record!.firstFailure}` : b.record!.status, bug: b })),
    { placeHolder: `${placeHolder} (run ${run.id})` },
  );
  return pick ? { runDir: run.dir, bugId: pick.bug.id } : undefined;
}
