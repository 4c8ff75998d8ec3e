/**
 * The trajectory stepper: a webview panel that walks through an episode's
 * steps (assistant text, tool call, output, exit code, duration), with
 * keyboard navigation, find, a jump to the diff a step made, and live
 * updates while an episode runs.
 *
 * Security: a strict Content Security Policy (no remote content, scripts
 * only with the page's nonce, local resources through asWebviewUri), and
 * every piece of model or tool text is data: the page renders it with
 * textContent only (media/stepper.js). The panel survives reloads through
 * a WebviewPanelSerializer and the page's getState/setState.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { stepView, trajectoryView, type StepView, type TrajectoryView } from '../../core/selfplay/actions';
import type { Trajectory, TrajectoryStep } from '../../core/base/trajectory';
import type { ArtifactDocuments } from '../review/artifactDocuments';
import type { Log } from '../log';
import type { TrajectoryCache } from '../trajectories';

export const STEPPER_VIEW_TYPE = 'ssr.stepper';

/** What the page keeps across reloads (getState/setState) and the serializer gets back. */
export interface StepperState {
  source?: { file?: string; live?: string };
  selected?: number;
  query?: string;
}

type ToPage =
  | { type: 'load'; view: TrajectoryView; live: boolean; select?: number; source: StepperState['source'] }
  | { type: 'step'; step: StepView }
  | { type: 'status'; status: string; reward?: number; error?: string; live: boolean; source: StepperState['source'] }
  | { type: 'select'; index: number }
  | { type: 'error'; message: string };

type FromPage = { type: 'ready' } | { type: 'openDiff'; index: number } | { type: 'loaded'; steps: number; ms: number };

export class StepperPanel implements vscode.Disposable {
  private ready = false;
  private queue: ToPage[] = [];
  private disposables: vscode.Disposable[] = [];
  private liveTrajectory?: Trajectory;
  private pendingLoad?: ToPage;
  file?: string;
  liveKey?: string;
  private disposed = false;

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly host: StepperPanels,
  ) {
    const webview = panel.webview;
    webview.options = { enableScripts: true, localResourceRoots: [host.mediaRoot] };
    webview.html = host.html(webview);
    this.disposables.push(
      webview.onDidReceiveMessage((m: FromPage) => this.onMessage(m)),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  get key(): string {
    return this.file ?? this.liveKey ?? '';
  }

  private post(m: ToPage): void {
    if (m.type === 'load') this.pendingLoad = m;
    if (!this.ready) {
      if (m.type === 'load') this.queue = [m];
      else this.queue.push(m);
      return;
    }
    void this.panel.webview.postMessage(m);
  }

  private onMessage(m: FromPage): void {
    switch (m.type) {
      case 'ready': {
        this.ready = true;
        // A page that reloads (hidden and shown again) asks again: give it everything.
        const q = this.queue.length ? this.queue : this.pendingLoad ? [this.pendingLoad] : [];
        this.queue = [];
        for (const x of q) void this.panel.webview.postMessage(x);
        break;
      }
      case 'openDiff':
        void this.openDiff(m.index);
        break;
      case 'loaded':
        this.host.log.info(`stepper: ${m.steps} steps rendered in ${Math.round(m.ms)} ms`);
        break;
    }
  }

  private async openDiff(index: number): Promise<void> {
    try {
      if (this.file) {
        await this.host.docs.openDiff({ t: 'step', traj: this.file, step: index }, { preserveFocus: this.host.busy() });
        return;
      }
      const step = this.liveTrajectory?.steps.find((s) => s.index === index);
      if (!step?.diff) return;
      const uri = this.host.docs.memoryUri(`live|${this.liveKey}|${index}`, step.diff, `${this.liveKey}/step-${index + 1}.diff`);
      const doc = await vscode.languages.setTextDocumentLanguage(await vscode.workspace.openTextDocument(uri), 'diff');
      await vscode.window.showTextDocument(doc, { preview: true, preserveFocus: true });
    } catch (err) {
      this.host.log.warn(`step ${index + 1}: ${(err as Error).message}`);
      void vscode.window.showWarningMessage(`SSR: cannot show the diff of step ${index + 1}: ${(err as Error).message}`);
    }
  }

  /** Shows a trajectory file. */
  async loadFile(file: string, select?: number): Promise<void> {
    this.file = file;
    this.liveKey = undefined;
    try {
      const t = await this.host.cache.get(file);
      this.panel.title = titleOf(t);
      this.post({ type: 'load', view: trajectoryView(t), live: false, select, source: { file } });
    } catch (err) {
      this.post({ type: 'error', message: (err as Error).message });
    }
  }

  /** Starts showing an episode that is running. */
  startLive(key: string, t: Trajectory): void {
    this.liveKey = key;
    this.file = undefined;
    this.liveTrajectory = t;
    this.panel.title = `${titleOf(t)} (live)`;
    this.post({ type: 'load', view: trajectoryView(t), live: true, select: Math.max(0, t.steps.length - 1), source: { live: key } });
  }

  /** A new step of the live episode. */
  pushStep(t: Trajectory, step: TrajectoryStep): void {
    this.liveTrajectory = t;
    const v = stepView(t, step);
    // The load message a (re)loading page gets holds every step so far; a ready page gets the new one.
    if (this.pendingLoad?.type === 'load') {
      this.pendingLoad.view.steps.push(v);
      this.pendingLoad.select = v.index;
    }
    if (this.ready) void this.panel.webview.postMessage({ type: 'step', step: v } satisfies ToPage);
  }

  /** The live episode ended; `file` is where its trajectory was stored. */
  finish(t: Trajectory, file?: string): void {
    this.liveTrajectory = t;
    if (file && fs.existsSync(file)) {
      this.file = file;
      this.panel.title = titleOf(t);
    }
    const source = file ? { file } : { live: this.liveKey };
    if (this.pendingLoad?.type === 'load') {
      Object.assign(this.pendingLoad.view, { status: t.status, reward: t.reward, error: t.error });
      this.pendingLoad.live = false;
      this.pendingLoad.source = source;
    }
    if (this.ready) void this.panel.webview.postMessage({ type: 'status', status: t.status, reward: t.reward, error: t.error, live: false, source } satisfies ToPage);
  }

  select(index: number): void {
    this.post({ type: 'select', index });
  }

  showError(message: string): void {
    this.post({ type: 'error', message });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.host.forget(this);
    for (const d of this.disposables) d.dispose();
    this.panel.dispose();
  }
}

function titleOf(t: Pick<Trajectory, 'role' | 'id'>): string {
  return `${t.role === 'injector' ? 'Injector' : 'Solver'} ${t.id}`;
}

export class StepperPanels implements vscode.WebviewPanelSerializer<StepperState>, vscode.Disposable {
  private readonly panels = new Set<StepperPanel>();
  readonly mediaRoot: vscode.Uri;
  private readonly registration: vscode.Disposable;

  constructor(
    extensionUri: vscode.Uri,
    readonly cache: TrajectoryCache,
    readonly docs: ArtifactDocuments,
    readonly log: Log,
    readonly busy: () => boolean,
  ) {
    this.mediaRoot = vscode.Uri.joinPath(extensionUri, 'media');
    this.registration = vscode.window.registerWebviewPanelSerializer(STEPPER_VIEW_TYPE, this);
  }

  html(webview: vscode.Webview): string {
    const nonce = randomBytes(18).toString('base64');
    const css = webview.asWebviewUri(vscode.Uri.joinPath(this.mediaRoot, 'stepper.css'));
    const js = webview.asWebviewUri(vscode.Uri.joinPath(this.mediaRoot, 'stepper.js'));
    const csp = [
      "default-src 'none'",
      `style-src ${webview.cspSource}`,
      `script-src 'nonce-${nonce}'`,
      `img-src ${webview.cspSource}`,
      `font-src ${webview.cspSource}`,
      "connect-src 'none'",
      "frame-src 'none'",
      "form-action 'none'",
      "base-uri 'none'",
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${css}">
<title>Trajectory</title>
</head>
<body>
<header id="header">
  <div id="title-row"><h1 id="title">Loading trajectory…</h1><span id="badges"></span></div>
  <div id="toolbar" role="toolbar" aria-label="Steps">
    <button id="first" type="button" title="First step (Home)" aria-label="First step">First</button>
    <button id="prev" type="button" title="Previous step (ArrowUp or k)" aria-label="Previous step">◀ Prev</button>
    <span id="position" aria-live="polite"></span>
    <button id="next" type="button" title="Next step (ArrowDown or j)" aria-label="Next step">Next ▶</button>
    <button id="last" type="button" title="Last step (End)" aria-label="Last step">Last</button>
    <input id="search" type="search" placeholder="Find in steps (/)" aria-label="Find in steps" spellcheck="false">
    <span id="matches"></span>
  </div>
</header>
<main id="main">
  <nav id="side" aria-label="Steps"><ol id="steps" role="listbox" tabindex="0" aria-label="Steps"></ol></nav>
  <section id="detail" aria-live="polite"></section>
</main>
<script nonce="${nonce}" src="${js}"></script>
</body>
</html>`;
  }

  private create(title: string, preserveFocus: boolean): StepperPanel {
    const panel = vscode.window.createWebviewPanel(STEPPER_VIEW_TYPE, title, { viewColumn: vscode.ViewColumn.Active, preserveFocus }, {
      enableScripts: true,
      retainContextWhenHidden: false,
      enableFindWidget: false,
      localResourceRoots: [this.mediaRoot],
    });
    panel.iconPath = vscode.Uri.joinPath(this.mediaRoot, 'ssr.svg');
    const p = new StepperPanel(panel, this);
    this.panels.add(p);
    return p;
  }

  /** Opens (or reveals) the stepper on a trajectory file, at `step` when given. */
  async openFile(file: string, opts: { step?: number; preserveFocus?: boolean } = {}): Promise<StepperPanel> {
    const abs = path.resolve(file);
    for (const p of this.panels) {
      if (p.file === abs) {
        p.panel.reveal(undefined, opts.preserveFocus ?? false);
        if (opts.step !== undefined) p.select(opts.step);
        return p;
      }
    }
    const p = this.create(path.basename(abs), opts.preserveFocus ?? false);
    await p.loadFile(abs, opts.step);
    return p;
  }

  /** The panel following a live episode (created on its first step, without taking focus). */
  live(key: string, t: Trajectory): StepperPanel {
    for (const p of this.panels) if (p.liveKey === key) return p;
    const p = this.create(t.id, true);
    p.startLive(key, t);
    return p;
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: StepperState | undefined): Promise<void> {
    const p = new StepperPanel(panel, this);
    this.panels.add(p);
    const file = state?.source?.file;
    if (file && fs.existsSync(file)) {
      await p.loadFile(file, state?.selected);
    } else {
      panel.title = 'Trajectory';
      p.showError(file ? `The trajectory ${file} is gone.` : 'This episode was running when the window closed: open its trajectory from the Trajectories view.');
    }
  }

  forget(p: StepperPanel): void {
    this.panels.delete(p);
  }

  dispose(): void {
    for (const p of [...this.panels]) p.dispose();
    this.registration.dispose();
  }
}
