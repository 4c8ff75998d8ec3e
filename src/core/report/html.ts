/**
 * `ssr report`: one self-contained HTML file with the dashboard's charts and
 * tables, each bug's lineage, attempts and test matrix. No network: Chart.js,
 * the page script (media/dashboard/ joined, the same one the extension's
 * webview runs) and the styles are inlined, and a Content Security Policy allows
 * only those inline scripts (by nonce) and nothing remote. The run's data is
 * embedded as JSON in a non-executed <script type="application/json"> with
 * `<`, `>` and `&` escaped, and the page sets every piece of text with
 * textContent.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadArtifact } from '../artifact/artifact';
import type { ValidationReport } from '../judge/checks';
import { readJson } from '../runs/store';
import { loadRunReport, type RunReportData } from './data';
import { buildTestMatrix, type TestMatrix } from './matrix';
import { attemptSummaries, type AttemptSummary } from './attempts';

export interface ReportModel {
  data: RunReportData;
  matrices: Record<string, TestMatrix>;
  /** Attempts per bug, without the patch text (the file stays small). */
  attempts: Record<string, Array<Omit<AttemptSummary, 'patch'>>>;
}

/** The test matrix of a stored bug; undefined when it has no validation report with runs. */
export async function bugMatrix(runDir: string, bugId: string): Promise<TestMatrix | undefined> {
  const bugDir = path.join(runDir, 'bugs', bugId);
  const v = await readJson<ValidationReport>(path.join(bugDir, 'validation.json'));
  if (!v || !Array.isArray(v.runs)) return undefined;
  let testFiles: string[] = [];
  try {
    testFiles = (await loadArtifact(path.join(bugDir, 'artifact'))).artifact.testFiles;
  } catch {
    testFiles = [];
  }
  return buildTestMatrix(v, testFiles);
}

export async function buildReportModel(runDir: string): Promise<ReportModel> {
  const data = await loadRunReport(runDir);
  const matrices: ReportModel['matrices'] = {};
  const attempts: ReportModel['attempts'] = {};
  for (const b of data.bugs) {
    try {
      const m = await bugMatrix(runDir, b.id);
      if (m) matrices[b.id] = m;
    } catch {
      // A corrupt validation.json: the bug shows without its matrix.
    }
    const a = await attemptSummaries(runDir, b.id);
    if (a.length) attempts[b.id] = a.map(({ patch: _patch, ...rest }) => rest);
  }
  return { data, matrices, attempts };
}

export interface ReportAssets {
  chartJs: string;
  script: string;
  css: string;
}

/** JSON safe inside an HTML <script> element. */
export function jsonForHtml(v: unknown): string {
  return JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
/** Inline script text can never close its element early. */
export const inlineJs = (s: string) => s.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');

/** Light and dark values for the theme variables the page uses (VS Code defines them in the webview). */
const THEME_CSS = `
:root {
  --vscode-foreground: #1f1f1f; --vscode-editor-background: #ffffff; --vscode-descriptionForeground: #616161;
  --vscode-panel-border: #d4d4d4; --vscode-textLink-foreground: #005fb8; --vscode-focusBorder: #005fb8;
  --vscode-errorForeground: #c72e0f; --vscode-list-hoverBackground: #f2f2f2; --vscode-textBlockQuote-background: #f5f5f5;
  --vscode-charts-blue: #1a85ff; --vscode-charts-red: #e51400; --vscode-charts-green: #388a34; --vscode-charts-yellow: #bf8803;
  --vscode-charts-orange: #d18616; --vscode-charts-purple: #652d90;
  --vscode-font-family: system-ui, -apple-system, "Segoe UI", sans-serif; --vscode-editor-font-family: ui-monospace, "DejaVu Sans Mono", monospace;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --vscode-foreground: #cccccc; --vscode-editor-background: #1f1f1f; --vscode-descriptionForeground: #9d9d9d;
    --vscode-panel-border: #3c3c3c; --vscode-textLink-foreground: #4daafc; --vscode-focusBorder: #0078d4;
    --vscode-errorForeground: #f85149; --vscode-list-hoverBackground: #2a2d2e; --vscode-textBlockQuote-background: #2b2b2b;
    --vscode-charts-blue: #3794ff; --vscode-charts-red: #f14c4c; --vscode-charts-green: #89d185; --vscode-charts-yellow: #cca700;
    --vscode-charts-orange: #d18616; --vscode-charts-purple: #b180d7;
  }
}
body { max-width: 1400px; margin: 0 auto; }
`;

export function renderReportHtml(model: ReportModel, assets: ReportAssets): string {
  const nonce = randomBytes(18).toString('base64');
  const csp = [`default-src 'none'`, `script-src 'nonce-${nonce}'`, `style-src 'nonce-${nonce}'`, `img-src data:`, `base-uri 'none'`, `form-action 'none'`].join('; ');
  const title = `SSR report: ${model.data.run.name} (${model.data.run.id})`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="ssr report">
<title>${escapeHtml(title)}</title>
<style nonce="${nonce}">${THEME_CSS}
${assets.css}</style>
</head>
<body data-mode="report">
<main id="app"><p>This report needs JavaScript for its charts and tables.</p></main>
<script type="application/json" id="ssr-data">${jsonForHtml(model)}</script>
<script nonce="${nonce}">${inlineJs(assets.chartJs)}</script>
<script nonce="${nonce}">${inlineJs(assets.script)}</script>
</body>
</html>
`;
}

/**
 * The page script's files (media/dashboard/) in the order they run: base.js (the page's timeline and helpers)
 * first, main.js (which starts the page) last. They are one script: dashboardScript joins them.
 */
export const DASHBOARD_SCRIPTS = ['base.js', 'charts.js', 'figures.js', 'board.js', 'matrix.js', 'report.js', 'webview.js', 'main.js'] as const;

/** The page script: the files of media/dashboard/ (`read` gives a file's text) in order, in one strict function scope. */
export function dashboardScript(read: (file: string) => string): string {
  return `(function () {\n  'use strict';\n${DASHBOARD_SCRIPTS.map((f) => `// media/dashboard/${f}\n${read(f)}`).join('\n')}})();\n`;
}

/**
 * Finds Chart.js and the page's own script and styles: next to the bundle
 * (dist/../media, and node_modules), or in the source tree.
 */
export function loadReportAssets(fromDir: string = __dirname): ReportAssets {
  const roots = [fromDir, path.join(fromDir, '..'), path.join(fromDir, '..', '..'), path.join(fromDir, '..', '..', '..'), process.cwd()];
  const find = (rels: string[]): string => {
    for (const r of roots) for (const rel of rels) {
      const f = path.join(r, rel);
      if (fs.existsSync(f)) return fs.readFileSync(f, 'utf8');
    }
    throw new Error(`cannot find ${rels[0]} (looked next to ${fromDir}); reinstall SSR`);
  };
  // chart.js does not export its UMD file: it is read from the package folder.
  const chartJs = find(['node_modules/chart.js/dist/chart.umd.min.js']);
  return { chartJs, script: dashboardScript((f) => find([`media/dashboard/${f}`])), css: find(['media/dashboard.css']) };
}

export async function writeReport(runDir: string, out: string, assets: ReportAssets = loadReportAssets()): Promise<{ bytes: number; model: ReportModel }> {
  const model = await buildReportModel(runDir);
  const html = renderReportHtml(model, assets);
  await fs.promises.mkdir(path.dirname(path.resolve(out)), { recursive: true });
  await fs.promises.writeFile(out, html);
  return { bytes: Buffer.byteLength(html), model };
}
