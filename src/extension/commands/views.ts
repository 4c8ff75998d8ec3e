/**
 * The commands that move the views: "SSR: Show Run" (the run the Bugs and
 * Trajectories views show), "SSR: Refresh", "SSR: Reveal in Run Directory"
 * and "SSR: Show Log".
 */
import * as vscode from 'vscode';
import { SessionNode } from '../tree/nodes/sessionNode';
import type { TreeNode } from '../tree/nodes/treeNode';
import type { CommandEnv, SsrCommand } from './context';
import { pickRun } from './pick';

/** Reveals a file of a tree node (or a run) in the Explorer, else in the OS, else offers to copy its path. */
export async function reveal(arg: unknown): Promise<void> {
  const p = (arg as TreeNode | undefined)?.revealPath ?? (arg instanceof SessionNode ? arg.runDir : undefined);
  if (!p) return;
  const uri = vscode.Uri.file(p);
  if (vscode.workspace.getWorkspaceFolder(uri)) {
    await vscode.commands.executeCommand('revealInExplorer', uri);
    return;
  }
  try {
    await vscode.commands.executeCommand('revealFileInOS', uri);
  } catch {
    const b = await vscode.window.showInformationMessage(`SSR: ${p}`, 'Copy Path');
    if (b) await vscode.env.clipboard.writeText(p);
  }
}

async function selectRun(env: CommandEnv, arg: unknown): Promise<void> {
  const dir = arg instanceof SessionNode ? arg.runDir : typeof arg === 'string' ? arg : (await pickRun(env, undefined, 'The run to show in the Bugs and Trajectories views'))?.dir;
  if (!dir) return;
  env.model.setActive(dir);
  await env.bugs?.revealRun(dir);
}

async function refresh(env: CommandEnv): Promise<void> {
  await env.model.configure();
  await env.model.checkDocker();
  env.refreshViews();
}

export const showLogCommand: SsrCommand = { id: 'ssr.showLog', title: 'Show Log', run: (env) => env.log.show() };
export const refreshCommand: SsrCommand = { id: 'ssr.refresh', title: 'Refresh', run: (env) => refresh(env) };
export const selectRunCommand: SsrCommand = { id: 'ssr.selectRun', title: 'Show Run', run: (env, a) => selectRun(env, a) };
export const revealCommand: SsrCommand = { id: 'ssr.revealInRunDirectory', title: 'Reveal in Run Directory', run: (_env, a) => reveal(a) };
