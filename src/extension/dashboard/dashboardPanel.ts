/**
 * The session dashboard and the test matrix: webview panels that render
 * core's report data (src/core/report/) with the same page script as
 * `ssr report` (media/dashboard/, joined by core's dashboardScript) and
 * Chart.js, loaded from the extension's own files.
 *
 * Security: a strict Content Security Policy (default-src 'none'; scripts
 * and styles only with the page's nonce: the page's own, inline, and
 * Chart.js, which the page adds after its first paint; no remote content),
 * and the page sets all text with textContent. The dashboard of a running
 * run updates as the run's files change (the runs model's change events,
 * coalesced).
 *
 * First render: the HTML is set at once, the data posted as soon as it is
 * read (VS Code hands it over when the page has loaded), and each step of
 * the opening is timestamped on the wall clock (HostMarks here, the page's
 * own marks there) so the e2e benchmark can print where the time goes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { loadRunReport } from '../../core/report/data';
import { bugMatrix, dashboardScript, inlineJs } from '../../core/report/html';
import type { TestMatrix } from '../../core/report/matrix';
import type { ArtifactDocuments } from '../review/artifactDocuments';
import type { Log } from '../log';
import type { RunsModel } from '../state';

export const DASHBOARD_VIEW_TYPE = 'ssr.dashboard';
export const MATRIX_VIEW_TYPE = 'ssr.testMatrix';

/** Wall-clock timestamps (ms since the epoch) of one panel's opening, in the extension host. */
export interface HostMarks {
  /** The command started. */
  command?: number;
  /** createWebviewPanel returned. */
  created?: number;
  /** The page's HTML was set. */
  html?: number;
  /** The data was read and posted to the page. */
  sent?: number;
}
export const wallNow = (): number => performance.timeOrigin + performance.now();

type FromPage =
  | { type: 'ready' }
  | { type: 'rendered'; kind: string; ms: number; renderMs?: number; rows?: number; states?: number; rounds?: number; marks?: Record<string, unknown> }
  | { type: 'openBug'; bugId: string }
  | { type: 'openMatrix'; bugId: string }
  | { type: 'openMatrixPanel'; bugId: string }
  | { type: 'matrixClosed' }
  | { type: 'openLog'; bugId?: string; state: string; test?: string };

/** What the e2e benchmark reads back: the last render of each kind of page. */
export interface RenderStat {
  kind: string;
  /** From the page script's start to the first render done (page time). */
  pageMs: number;
  renderMs?: number;
  /** From the command to the page's first render (what a person waits). */
  openToRenderMs?: number;
  updates: number;
}

abstract class Panel implements vscode.Disposable {
  protected ready = false;
  private seq = 0;
  protected disposables: vscode.Disposable[] = [];
  private pending?: unknown;
  disposed = false;
  readonly openedAt = performance.now();
  updates = 0;
  firstRender?: RenderStat;
  readonly marks: HostMarks;

  constructor(
    readonly panel: vscode.WebviewPanel,
    protected readonly host: DashboardPanels,
    mode: 'dashboard' | 'matrix',
    marks: HostMarks,
  ) {
    this.marks = { ...marks, created: marks.created ?? wallNow() };
    panel.webview.options = { enableScripts: true, localResourceRoots: host.roots };
    panel.webview.html = host.html(panel.webview, mode);
    this.marks.html = wallNow();
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: FromPage) => this.onMessage(m)),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  /**
   * Posts at once, without waiting for the page's 'ready': VS Code holds a message for a webview whose page has not
   * loaded yet and hands it over when it has, so the data does not wait for a round trip. The page's 'ready' makes
   * the panel post the latest message again; the page skips a sequence number it has already drawn.
   */
  /** Posts a message that is not the page's state to restore (the matrix shown inside the dashboard). */
  protected post(m: Record<string, unknown>): void {
    void this.panel.webview.postMessage({ ...m, seq: ++this.seq });
  }

  protected send(m: Record<string, unknown>): void {
    m = { ...m, seq: ++this.seq };
    if (!this.marks.sent) {
      this.marks.sent = wallNow();
      m.host = this.marks;
    }
    this.pending = m;
    void this.panel.webview.postMessage(m);
  }

  protected onMessage(m: FromPage): void {
    switch (m.type) {
      case 'ready':
        this.ready = true;
        if (this.pending) void this.panel.webview.postMessage(this.pending);
        break;
      case 'rendered':
        this.updates++;
        if (!this.firstRender) {
          this.firstRender = { kind: m.kind, pageMs: m.ms, renderMs: m.renderMs, openToRenderMs: performance.now() - this.openedAt, updates: 1 };
          this.host.log.info(`${m.kind}: first render ${Math.round(performance.now() - this.openedAt)} ms after opening (page ${Math.round(m.ms)} ms, render ${Math.round(m.renderMs ?? 0)} ms)${m.marks ? `; timeline ${JSON.stringify(m.marks)}` : ''}`);
        }
        this.host.lastRender = { ...(this.firstRender as RenderStat), updates: this.updates };
        break;
      default:
        this.handle(m);
    }
  }

  protected abstract handle(m: FromPage): void;

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const d of this.disposables) d.dispose();
    this.panel.dispose();
    this.host.forget(this as unknown as DashboardPanel | MatrixPanel);
  }
}

export class DashboardPanel extends Panel {
  private timer?: NodeJS.Timeout;
  private loading = false;
  private again = false;

  constructor(
    panel: vscode.WebviewPanel,
    host: DashboardPanels,
    readonly runDir: string,
    marks: HostMarks = {},
  ) {
    super(panel, host, 'dashboard', marks);
    // Live: every change the runs model sees (this window's sessions, the CLI in a terminal) reloads the data.
    this.disposables.push(host.model.onDidChange(() => this.schedule()));
    void this.load();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.load();
    }, 250);
  }

  async load(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = true;
    try {
      const data = await loadRunReport(this.runDir);
      this.panel.title = `Dashboard: ${data.run.name}`;
      this.send({ type: 'data', data });
    } catch (err) {
      this.send({ type: 'error', message: `Cannot read run ${path.basename(this.runDir)}: ${(err as Error).message}` });
    } finally {
      this.loading = false;
      if (this.again) {
        this.again = false;
        this.schedule();
      }
    }
  }

  private readonly matrices = new Map<string, TestMatrix>();

  protected handle(m: FromPage): void {
    if (m.type === 'openBug') void vscode.commands.executeCommand('ssr.revealBug', this.runDir, m.bugId);
    // The Matrix button shows the matrix inside this page (a new webview costs over a second in code-server);
    // "Open in its own tab" makes it a panel of its own.
    if (m.type === 'openMatrix') void this.showMatrix(m.bugId);
    if (m.type === 'openMatrixPanel') void vscode.commands.executeCommand('ssr.openTestMatrix', { runDir: this.runDir, bugId: m.bugId });
    if (m.type === 'matrixClosed') this.matrices.clear();
    if (m.type === 'openLog' && m.bugId) {
      const matrix = this.matrices.get(m.bugId);
      if (matrix) void this.host.openStateLog(this.runDir, m.bugId, matrix, m.state);
    }
  }

  private async showMatrix(bugId: string): Promise<void> {
    try {
      const matrix = await bugMatrix(this.runDir, bugId);
      if (!matrix) {
        this.post({ type: 'error', bugId, message: `${bugId} has no validation report with test runs yet (validate it first).` });
        return;
      }
      this.matrices.clear();
      this.matrices.set(bugId, matrix);
      this.post({ type: 'matrix', bugId, matrix });
    } catch (err) {
      this.post({ type: 'error', bugId, message: `Cannot read the validation of ${bugId}: ${(err as Error).message}` });
    }
  }

  override dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    super.dispose();
  }
}

export class MatrixPanel extends Panel {
  private matrix?: TestMatrix;

  constructor(
    panel: vscode.WebviewPanel,
    host: DashboardPanels,
    readonly runDir: string,
    readonly bugId: string,
    marks: HostMarks = {},
  ) {
    super(panel, host, 'matrix', marks);
    panel.title = `Test matrix: ${bugId}`;
    void this.load();
  }

  async load(): Promise<void> {
    try {
      this.matrix = await bugMatrix(this.runDir, this.bugId);
      if (!this.matrix) {
        this.send({ type: 'error', message: `${this.bugId} has no validation report with test runs yet (validate it first).` });
        return;
      }
      this.send({ type: 'matrix', bugId: this.bugId, matrix: this.matrix });
    } catch (err) {
      this.send({ type: 'error', message: `Cannot read the validation of ${this.bugId}: ${(err as Error).message}` });
    }
  }

  protected handle(m: FromPage): void {
    if (m.type !== 'openLog' || !this.matrix) return;
    void this.host.openStateLog(this.runDir, this.bugId, this.matrix, m.state);
  }
}

export class DashboardPanels implements vscode.Disposable {
  private readonly open = new Set<DashboardPanel | MatrixPanel>();
  readonly roots: vscode.Uri[];
  lastRender?: RenderStat;

  constructor(
    private readonly extensionUri: vscode.Uri,
    readonly model: RunsModel,
    readonly docs: ArtifactDocuments,
    readonly log: Log,
  ) {
    this.roots = [vscode.Uri.joinPath(extensionUri, 'media'), vscode.Uri.joinPath(extensionUri, 'node_modules', 'chart.js', 'dist')];
  }

  /**
   * The page: its styles and script inline (under the nonce), so nothing waits on the webview's resource loading
   * (each file goes through VS Code's service worker to the extension host and back); Chart.js, the one big file
   * (205 KiB), is loaded by the page after its first paint, from data-chart-src.
   */
  html(webview: vscode.Webview, mode: 'dashboard' | 'matrix'): string {
    const nonce = randomBytes(18).toString('base64');
    const chart = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'node_modules', 'chart.js', 'dist', 'chart.umd.min.js'));
    const csp = [
      `default-src 'none'`,
      `script-src 'nonce-${nonce}'`,
      `style-src 'nonce-${nonce}'`,
      `font-src ${webview.cspSource}`,
      `img-src ${webview.cspSource} data:`,
    ].join('; ');
    const { css, js } = this.assets();
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<script nonce="${nonce}">window.ssrWritten = performance.timeOrigin + performance.now();</script>
<style nonce="${nonce}">${css}</style>
<title>SSR ${mode}</title>
</head>
<body data-mode="${mode}"${mode === 'dashboard' ? ` data-chart-src="${chart}"` : ''}>
<main id="app"><p>Loading…</p></main>
<script nonce="${nonce}">${inlineJs(js)}</script>
</body>
</html>`;
  }

  private cached?: { css: string; js: string };
  private assets(): { css: string; js: string } {
    if (!this.cached) {
      const read = (f: string) => fs.readFileSync(path.join(this.extensionUri.fsPath, 'media', f), 'utf8');
      this.cached = { css: read('dashboard.css').replace(/<\/style/gi, '<\\/style'), js: dashboardScript((f) => read(path.join('dashboard', f))) };
    }
    return this.cached;
  }

  private find<T extends DashboardPanel | MatrixPanel>(pred: (p: DashboardPanel | MatrixPanel) => p is T): T | undefined {
    for (const p of this.open) if (pred(p)) return p;
    return undefined;
  }

  openDashboard(runDir: string, opts: { preserveFocus?: boolean; command?: number } = {}): DashboardPanel {
    const dir = path.resolve(runDir);
    const existing = this.find((p): p is DashboardPanel => p instanceof DashboardPanel && p.runDir === dir);
    if (existing) {
      existing.panel.reveal(undefined, opts.preserveFocus);
      void existing.load();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(DASHBOARD_VIEW_TYPE, `Dashboard: ${path.basename(dir)}`, { viewColumn: vscode.ViewColumn.Active, preserveFocus: opts.preserveFocus }, {
      enableScripts: true,
      // Kept while its tab is in the background: coming back to it is instant instead of a new webview (over a
      // second in code-server) and a second render; the cost is one page's memory while it stays open.
      retainContextWhenHidden: true,
      localResourceRoots: this.roots,
    });
    const p = new DashboardPanel(panel, this, dir, { command: opts.command, created: wallNow() });
    this.open.add(p);
    return p;
  }

  openMatrix(runDir: string, bugId: string, opts: { command?: number } = {}): MatrixPanel {
    const dir = path.resolve(runDir);
    const existing = this.find((p): p is MatrixPanel => p instanceof MatrixPanel && p.runDir === dir && p.bugId === bugId);
    if (existing) {
      existing.panel.reveal();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(MATRIX_VIEW_TYPE, `Test matrix: ${bugId}`, vscode.ViewColumn.Active, { enableScripts: true, retainContextWhenHidden: true, localResourceRoots: this.roots });
    const p = new MatrixPanel(panel, this, dir, bugId, { command: opts.command, created: wallNow() });
    this.open.add(p);
    return p;
  }

  /** The log tail of one state of a bug's matrix. */
  async openStateLog(runDir: string, bugId: string, matrix: TestMatrix, state: string): Promise<void> {
    const st = matrix.states.find((s) => s.state === state);
    if (!st) return;
    await this.openLog(runDir, bugId, st.state, st.error ? `(the state did not run: ${st.error})\n\n${st.logTail ?? ''}` : st.logTail ?? '(no log was recorded for this state)');
  }

  /** A state's log tail as a read-only document beside the matrix. */
  async openLog(runDir: string, bugId: string, state: string, text: string): Promise<void> {
    const uri = this.docs.memoryUri(`log|${runDir}|${bugId}|${state}`, text, `${bugId}/${state.replace(/[/:]/g, '_')}.log`);
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside, preserveFocus: false });
  }

  forget(p: DashboardPanel | MatrixPanel): void {
    this.open.delete(p);
  }

  dispose(): void {
    for (const p of [...this.open]) p.dispose();
  }
}
