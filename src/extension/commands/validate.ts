/**
 * "SSR: Validate Artifact": the seven checks again on a stored bug (core's
 * revalidateBug, its verdict stored) or on any artifact folder (core's
 * validateFolder, as `ssr validate`; the report opens as Markdown).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatValidationReport, listBugEntries, revalidateBug, validateFolder } from '../../core/selfplay/actions';
import { requireWorkspace } from '../state';
import type { SsrSettings } from '../settings';
import { BugNode } from '../tree/nodes/bugNode';
import { busy, type CommandEnv, type SsrCommand } from './context';
import type { BugTarget } from './pick';
import { ensureDocker, settingsFor } from './preflight';

type Target = { bug: BugTarget } | { folder: string };

/** The bug or folder of the argument, else picked: one of the active run's bugs or a folder chosen on disk. */
async function pickTarget(env: CommandEnv, arg: unknown): Promise<Target | undefined> {
  if (arg instanceof BugNode) return { bug: { runDir: arg.runDir, bugId: arg.bugId } };
  if (arg instanceof vscode.Uri) return { folder: arg.fsPath };
  const run = env.model.activeRun;
  const bugs = run ? (await listBugEntries(run.dir)).filter((b) => b.record) : [];
  const items: Array<vscode.QuickPickItem & { bugId?: string; browse?: boolean }> = [
    { label: '$(folder-opened) Choose an artifact folder…', description: 'a folder with the five files', browse: true },
    ...bugs.map((b) => ({ label: b.id, description: `run ${run!.id} · ${b.record!.valid ? 'valid' : b.record!.valid === false ? 'invalid' : b.record!.status}`, bugId: b.id })),
  ];
  const pick = await vscode.window.showQuickPick(items, { placeHolder: 'Validate a stored bug again, or any artifact folder' });
  if (!pick) return undefined;
  if (!pick.browse) return { bug: { runDir: run!.dir, bugId: pick.bugId! } };
  const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: 'Validate', title: 'Artifact folder (test_script.sh, test_files.txt, test_parser.py, bug_inject.diff, test_weaken.diff)' });
  if (!picked?.length) return undefined;
  return { folder: picked[0].fsPath };
}

async function revalidate(env: CommandEnv, s: SsrSettings, b: BugTarget): Promise<void> {
  const report = await env.jobs.run(`Validate ${b.bugId}`, 'validate', (ctl) => {
    ctl.attachRun(b.runDir);
    return revalidateBug(b.runDir, b.bugId, {
      image: s.image,
      concurrency: s.concurrency,
      signal: ctl.signal,
      onCheck: (c) => env.log.info(`  ${b.bugId} ${c.id}: ${c.status} (${c.detail.split('\n')[0]})`),
      onEvent: (e) => ctl.onValidationEvent(e, b.bugId),
    });
  });
  env.model.scheduleRefresh(50);
  const text = report.valid ? `SSR: ${b.bugId} is valid: all seven checks pass.` : `SSR: ${b.bugId} is invalid: ${report.firstFailure} failed.`;
  void (report.valid ? vscode.window.showInformationMessage(text) : vscode.window.showWarningMessage(text));
}

async function validateDir(env: CommandEnv, s: SsrSettings, repo: string, dir: string): Promise<void> {
  const report = await env.jobs.run(`Validate ${path.basename(dir)}`, 'validate', (ctl) => {
    return validateFolder(dir, {
      repoDir: repo,
      image: s.image,
      thresholds: s.thresholds,
      concurrency: s.concurrency,
      signal: ctl.signal,
      onCheck: (c) => env.log.info(`  ${path.basename(dir)} ${c.id}: ${c.status} (${c.detail.split('\n')[0]})`),
      onEvent: (e) => ctl.onValidationEvent(e, path.basename(dir)),
    });
  });
  const uri = env.docs.memoryUri(`report|${dir}`, formatValidationReport(report, `Validation of ${dir}`), `reports/${path.basename(dir)}-validation.md`);
  const doc = await vscode.languages.setTextDocumentLanguage(await vscode.workspace.openTextDocument(uri), 'markdown');
  await vscode.window.showTextDocument(doc, { preview: true, preserveFocus: busy(env) });
}

async function validate(env: CommandEnv, arg: unknown): Promise<void> {
  const repo = requireWorkspace();
  const s = await settingsFor(env, repo);
  const target = await pickTarget(env, arg);
  if (!target) return;
  await ensureDocker(env, s.image);
  if ('bug' in target) await revalidate(env, s, target.bug);
  else await validateDir(env, s, repo, target.folder);
}

export const validateCommand: SsrCommand = { id: 'ssr.validateArtifact', title: 'Validate Artifact', run: (env, a) => validate(env, a) };
