// The dashboard's charts (media/dashboard/, after base.js): a figure is a Chart.js chart with its table behind a
// toggle; the charts are queued as figures are built and drawn after the first paint.
/** The Chart.js charts on the page (destroyed before a redraw). */
const charts = [];

/**
 * A figure: title, a canvas chart, a "Table" toggle that swaps the chart for
 * a table of the same numbers (the text alternative), and a caption.
 */
function figure(id, title, caption, table, chartConfig) {
  const canvas = el('canvas', { role: 'img', 'aria-label': `${title}. ${caption || ''} Use the Table button for the numbers.` });
  const box = el('div', { class: 'chart-box' }, canvas);
  const tbl = el('div', { class: 'table-box', hidden: true }, table);
  const btn = el('button', {
    class: 'toggle',
    type: 'button',
    'aria-pressed': 'false',
    'aria-controls': `${id}-table`,
    text: 'Table',
    onclick: () => {
      const show = tbl.hidden;
      tbl.hidden = !show;
      box.hidden = show;
      btn.setAttribute('aria-pressed', String(show));
      btn.textContent = show ? 'Chart' : 'Table';
    },
  });
  tbl.id = `${id}-table`;
  const fig = el('figure', { class: 'card', id, 'data-chart': id }, el('div', { class: 'fig-head' }, el('h3', { text: title }), btn), box, tbl, caption ? el('figcaption', { text: caption }) : null);
  if (chartConfig) queued.push({ canvas, box, tbl, config: chartConfig });
  return fig;
}

function dataTable(headers, rows) {
  return el(
    'table',
    { class: 'data' },
    el('thead', null, el('tr', null, headers.map((h) => el('th', { scope: 'col', text: h })))),
    el('tbody', null, rows.map((r) => el('tr', null, r.map((c, i) => (i === 0 ? el('th', { scope: 'row', text: c }) : el('td', { text: c })))))),
  );
}

function axes(p, xTitle, yTitle, extraY) {
  const grid = { color: p.grid };
  return {
    x: { title: { display: true, text: xTitle, color: p.fg }, grid, ticks: { color: p.fg } },
    y: Object.assign({ title: { display: true, text: yTitle, color: p.fg }, grid, ticks: { color: p.fg } }, extraY || {}),
  };
}

function baseOptions(p, scales, legend) {
  return {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    normalized: true,
    scales,
    plugins: { legend: { display: legend !== false, labels: { color: p.fg } }, tooltip: { enabled: true } },
  };
}

function destroyCharts() {
  queued.length = 0;
  while (charts.length) charts.pop().destroy();
}

// Charts are drawn after the first paint (the header, the totals and the tables come first), one per task so the
// page stays responsive; Chart.js itself is loaded then (the webview gives its address in data-chart-src; the
// report has it inline).
const queued = [];
let chartJs;
function loadChartJs() {
  if (window.Chart) return Promise.resolve(true);
  const src = document.body.dataset.chartSrc;
  if (!src) return Promise.resolve(false);
  if (!chartJs) {
    chartJs = new Promise((resolve) => {
      const sc = document.createElement('script');
      sc.nonce = (document.currentScript && document.currentScript.nonce) || scriptNonce;
      sc.src = src;
      sc.onload = () => resolve(!!window.Chart);
      sc.onerror = () => resolve(false);
      document.body.append(sc);
    });
  }
  return chartJs;
}
function drawOne(q) {
  if (!q.canvas.isConnected) return;
  if (!window.Chart) {
    q.box.replaceChildren(el('p', { class: 'muted', text: 'charts unavailable (Chart.js not loaded); the table has the numbers' }));
    q.tbl.hidden = false;
    return;
  }
  try {
    charts.push(new window.Chart(q.canvas, q.config));
  } catch (err) {
    q.box.replaceChildren(el('p', { class: 'muted', text: `chart unavailable: ${err && err.message}` }));
  }
}
/** Work for after the charts of a first render are drawn (the rest of the bugs table). */
const afterCharts = [];
function runAfterCharts() {
  for (const fn of afterCharts.splice(0)) fn();
}
/** Draws the queued charts: at once (an update, Chart.js loaded) or after the next paint, one per task. */
function drawCharts(now) {
  const batch = queued.splice(0);
  if (now && window.Chart) {
    batch.forEach(drawOne);
    runAfterCharts();
    return;
  }
  const next = (cb) => (window.requestIdleCallback ? requestIdleCallback(cb, { timeout: 50 }) : setTimeout(cb, 0));
  requestAnimationFrame(() =>
    setTimeout(() =>
      loadChartJs().then(() => {
        const step = () => {
          if (!batch.length) {
            if (!marks.charts) {
              marks.charts = now_();
              if (document.body.dataset.marks) document.body.dataset.marks = JSON.stringify(Object.assign(JSON.parse(document.body.dataset.marks), { charts: marks.charts }));
            }
            document.body.dataset.charts = String(charts.length);
            runAfterCharts();
            return;
          }
          drawOne(batch.shift());
          next(step);
        };
        step();
      }),
    ),
  );
}

function chartDefaults(p) {
  if (!window.Chart) return;
  window.Chart.defaults.color = p.fg;
  window.Chart.defaults.borderColor = p.grid;
  window.Chart.defaults.font.family = p.font;
}
