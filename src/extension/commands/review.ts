/**
 * "SSR: Open Diff" and "SSR: Open Read-only": a bug's diffs, a solver's
 * patch, a step's change and an artifact's files, in read-only documents.
 */
import * as vscode from 'vscode';
import type { ArtifactDocuments } from '../review/artifactDocuments';
import { ArtifactFileNode } from '../tree/nodes/artifactFileNode';
import { PatchNode } from '../tree/nodes/patchNode';
import { StepNode } from '../tree/nodes/stepNode';
import { busy, type CommandEnv, type SsrCommand } from './context';

export async function openDiff(env: CommandEnv, arg: unknown): Promise<void> {
  const preserveFocus = busy(env);
  if (arg instanceof ArtifactFileNode && arg.isDiff) {
    await env.docs.openDiff({ t: 'artifact', run: arg.runDir, bug: arg.bugId, file: arg.name as 'bug_inject.diff' | 'test_weaken.diff' }, { preserveFocus });
  } else if (arg instanceof PatchNode) {
    await env.docs.openDiff({ t: 'patch', run: arg.runDir, bug: arg.bugId, attempt: arg.attempt }, { preserveFocus });
  } else if (arg instanceof StepNode) {
    await env.docs.openDiff({ t: 'step', traj: arg.file, step: arg.index }, { preserveFocus });
  } else if (arg && typeof arg === 'object' && 't' in arg) {
    await env.docs.openDiff(arg as Parameters<ArtifactDocuments['openDiff']>[0], { preserveFocus });
  } else {
    void vscode.window.showInformationMessage('SSR: pick a diff in the Bugs or Trajectories view (bug_inject.diff, test_weaken.diff, a patch or a step).');
  }
}

async function openArtifactFile(env: CommandEnv, arg: unknown): Promise<void> {
  if (!(arg instanceof ArtifactFileNode)) return;
  await env.docs.openReadOnly(arg.revealPath!, `${arg.bugId}/${arg.name}`, { preserveFocus: busy(env) });
}

export const reviewCommands: SsrCommand[] = [
  { id: 'ssr.openDiff', title: 'Open Diff', run: (env, a) => openDiff(env, a) },
  { id: 'ssr.openArtifactFile', title: 'Open Read-only', run: (env, a) => openArtifactFile(env, a) },
];
