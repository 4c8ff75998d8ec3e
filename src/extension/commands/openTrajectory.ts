/**
 * "SSR: Open Trajectory": a trajectory in the stepper, named by a tree node
 * or a path, else picked among the file in the editor, the active run's
 * injector and solver trajectories, or a file chosen on disk.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { listAttempts, listBugEntries, type RunEntry } from '../../core/selfplay/actions';
import { AttemptNode } from '../tree/nodes/attemptNode';
import { InjectorNode } from '../tree/nodes/injectorNode';
import { StepNode } from '../tree/nodes/stepNode';
import type { CommandEnv, SsrCommand } from './context';

type TrajectoryItem = vscode.QuickPickItem & { file?: string };

/** The file a node, a Uri or a path names; undefined when the argument names none. */
function fileOf(arg: unknown): string | undefined {
  if ((arg instanceof AttemptNode || arg instanceof InjectorNode) && arg.trajectoryFile) return arg.trajectoryFile;
  if (arg instanceof vscode.Uri) return arg.fsPath;
  if (typeof arg === 'string') return arg;
  return undefined;
}

async function runTrajectories(run: RunEntry): Promise<TrajectoryItem[]> {
  const items: TrajectoryItem[] = [];
  for (const b of await listBugEntries(run.dir)) {
    const inj = path.join(b.dir, 'injector.json');
    if (fs.existsSync(inj)) items.push({ label: `${b.id} injector`, description: `run ${run.id}`, file: inj });
    for (const a of await listAttempts(run.dir, b.id)) {
      if (a.trajectory) items.push({ label: `${b.id} attempt ${a.n + 1}`, description: a.result ? (a.result.solved ? 'solved' : a.result.evaluation?.tampered ? 'tampered' : 'not solved') : 'unfinished', file: a.trajectory });
    }
  }
  return items;
}

async function pickTrajectory(env: CommandEnv): Promise<string | undefined> {
  const items: TrajectoryItem[] = [];
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active?.scheme === 'file' && active.fsPath.endsWith('.json')) items.push({ label: `$(file) ${path.basename(active.fsPath)}`, description: 'the file in the editor', file: active.fsPath });
  const run = env.model.activeRun;
  if (run) items.push(...(await runTrajectories(run)));
  items.push({ label: '$(folder-opened) Open a trajectory file…', description: 'an ssr-trajectory/1 JSON file' });
  const pick = await vscode.window.showQuickPick(items, { placeHolder: 'The trajectory to step through', matchOnDescription: true });
  if (!pick) return undefined;
  if (pick.file) return pick.file;
  const picked = await vscode.window.showOpenDialog({ canSelectFiles: true, canSelectMany: false, filters: { Trajectory: ['json'] }, openLabel: 'Open Trajectory', defaultUri: run ? vscode.Uri.file(run.dir) : undefined });
  return picked?.length ? picked[0].fsPath : undefined;
}

async function openTrajectory(env: CommandEnv, arg: unknown): Promise<void> {
  if (arg instanceof StepNode) {
    await env.stepper.openFile(arg.file, { step: arg.index, preserveFocus: false });
    return;
  }
  const file = fileOf(arg) ?? (await pickTrajectory(env));
  if (file !== undefined) await env.stepper.openFile(file);
}

export const openTrajectoryCommand: SsrCommand = { id: 'ssr.openTrajectory', title: 'Open Trajectory', run: (env, a) => openTrajectory(env, a) };
