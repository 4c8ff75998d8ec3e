/**
 * Turns every failure into one actionable message: what went wrong in a
 * sentence and a button that leads to the fix (Open Settings, Build Image,
 * Configure Policy, Show Log). Stack traces go to the log only.
 */
import * as vscode from 'vscode';
import { isCancelled } from '../core/base/errors';
import type { Log } from './log';

/** A setting holds a value SSR cannot use. */
export class SettingsError extends Error {
  constructor(
    message: string,
    readonly setting: string,
  ) {
    super(message);
    this.name = 'SettingsError';
  }
}

/** No folder is open. */
export class NoWorkspaceError extends Error {
  constructor(message = 'Open a folder first: SSR works on the folder open in the window (it is copied into sandboxes, never changed).') {
    super(message);
    this.name = 'NoWorkspaceError';
  }
}

/** The model server did not answer (probe before a run). */
export class ModelServerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelServerError';
  }
}

export type DockerProblem = 'unreachable' | 'noImage';

/** What kind of Docker problem an error describes, if any. */
export function dockerProblem(err: unknown): DockerProblem | undefined {
  if (!(err instanceof Error)) return undefined;
  if (err.name !== 'EnvironmentError' && err.name !== 'SandboxError') return undefined;
  if (/cannot reach a Docker engine|ECONNREFUSED|docker\.sock/i.test(err.message)) return 'unreachable';
  if (/sandbox image .* is not present|No such image/i.test(err.message)) return 'noImage';
  return undefined;
}

function oneLine(text: string, max = 600): string {
  const t = text.replace(/\s+\n/g, '\n').trim();
  const first = t.length > max ? t.slice(0, max) + '…' : t;
  return first;
}

export interface ReportContext {
  log: Log;
  /** What was being done ("Inject Bug"). */
  title: string;
  /** Told about Docker problems (sets the welcome view's context key). */
  onDocker?: (p: DockerProblem) => void;
}

/** Shows an error as an actionable message; never throws. */
export async function reportError(err: unknown, ctx: ReportContext): Promise<void> {
  try {
    if (isCancelled(err)) {
      ctx.log.info(`${ctx.title}: cancelled`);
      void vscode.window.showInformationMessage(`SSR: ${ctx.title} was cancelled.`);
      return;
    }
    const e = err instanceof Error ? err : new Error(String(err));
    ctx.log.error(`${ctx.title} failed: ${e.name}: ${e.message}`);
    if (e.stack) ctx.log.debug(e.stack);
    const msg = ctx.log.redact(oneLine(e.message));
    const buttons: Array<{ title: string; run: () => unknown }> = [];
    const showLog = { title: 'Show Log', run: () => ctx.log.show() };
    const openSettings = (q = '@ext:ssr-dev.ssr') => ({ title: 'Open Settings', run: () => vscode.commands.executeCommand('workbench.action.openSettings', q) });
    let text: string;
    const docker = dockerProblem(e);
    if (e instanceof SettingsError) {
      text = `SSR: ${msg}`;
      buttons.push(openSettings(e.setting), showLog);
    } else if (e instanceof NoWorkspaceError) {
      text = `SSR: ${msg}`;
      buttons.push({ title: 'Open Folder', run: () => vscode.commands.executeCommand('workbench.action.files.openFolder') });
    } else if (docker === 'unreachable') {
      ctx.onDocker?.(docker);
      text = `SSR: ${ctx.title} needs Docker, and no Docker engine answers. ${msg}`;
      buttons.push({ title: 'Retry', run: () => vscode.commands.executeCommand('ssr.refresh') }, showLog);
    } else if (docker === 'noImage') {
      ctx.onDocker?.(docker);
      text = `SSR: ${msg}`;
      buttons.push({ title: 'Build Image', run: () => vscode.commands.executeCommand('ssr.buildImage') }, openSettings('ssr.image'), showLog);
    } else if (e instanceof ModelServerError || e.name === 'PolicyError') {
      text = `SSR: the model could not be used: ${msg}`;
      buttons.push({ title: 'Configure Policy', run: () => vscode.commands.executeCommand('ssr.configurePolicy') }, openSettings('ssr.policy'), showLog);
    } else if (e.name === 'UsageError' && /needs a model|policy/i.test(e.message)) {
      text = `SSR: ${msg}`;
      buttons.push({ title: 'Configure Policy', run: () => vscode.commands.executeCommand('ssr.configurePolicy') }, showLog);
    } else if (e.name === 'UsageError' || e.name === 'EnvironmentError' || e.name === 'TrainerError' || e.name === 'NoProposalError') {
      text = `SSR: ${ctx.title}: ${msg}`;
      buttons.push(showLog);
    } else {
      text = `SSR: ${ctx.title} failed: ${msg}`;
      buttons.push(showLog);
    }
    const pick = await vscode.window.showErrorMessage(text, ...buttons.map((b) => b.title));
    const b = buttons.find((x) => x.title === pick);
    if (b) await b.run();
  } catch (inner) {
    ctx.log.error(`reporting an error failed: ${(inner as Error).message}`);
  }
}
