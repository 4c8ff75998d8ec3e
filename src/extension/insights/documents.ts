/**
 * Open Check Detail and Export HTML Report: a check's full detail as a
 * read-only markdown document, and a run written as `ssr report`'s
 * self-contained HTML file (src/core/report/html.ts).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { writeReport, loadReportAssets } from '../../core/report/html';
import type { CheckResult } from '../../core/judge/checks';
import { mdCode } from '../tree/nodes/treeNode';
import { pickRun, runArg, type InsightEnv } from './env';

export const openCheckDetail = (env: InsightEnv) => async (arg?: unknown) => {
  const c = arg as { runDir?: string; bugId?: string; check?: CheckResult } | undefined;
  if (!c?.check || !c.bugId) return;
  const text = `# ${c.check.id}: ${c.check.status}\n\nBug ${c.bugId} · ${c.check.durationMs} ms\n\n${mdCode(c.check.detail)}\n`;
  const uri = env.docs.memoryUri(`check|${c.runDir}|${c.bugId}|${c.check.id}`, text, `${c.bugId}/checks/${c.check.id}.md`);
  const doc = await vscode.languages.setTextDocumentLanguage(await vscode.workspace.openTextDocument(uri), 'markdown');
  await vscode.window.showTextDocument(doc, { preview: true });
};

export const exportReport = (env: InsightEnv) => async (arg?: unknown) => {
  let dir = runArg(arg);
  if (!dir) dir = (await pickRun(env, 'The run to write as an HTML report'))?.dir;
  if (!dir) return;
  const out = path.join(dir, 'report.html');
  const { bytes } = await writeReport(dir, out, loadReportAssets(path.join(env.extensionPath, 'dist')));
  env.log.info(`report of ${path.basename(dir)}: ${out} (${bytes} bytes)`);
  const b = await vscode.window.showInformationMessage(`SSR: report written: ${path.basename(dir)}/report.html (one file, no network).`, 'Reveal');
  if (b) await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(out));
};
