/**
 * Compare Attempts: pick two or more attempts of a bug; the multi-file diff
 * editor shows each pair of consecutive picks' patches, and each pick's
 * patch against the reference fix (bug_inject.diff reversed); a summary
 * lists outcomes and step counts.
 */
import * as vscode from 'vscode';
import { attemptSummaries, reverseDiff, selectedAttempts, type AttemptSummary } from '../../core/report/attempts';
import { readBugArtifact } from '../../core/selfplay/actions';
import { bugArg, type InsightEnv } from './env';

type Bug = { runDir: string; bugId: string };
type Mem = (key: string, text: string, display: string) => vscode.Uri;

const outcome = (a: AttemptSummary) => (!a.done ? 'running' : a.solved ? 'solved' : a.tampered ? 'tampered' : 'not solved');

function describeAttempt(a: AttemptSummary): string {
  return [outcome(a), a.steps !== undefined ? `${a.steps} steps` : '', a.patch ? `+${a.patchLines.added} −${a.patchLines.removed}` : 'no patch'].filter(Boolean).join(' · ');
}

export const compareAttempts = (env: InsightEnv) => async (arg?: unknown, second?: unknown) => {
  const b = bugArg(arg, second) ?? (await env.bugs.pickBug('The bug whose attempts to compare'));
  if (!b) return;
  const all = await attemptSummaries(b.runDir, b.bugId);
  if (all.length < 1) {
    void vscode.window.showInformationMessage(`SSR: ${b.bugId} has no solver attempt yet.`);
    return;
  }
  const chosen = await chooseAttempts(all, b, arg, second);
  if (!chosen) return;
  const fix = await referenceFix(b);
  const mem: Mem = (key, text, display) => env.docs.memoryUri(`cmp|${b.runDir}|${b.bugId}|${key}`, text, `${b.bugId}/compare/${display}`);
  const sumDoc = await vscode.workspace.openTextDocument(mem('summary', summaryMarkdown(b.bugId, chosen), 'summary.md'));
  await vscode.window.showTextDocument(await vscode.languages.setTextDocumentLanguage(sumDoc, 'markdown'), { preview: false, preserveFocus: true });
  await showDiffs(b, chosen, mem, fix);
};

/** The attempts named by the arguments (or the selection), both when there are two, else the person's picks. */
async function chooseAttempts(all: AttemptSummary[], b: Bug, arg: unknown, second: unknown): Promise<AttemptSummary[] | undefined> {
  const preset = arg && typeof arg === 'object' && 'attempts' in arg ? ((arg as { attempts?: number[] }).attempts ?? undefined) : selectedAttempts(arg, second, b);
  if (preset?.length) return all.filter((a) => preset.includes(a.n));
  if (all.length === 2) return all;
  const picks = await vscode.window.showQuickPick(
    all.map((a) => ({ label: `attempt ${a.n + 1}`, description: describeAttempt(a), detail: a.files.join(', '), a })),
    { canPickMany: true, placeHolder: `Attempts of ${b.bugId} to compare (two or more; one compares it with the reference fix)` },
  );
  if (!picks?.length) return undefined;
  return picks.map((p) => p.a);
}

/** bug_inject.diff reversed (the diff as it is when it cannot be reversed). */
async function referenceFix(b: Bug): Promise<string> {
  const artifact = await readBugArtifact(b.runDir, b.bugId);
  try {
    return reverseDiff(artifact.bugInjectDiff);
  } catch {
    return artifact.bugInjectDiff;
  }
}

function summaryMarkdown(bugId: string, chosen: AttemptSummary[]): string {
  const rows = ['| attempt | outcome | reward | steps | files | +/− | detail |', '|---|---|---|---|---|---|---|'];
  const cell = (s: string) => s.replace(/[|\\`*_<>[\]]/g, '\\$&').replace(/\n/g, ' ');
  for (const a of chosen) {
    rows.push(`| ${a.n + 1} | ${outcome(a)} | ${a.reward ?? ''} | ${a.steps ?? ''} | ${cell(a.files.join(', '))} | +${a.patchLines.added} −${a.patchLines.removed} | ${cell(a.detail ?? '')} |`);
  }
  return `# Attempts of ${bugId}\n\n${rows.join('\n')}\n\nThe diff editor shows each pair of attempts' patches, and each patch against the reference fix (bug_inject.diff reversed).\n`;
}

/** One diff: the pick against the reference fix; more: the multi-file diff editor (or one diff tab each). */
async function showDiffs(b: Bug, chosen: AttemptSummary[], mem: Mem, fix: string): Promise<void> {
  const fixUri = mem('fix', fix, 'reference fix (bug_inject.diff reversed).diff');
  const patchUri = (a: AttemptSummary) => mem(`a${a.n}`, a.patch ?? '', `attempt ${a.n + 1} (${outcome(a)}).diff`);
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
}
