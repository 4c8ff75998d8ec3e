/**
 * Read-only documents under the `ssr-artifact:` scheme, and the diff
 * editors built from them: a bug's bug_inject.diff / test_weaken.diff, a
 * solver's pred_patch.diff and the diff one agent step made, each shown as
 * VS Code's diff editor of the original file against the patched one. The
 * original comes from the workspace file (read, never written); the patched
 * side is computed by core (src/core/artifact/review.ts). The artifact's other files
 * open read-only from here too.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readBugArtifact, readRun, repoFileReader, stateBeforeStep } from '../../core/selfplay/actions';
import { readTrajectory } from '../../core/selfplay/episodes';
import { readerAfter, reviewDiff, type FileReader, type ReviewFile } from '../../core/artifact/review';
import type { Trajectory } from '../../core/base/trajectory';
import type { Log } from '../log';

export const SCHEME = 'ssr-artifact';

/** Where a diff comes from. */
export type DiffSource =
  | { t: 'artifact'; run: string; bug: string; file: 'bug_inject.diff' | 'test_weaken.diff' }
  | { t: 'patch'; run: string; bug: string; attempt: number }
  | { t: 'step'; traj: string; step: number };

type Spec =
  | { k: 'file'; p: string }
  | { k: 'side'; side: 'a' | 'b'; src: DiffSource; path: string }
  | { k: 'raw'; src: DiffSource }
  | { k: 'mem'; id: string };

function encode(spec: Spec, display: string): vscode.Uri {
  const clean = display.replace(/^\/+/, '').replace(/[?#]/g, '_');
  return vscode.Uri.from({ scheme: SCHEME, path: '/' + clean, query: Buffer.from(JSON.stringify(spec)).toString('base64url') });
}

function decode(uri: vscode.Uri): Spec {
  return JSON.parse(Buffer.from(uri.query, 'base64url').toString('utf8')) as Spec;
}

interface Resolved {
  diff: string;
  base: FileReader;
  label: string;
  /** Short name of the run and bug, for titles. */
  where: string;
}

export class ArtifactDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly memory = new Map<string, string>();
  private readonly trajectories = new Map<string, { mtime: number; t: Trajectory }>();
  private readonly registration: vscode.Disposable;

  constructor(
    private readonly log: Log,
    private readonly workspaceRepo: () => string | undefined,
  ) {
    this.registration = vscode.workspace.registerTextDocumentContentProvider(SCHEME, this);
  }

  /** A read-only view of a file of the run directory. */
  fileUri(absPath: string, display?: string): vscode.Uri {
    return encode({ k: 'file', p: absPath }, display ?? absPath);
  }

  /** A read-only in-memory document (reports). */
  memoryUri(id: string, text: string, display: string): vscode.Uri {
    this.memory.set(id, text);
    const uri = encode({ k: 'mem', id }, display);
    this.changed.fire(uri);
    return uri;
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    let spec: Spec;
    try {
      spec = decode(uri);
    } catch {
      return `This ${SCHEME}: link is damaged (${uri.toString(true)}).`;
    }
    try {
      switch (spec.k) {
        case 'file':
          return await fs.promises.readFile(spec.p, 'utf8');
        case 'mem':
          return this.memory.get(spec.id) ?? '(this report is gone: run the command again)';
        case 'raw':
          return (await this.resolve(spec.src)).diff;
        case 'side': {
          const r = await this.resolve(spec.src);
          const f = reviewDiff(r.diff, r.base).find((x) => x.path === spec.path);
          if (!f) return '';
          return spec.side === 'a' ? f.original : (f.patched ?? f.original);
        }
      }
    } catch (err) {
      this.log.warn(`${uri.toString(true)}: ${(err as Error).message}`);
      return `SSR could not read this document: ${(err as Error).message}`;
    }
  }

  private async trajectory(file: string): Promise<Trajectory> {
    const st = await fs.promises.stat(file);
    const hit = this.trajectories.get(file);
    if (hit && hit.mtime === st.mtimeMs) return hit.t;
    const t = await readTrajectory(file);
    this.trajectories.set(file, { mtime: st.mtimeMs, t });
    return t;
  }

  private async repoReader(runDir: string | undefined): Promise<FileReader> {
    let repo: string | undefined;
    if (runDir) {
      const run = await readRun(runDir);
      const rec = run.session?.config?.repoDir;
      if (rec && fs.existsSync(rec)) repo = rec;
    }
    repo ??= this.workspaceRepo();
    if (!repo) return () => undefined;
    return repoFileReader(repo);
  }

  /** The diff text and the state it applies to. */
  async resolve(src: DiffSource): Promise<Resolved> {
    switch (src.t) {
      case 'artifact': {
        const diff = await fs.promises.readFile(path.join(src.run, 'bugs', src.bug, 'artifact', src.file), 'utf8');
        return { diff, base: await this.repoReader(src.run), label: src.file, where: src.bug };
      }
      case 'patch': {
        const diff = await fs.promises.readFile(path.join(src.run, 'bugs', src.bug, 'attempts', String(src.attempt), 'pred_patch.diff'), 'utf8');
        const a = await readBugArtifact(src.run, src.bug);
        return { diff, base: readerAfter(await this.repoReader(src.run), [a.bugInjectDiff, a.testWeakenDiff]), label: `attempt ${src.attempt + 1} patch`, where: src.bug };
      }
      case 'step': {
        const t = await this.trajectory(src.traj);
        const step = t.steps.find((s) => s.index === src.step);
        if (!step?.diff) throw new Error(`step ${src.step + 1} of ${path.basename(src.traj)} changed no file`);
        // bugs/<bug>/attempts/<n>/trajectory.json or bugs/<bug>/injector.json inside a run.
        const m = /^(.*)[\\/]bugs[\\/]([^\\/]+)[\\/](?:attempts[\\/]\d+[\\/]trajectory\.json|injector\.json)$/.exec(src.traj);
        const runDir = m?.[1];
        let artifact;
        if (m && t.role === 'solver') artifact = await readBugArtifact(m[1], m[2]).catch(() => undefined);
        const base = stateBeforeStep(await this.repoReader(runDir), t, src.step, artifact);
        return { diff: step.diff, base, label: `step ${src.step + 1}`, where: t.id };
      }
    }
  }

  /**
   * Opens the diff editor for every file the diff touches: one diff editor
   * for one file, the multi-file diff editor for several. Files whose
   * hunks do not apply to the current workspace are shown as the raw diff.
   */
  async openDiff(src: DiffSource, opts: { preserveFocus?: boolean } = {}): Promise<void> {
    const r = await this.resolve(src);
    const files = reviewDiff(r.diff, r.base);
    const show: vscode.TextDocumentShowOptions = { preview: true, preserveFocus: opts.preserveFocus ?? false };
    const rawUri = encode({ k: 'raw', src }, `${r.where}/${r.label.replace(/\s+/g, '-')}.diff`);
    if (files.length === 0) {
      await vscode.window.showTextDocument(await vscode.languages.setTextDocumentLanguage(await vscode.workspace.openTextDocument(rawUri), 'diff'), show);
      return;
    }
    const broken = files.filter((f) => f.patched === undefined);
    if (broken.length) {
      this.log.warn(`${r.label} of ${r.where}: ${broken.map((f) => f.error).join('; ')}; showing the raw diff`);
      await vscode.window.showTextDocument(await vscode.languages.setTextDocumentLanguage(await vscode.workspace.openTextDocument(rawUri), 'diff'), show);
      void vscode.window.setStatusBarMessage(`SSR: ${broken.length} file(s) of ${r.label} do not apply to the workspace as it is now: showing the diff itself`, 8000);
      return;
    }
    // Both sides carry the same path (they differ in the query only): the multi-file diff editor then reads each row
    // as one file, original against patched, not as a rename from one path to another.
    const side = (f: ReviewFile, s: 'a' | 'b') => encode({ k: 'side', side: s, src, path: f.path }, `${r.where}/${f.path}`);
    if (files.length === 1) {
      const f = files[0];
      await vscode.commands.executeCommand('vscode.diff', side(f, 'a'), side(f, 'b'), `${f.path} (original ↔ ${r.label})`, show);
      return;
    }
    const oneByOne = async () => {
      for (const f of files) await vscode.commands.executeCommand('vscode.diff', side(f, 'a'), side(f, 'b'), `${f.path} (original ↔ ${r.label})`, { ...show, preview: false });
    };
    // The multi-file diff editor takes focus: while a session runs, open the files one by one without focus.
    if (show.preserveFocus) return oneByOne();
    try {
      await vscode.commands.executeCommand(
        'vscode.changes',
        // VS Code adds "(N files)" to the tab title itself.
        `${r.label} of ${r.where}`,
        files.map((f) => [side(f, 'b'), side(f, 'a'), side(f, 'b')]),
      );
    } catch {
      await oneByOne();
    }
  }

  /** Opens a run file read-only. */
  async openReadOnly(absPath: string, display: string, opts: { preserveFocus?: boolean } = {}): Promise<void> {
    const doc = await vscode.workspace.openTextDocument(this.fileUri(absPath, display));
    await vscode.window.showTextDocument(doc, { preview: true, preserveFocus: opts.preserveFocus ?? false });
  }

  dispose(): void {
    this.registration.dispose();
    this.changed.dispose();
  }
}
