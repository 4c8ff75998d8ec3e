/**
 * What the insight commands (src/extension/insights.ts) share: the editor
 * services they use, and how each reads its arguments (a tree node, a URI,
 * plain strings) or asks for a run.
 */
import * as vscode from 'vscode';
import { runName } from '../../core/report/data';
import type { RunEntry } from '../../core/selfplay/actions';
import type { DashboardPanels } from '../dashboard/dashboardPanel';
import type { Log } from '../log';
import type { ArtifactDocuments } from '../review/artifactDocuments';
import type { RunsModel } from '../state';
import type { BugsProvider } from '../tree/providers';

export interface InsightEnv {
  extensionPath: string;
  model: RunsModel;
  panels: DashboardPanels;
  docs: ArtifactDocuments;
  log: Log;
  bugs: BugsProvider;
  report: (err: unknown, title: string) => Promise<void>;
}

/** A bug named by a tree node ({runDir, bugId}) or by arguments. */
export function bugArg(arg: unknown, second?: unknown): { runDir: string; bugId: string } | undefined {
  if (typeof arg === 'string' && typeof second === 'string') return { runDir: arg, bugId: second };
  if (arg && typeof arg === 'object' && 'runDir' in arg && 'bugId' in arg) {
    const a = arg as { runDir: unknown; bugId: unknown };
    if (typeof a.runDir === 'string' && typeof a.bugId === 'string') return { runDir: a.runDir, bugId: a.bugId };
  }
  return undefined;
}

export function runArg(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  if (arg instanceof vscode.Uri) return arg.fsPath;
  if (arg && typeof arg === 'object' && 'runDir' in arg && typeof (arg as { runDir: unknown }).runDir === 'string') return (arg as { runDir: string }).runDir;
  return undefined;
}

/** The run of a session to show: the only one, or the person's pick (the running one preselected). */
export async function pickRun(env: InsightEnv, placeHolder: string): Promise<RunEntry | undefined> {
  await env.model.refresh();
  const runs = env.model.runs.filter((r) => r.session);
  if (!runs.length) {
    void vscode.window.showInformationMessage('SSR: there is no run yet. Start a self-play session or inject a bug first.');
    return undefined;
  }
  if (runs.length === 1) return runs[0];
  const running = runs.find((r) => r.state === 'running');
  const items = runs.map((r) => ({ label: r.session ? runName(r.session, r.id) : r.id, description: `${r.state === 'cancelled' ? 'stopped' : r.state} · ${r.id}`, run: r, picked: r === running }));
  const pick = await vscode.window.showQuickPick(items, { placeHolder });
  return pick?.run;
}
