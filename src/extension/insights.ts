/**
 * The commands that show a run rather than change it: the session
 * dashboard, a bug's test matrix, its lineage (reveal a parent or child in
 * the Bugs view), its attempts side by side in the diff editor, a check's
 * full detail, and the self-contained HTML report. Data comes from core
 * (src/core/report/); this file only wires it to VS Code.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { attemptSummaries, reverseDiff, selectedAttempts, type AttemptSummary } from '../core/report/attempts';
import { writeReport, loadReportAssets } from '../core/report/html';
import { runName } from '../core/report/data';
import { readBugArtifact, type RunEntry } from '../core/selfplay/actions';
import type { CheckResult } from '../core/judge/checks';
import { wallNow, type DashboardPanels } from './dashboard/dashboardPanel';
import type { Log } from './log';
import type { ArtifactDocuments } from './review/artifactDocuments';
import type { RunsModel } from './state';
import type { BugsProvider } from './tree/providers';
import { mdCode } from './tree/nodes/treeNode';

export const INSIGHT_COMMANDS = {
  'ssr.openDashboard': 'Open Dashboard',
  'ssr.openTestMatrix': 'Open Test Matrix',
  'ssr.compareAttempts': 'Compare Attempts',
  'ssr.exportReport': 'Export HTML Report',
  'ssr.revealBug': 'Reveal Bug',
  'ssr.openCheckDetail': 'Open Check Detail',
} as const;

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
function bugArg(arg: unknown, second?: unknown): { runDir: string; bugId: string } | undefined {
  if (typeof arg === 'string' && typeof second === 'string') return { runDir: arg, bugId: second };
  if (arg && typeof arg === 'object' && 'runDir' in arg && 'bugId' in arg) {
    const a = arg as { runDir: unknown; bugId: unknown };
    if (typeof a.runDir === 'string' && typeof a.bugId === 'string') return { runDir: a.runDir, bugId: a.bugId };
  }
  return undefined;
}

function runArg(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  if (arg instanceof vscode.Uri) return arg.fsPath;
  if (arg && typeof arg === 'object' && 'runDir' in arg && typeof (arg as { runDir: unknown }).runDir === 'string') return (arg as { runDir: string }).runDir;
  return undefined;
}

function describeAttempt(a: AttemptSummary): string {
  const outcome = !a.done ? 'running' : a.solved ? 'solved' : a.tampered ? 'tampered' : 'not solved';
  return [outcome, a.steps !== undefined ? `${a.steps} steps` : '', a.patch ? `+${a.patchLines.added} −${a.patchLines.removed}` : 'no patch'].filter(Boolean).join(' · ');
}

export function registerInsights(env: InsightEnv): vscode.Disposable[] {
  const pickRun = async (placeHolder: string): Promise<RunEntry | undefined> => {
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
  };

  // `command`: when the person's choice was made (the command ran, or the pick closed), for the first-render timeline.
  const openDashboard = async (arg?: unknown) => {
    let command = wallNow();
    let dir = runArg(arg);
    if (!dir) {
      dir = (await pickRun('The run whose dashboard to open'))?.dir;
      command = wallNow();
    }
    if (dir) env.panels.openDashboard(dir, { command });
  };

  const openTestMatrix = async (arg?: unknown, second?: unknown) => {
    let command = wallNow();
    let b = bugArg(arg, second);
    if (!b) {
      b = await env.bugs.pickBug('The bug whose test matrix to open');
      command = wallNow();
    }
    if (b) env.panels.openMatrix(b.runDir, b.bugId, { command });
  };

  const revealBug = async (arg?: unknown, second?: unknown) => {
    const b = bugArg(arg, second);
    if (b) await env.bugs.revealBug(b.runDir, b.bugId);
  };

  const openCheckDetail = async (arg?: unknown) => {
    const c = arg as { runDir?: string; bugId?: string; check?: CheckResult } | undefined;
    if (!c?.check || !c.bugId) return;
    const text = `# ${c.check.id}: ${c.check.status}\n\nBug ${c.bugId} · ${c.check.durationMs} ms\n\n${mdCode(c.check.detail)}\n`;
    const uri = env.docs.memoryUri(`check|${c.runDir}|${c.bugId}|${c.check.id}`, text, `${c.bugId}/checks/${c.check.id}.md`);
    const doc = await vscode.languages.setTextDocumentLanguage(await vscode.workspace.openTextDocument(uri), 'markdown');
    await vscode.window.showTextDocument(doc, { preview: true });
  };

  /**
   * Attempts side by side: pick two or more attempts of a bug; the
   * multi-file diff editor shows each pair of consecutive picks' patches,
   * and each pick's patch against the reference fix (bug_inject.diff
   * reversed); a summary lists outcomes and step counts.
   */
  const compareAttempts = async (arg?: unknown, second?: unknown) => {
    const b = bugArg(arg, second) ?? (await env.bugs.pickBug('The bug whose attempts to compare'));
    if (!b) return;
    const all = await attemptSummaries(b.runDir, b.bugId);
    if (all.length < 1) {
      void vscode.window.showInformationMessage(`SSR: ${b.bugId} has no solver attempt yet.`);
      return;
    }
    const preset = arg && typeof arg === 'object' && 'attempts' in arg ? ((arg as { attempts?: number[] }).attempts ?? undefined) : selectedAttempts(arg, second, b);
    let chosen: AttemptSummary[];
    if (preset?.length) chosen = all.filter((a) => preset.includes(a.n));
    else if (all.length === 2) chosen = all;
    else {
      const picks = await vscode.window.showQuickPick(
        all.map((a) => ({ label: `attempt ${a.n + 1}`, description: describeAttempt(a), detail: a.files.join(', '), a })),
        { canPickMany: true, placeHolder: `Attempts of ${b.bugId} to compare (two or more; one compares it with the reference fix)` },
      );
      if (!picks?.length) return;
      chosen = picks.map((p) => p.a);
    }
    const artifact = await readBugArtifact(b.runDir, b.bugId);
    let fix: string;
    try {
      fix = reverseDiff(artifact.bugInjectDiff);
    } catch {
      fix = artifact.bugInjectDiff;
    }
    const mem = (key: string, text: string, display: string) => env.docs.memoryUri(`cmp|${b.runDir}|${b.bugId}|${key}`, text, `${b.bugId}/compare/${display}`);
    const fixUri = mem('fix', fix, 'reference fix (bug_inject.diff reversed).diff');
    const patchUri = (a: AttemptSummary) => mem(`a${a.n}`, a.patch ?? '', `attempt ${a.n + 1} (${a.done ? (a.solved ? 'solved' : a.tampered ? 'tampered' : 'not solved') : 'running'}).diff`);
    const rows = ['| attempt | outcome | reward | steps | files | +/− | detail |', '|---|---|---|---|---|---|---|'];
    const cell = (s: string) => s.replace(/[|\\`*_<>[\]]/g, '\\$&').replace(/\n/g, ' ');
    for (const a of chosen) {
      rows.push(`| ${a.n + 1} | ${!a.done ? 'running' : a.solved ? 'solved' : a.tampered ? 'tampered' : 'not solved'} | ${a.reward ?? ''} | ${a.steps ?? ''} | ${cell(a.files.join(', '))} | +${a.patchLines.added} −${a.patchLines.removed} | ${cell(a.detail ?? '')} |`);
    }
    const summary = `# Attempts of ${b.bugId}\n\n${rows.join('\n')}\n\nThe diff editor shows each pair of attempts' patches, and each patch against the reference fix (bug_inject.diff reversed).\n`;
    const sumDoc = await vscode.workspace.openTextDocument(mem('summary', summary, 'summary.md'));
    await vscode.window.showTextDocument(await vscode.languages.setTextDocumentLanguage(sumDoc, 'markdown'), { preview: false, preserveFocus: true });
    // Each row of the multi-file diff editor needs its own resource (its label): "attempt 1 ↔ attempt 2", "reference fix ↔ attempt 1".
    const label = (key: string, name: string) => mem(`label|${key}`, '', name);
    const pairs: Array<[vscode.Uri, vscode.Uri, vscode.Uri]> = [];
    for (let i = 0; i + 1 < chosen.length; i++) {
      const [a, c] = [chosen[i], chosen[i + 1]];
      pairs.push([label(`${a.n}-${c.n}`, `attempt ${a.n + 1} ↔ attempt ${c.n + 1}.diff`), patchUri(a), patchUri(c)]);
    }
    for (const a of chosen) pairs.push([label(`fix-${a.n}`, `reference fix ↔ attempt ${a.n + 1}.diff`), fixUri, patchUri(a)]);
    const title = `Attempts ${chosen.map((a) => a.n + 1).join(', ')} of ${b.bugId}`;
    if (pairs.length === 1) {
      await vscode.commands.executeCommand('vscode.diff', pairs[0][1], pairs[0][2], `reference fix ↔ attempt ${chosen[0].n + 1} of ${b.bugId}`);
      return;
    }
    try {
      await vscode.commands.executeCommand('vscode.changes', title, pairs);
    } catch {
      for (const [, l, r] of pairs) await vscode.commands.executeCommand('vscode.diff', l, r, title, { preview: false });
    }
  };

  const exportReport = async (arg?: unknown) => {
    let dir = runArg(arg);
    if (!dir) dir = (await pickRun('The run to write as an HTML report'))?.dir;
    if (!dir) return;
    const out = path.join(dir, 'report.html');
    const { bytes } = await writeReport(dir, out, loadReportAssets(path.join(env.extensionPath, 'dist')));
    env.log.info(`report of ${path.basename(dir)}: ${out} (${bytes} bytes)`);
    const b = await vscode.window.showInformationMessage(`SSR: report written: ${path.basename(dir)}/report.html (one file, no network).`, 'Reveal');
    if (b) await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(out));
  };

  const table: Record<keyof typeof INSIGHT_COMMANDS, (...a: unknown[]) => unknown> = {
    'ssr.openDashboard': openDashboard,
    'ssr.openTestMatrix': openTestMatrix,
    'ssr.compareAttempts': compareAttempts,
    'ssr.exportReport': exportReport,
    'ssr.revealBug': revealBug,
    'ssr.openCheckDetail': openCheckDetail,
  };
  return Object.entries(table).map(([id, fn]) =>
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        await env.report(err, INSIGHT_COMMANDS[id as keyof typeof INSIGHT_COMMANDS]);
      }
    }),
  );
}
