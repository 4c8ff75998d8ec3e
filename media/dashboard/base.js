// SSR's dashboard, test matrix and report page. One script for three hosts:
//   body[data-mode="dashboard"]  the session dashboard webview (data arrives by postMessage, live)
//   body[data-mode="matrix"]     the test matrix webview of one bug
//   body[data-mode="report"]     `ssr report`'s self-contained HTML file (data in <script type="application/json" id="ssr-data">)
// Charts are Chart.js (window.Chart, bundled locally). Every chart has a table
// behind a toggle. Model and tool text (bug ids, test names, log tails,
// details) is only ever set with textContent: nothing here parses HTML.
//
// The script is the files of media/dashboard/ in the order of DASHBOARD_SCRIPTS
// (src/core/report/html.ts), run as one function scope: this file (the page's
// timeline, its host, the DOM and number helpers), charts.js, figures.js,
// board.js, matrix.js, report.js, webview.js, and main.js, which starts the page.
const t0 = performance.now();
// Timestamps on the wall clock (ms since the epoch), comparable with the extension host's and the e2e test's:
// the page's document started (timeOrigin), this script ran, the data arrived, the page was built, then painted.
const now = () => performance.timeOrigin + performance.now();
const now_ = now;
const scriptNonce = (document.currentScript && document.currentScript.nonce) || '';
const marks = { origin: performance.timeOrigin, script: now() };
// The webview writes the page into a frame that first loaded VS Code's empty fake.html (through its service worker).
const nav = performance.getEntriesByType('navigation')[0];
if (nav) {
  marks.fetched = marks.origin + nav.responseEnd;
  if (nav.domContentLoadedEventStart) marks.blank = marks.origin + nav.domContentLoadedEventStart;
  marks.nav = ['workerStart', 'fetchStart', 'domainLookupStart', 'connectStart', 'connectEnd', 'requestStart', 'responseStart', 'responseEnd'].map((k) => `${k} ${Math.round(nav[k])}`).join(', ') + `, ${nav.nextHopProtocol}, ${nav.transferSize} B`;
}
if (typeof window.ssrWritten === 'number') marks.written = window.ssrWritten;
const mode = document.body.dataset.mode || 'report';
const vscode = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : undefined;
const post = (m) => vscode && vscode.postMessage(m);
const app = document.getElementById('app');
/** When the person clicked a bug's Matrix button (the inline matrix's timeline). */
let clickedAt;

// ------------------------------------------------------------ helpers
function el(tag, props, ...kids) {
  const e = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') e.textContent = String(v);
      else if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
  }
  for (const c of kids.flat()) if (c !== undefined && c !== null && c !== false) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}
const fmt = (x, digits = 2) => {
  if (x === undefined || x === null || Number.isNaN(x)) return '';
  // Fixed digits, trailing zeros cut, and never "-0".
  const v = Number(x).toFixed(digits).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
  return /^-0$/.test(v) ? '0' : v;
};
const pct = (x) => (x === undefined || x === null ? '' : `${Math.round(x * 100)}%`);
const secs = (ms) => (ms === undefined || ms === null ? '' : ms < 10000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`);
function css(name, fallback) {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || fallback;
}
function palette() {
  return {
    fg: css('--vscode-foreground', '#333'),
    muted: css('--vscode-descriptionForeground', '#666'),
    grid: css('--vscode-panel-border', 'rgba(128,128,128,0.35)'),
    blue: css('--vscode-charts-blue', '#1a85ff'),
    red: css('--vscode-charts-red', '#e51400'),
    green: css('--vscode-charts-green', '#388a34'),
    yellow: css('--vscode-charts-yellow', '#bf8803'),
    orange: css('--vscode-charts-orange', '#d18616'),
    purple: css('--vscode-charts-purple', '#652d90'),
    font: css('--vscode-font-family', 'system-ui, sans-serif'),
  };
}
