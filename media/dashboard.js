// SSR's dashboard, test matrix and report page. One script for three hosts:
//   body[data-mode="dashboard"]  the session dashboard webview (data arrives by postMessage, live)
//   body[data-mode="matrix"]     the test matrix webview of one bug
//   body[data-mode="report"]     `ssr report`'s self-contained HTML file (data in <script type="application/json" id="ssr-data">)
// Charts are Chart.js (window.Chart, bundled locally). Every chart has a table
// behind a toggle. Model and tool text (bug ids, test names, log tails,
// details) is only ever set with textContent: nothing here parses HTML.
(function () {
  'use strict';
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
  const charts = [];

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

  // ------------------------------------------------------------ charts
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

  // ------------------------------------------------------------ dashboard
  function tile(label, value, title) {
    if (value === '' || value === undefined || value === null) return null;
    return el('div', { class: 'tile', title }, el('div', { class: 'tile-value', text: value }), el('div', { class: 'tile-label', text: label }));
  }

  function statusWord(s) {
    return s === 'cancelled' ? 'stopped' : s;
  }

  function chartDefaults(p) {
    if (!window.Chart) return;
    window.Chart.defaults.color = p.fg;
    window.Chart.defaults.borderColor = p.grid;
    window.Chart.defaults.font.family = p.font;
  }

  /**
   * The rewards of many rounds as one point per bucket of rounds (the mean over the bucket, weighted by its bugs), so a
   * 500-round chart stays readable; the table keeps every round.
   */
  function bucketRounds(perRound, maxPoints) {
    const size = Math.max(1, Math.ceil(perRound.length / maxPoints));
    const out = [];
    for (let i = 0; i < perRound.length; i += size) {
      const b = perRound.slice(i, i + size);
      const mean = (key) => {
        let sum = 0;
        let w = 0;
        for (const r of b) {
          if (r[key] === undefined || r[key] === null) continue;
          const k = Math.max(1, r.bugs || 0);
          sum += r[key] * k;
          w += k;
        }
        return w ? sum / w : null;
      };
      out.push({ label: size === 1 ? `${b[0].round}` : `${b[0].round}–${b[b.length - 1].round}`, x: b[0].round, inj: mean('meanRInject'), sol: mean('meanRSolve') });
    }
    return { size, points: out };
  }

  function renderDashboard(root, d, opts) {
    destroyCharts();
    const p = palette();
    chartDefaults(p);
    const t = d.totals;
    const out = [];
    out.push(
      el(
        'header',
        { class: 'head' },
        el('h1', { text: d.run.name }),
        el('p', { class: 'muted' }, el('span', { class: `status status-${d.run.status}`, text: statusWord(d.run.status) }), ` · run ${d.run.id} · ${d.run.policy} · ${d.run.roundsDone} of ${d.run.rounds} round${d.run.rounds === 1 ? '' : 's'}`),
        d.run.note ? el('p', { class: 'note', text: d.run.note }) : null,
      ),
    );
    out.push(
      el(
        'section',
        { class: 'tiles', 'aria-label': 'Totals' },
        tile('proposals', String(t.proposals)),
        tile('valid bugs', String(t.validBugs)),
        tile('valid share', pct(t.validShare), 'valid first-order bugs / judged proposals'),
        tile('higher-order bugs', t.higherOrderBugs ? String(t.higherOrderBugs) : ''),
        d.solving ? tile('attempts solved', t.attempts ? `${t.solved}/${t.attempts}` : '') : null,
        tile('mean r_inject', fmt(t.meanRInject)),
        d.solving ? tile('mean r_solve', fmt(t.meanRSolve)) : null,
        d.solving ? tile('tampered attempts', t.attempts ? `${t.tampered || 0}/${t.attempts}` : '', 'attempts the judge found tampered: rewarded -1, never solved') : null,
        tile('valid artifacts / hour', t.artifactsPerHour !== undefined ? fmt(t.artifactsPerHour, 1) : ''),
      ),
    );
    if (!d.solving) out.push(el('p', { class: 'note', text: 'No model was configured for this run: bugs were proposed and validated, not solved, so there are no solve rates or r_solve.' }));

    const grid = el('section', { class: 'grid', 'aria-label': 'Charts' });
    // 1. rewards per round (one point per bucket of rounds when there are many)
    const bucketed = bucketRounds(d.perRound, 100);
    const pts = bucketed.points;
    const per = bucketed.size > 1 ? ` Each point is the mean over ${bucketed.size} rounds (weighted by bugs); the table has every round.` : '';
    grid.append(
      figure(
        'chart-rewards',
        'Mean reward per round',
        `r_inject (injector) and r_solve (solver), both in [-1, 1]; a round with no judged attempt has no r_solve.${per}`,
        dataTable(['round', 'bugs', 'mean r_inject', 'mean r_solve'], d.perRound.map((r) => [String(r.round), String(r.bugs), fmt(r.meanRInject), fmt(r.meanRSolve)])),
        {
          type: 'line',
          data: {
            labels: pts.map((x) => x.label),
            datasets: [
              { label: 'mean r_inject', data: pts.map((x) => x.inj), borderColor: p.orange, backgroundColor: p.orange, spanGaps: true, pointRadius: pts.length > 60 ? 1.5 : 3, borderWidth: 1.5 },
              { label: 'mean r_solve', data: pts.map((x) => x.sol), borderColor: p.blue, backgroundColor: p.blue, spanGaps: true, pointRadius: pts.length > 60 ? 1.5 : 3, borderWidth: 1.5 },
            ],
          },
          options: Object.assign(baseOptions(p, axes(p, bucketed.size > 1 ? `round (mean of ${bucketed.size} rounds per point)` : 'round', 'mean reward', { min: -1, max: 1 })), {}),
        },
      ),
    );
    if (bucketed.size > 1) {
      const sc = queued[queued.length - 1].config.options.scales;
      sc.x.ticks = { color: p.fg, maxRotation: 0, autoSkip: true, maxTicksLimit: 10 };
    }
    // 2. solve-rate histogram
    grid.append(
      figure(
        'chart-histogram',
        'Solve-rate histogram',
        'Bugs per solve rate s. The curriculum is at the right difficulty when bugs sit in the middle, not at s=0 or s=1 (r_inject = -alpha there).',
        dataTable(['solve rate', 'bugs'], d.histogram.map((h) => [h.bin, String(h.bugs)])),
        {
          type: 'bar',
          data: { labels: d.histogram.map((h) => h.bin), datasets: [{ label: 'bugs', data: d.histogram.map((h) => h.bugs), backgroundColor: d.histogram.map((h) => (h.bin === 's=0' || h.bin === 's=1' ? p.red : p.green)) }] },
          options: baseOptions(p, axes(p, 'solve rate s', 'bugs', { beginAtZero: true, ticks: { precision: 0, color: p.fg } }), false),
        },
      ),
    );
    // 3. validity
    grid.append(
      figure(
        'chart-validity',
        'Invalid bugs by first failing check',
        `${t.validBugs} valid, ${t.invalidBugs} invalid${t.validShare !== undefined ? `; valid share of first-order proposals ${pct(t.validShare)}` : ''}${t.proposalsFailed ? `; ${t.proposalsFailed} round(s) without a proposal` : ''}.`,
        dataTable(['check', 'bugs failing it first'], d.failuresPerCheck.map((f) => [f.check, String(f.failures)])),
        {
          type: 'bar',
          data: { labels: d.failuresPerCheck.map((f) => f.check), datasets: [{ label: 'bugs failing it first', data: d.failuresPerCheck.map((f) => f.failures), backgroundColor: p.red }] },
          // Horizontal bars: the value axis is x.
          options: Object.assign(baseOptions(p, { x: Object.assign(axes(p, 'bugs', '').x, { beginAtZero: true, ticks: { precision: 0, color: p.fg } }), y: Object.assign(axes(p, '', 'check').y, {}) }, false), { indexAxis: 'y' }),
        },
      ),
    );
    // 4. time per stage
    grid.append(
      figure(
        'chart-stages',
        'Time per stage',
        `Mean wall time of one propose, validate and solve stage (from the run's events).${t.artifactsPerHour !== undefined ? ` ${fmt(t.artifactsPerHour, 1)} valid artifacts per hour.` : ''}`,
        dataTable(['stage', 'times', 'mean', 'total'], d.stages.map((s) => [s.stage, String(s.count), secs(s.meanMs), s.count ? secs(s.totalMs) : ''])),
        {
          type: 'bar',
          data: { labels: d.stages.map((s) => s.stage), datasets: [{ label: 'mean seconds', data: d.stages.map((s) => (s.meanMs === undefined ? 0 : s.meanMs / 1000)), backgroundColor: [p.purple, p.yellow, p.blue] }] },
          options: baseOptions(p, axes(p, 'stage', 'mean seconds', { beginAtZero: true }), false),
        },
      ),
    );
    // 5. valid artifacts over time
    grid.append(
      figure(
        'chart-throughput',
        'Valid artifacts over time',
        'Cumulative valid bugs against minutes since the session started.',
        dataTable(['minutes', 'valid bugs'], d.validOverTime.map((v) => [fmt(v.minutes), String(v.valid)])),
        {
          type: 'line',
          data: { datasets: [{ label: 'valid bugs', data: d.validOverTime.map((v) => ({ x: v.minutes, y: v.valid })), borderColor: p.green, backgroundColor: p.green, stepped: true, borderWidth: 1.5, pointRadius: d.validOverTime.length > 60 ? 0 : 3 }] },
          options: baseOptions(p, Object.assign(axes(p, 'minutes', 'valid bugs', { beginAtZero: true, ticks: { precision: 0, color: p.fg } }), { x: { type: 'linear', title: { display: true, text: 'minutes', color: p.fg }, grid: { color: p.grid }, ticks: { color: p.fg } } }), false),
        },
      ),
    );
    // 6. order mix
    grid.append(
      figure(
        'chart-orders',
        'Bug order mix',
        'First-order bugs come from the injector; second-order bugs from failed solver patches.',
        dataTable(['order', 'bugs', 'valid'], d.orderMix.map((o) => [o === undefined ? '' : `order ${o.order}`, String(o.bugs), String(o.valid)])),
        {
          type: 'bar',
          data: {
            labels: d.orderMix.map((o) => `order ${o.order}`),
            datasets: [
              { label: 'bugs', data: d.orderMix.map((o) => o.bugs), backgroundColor: p.blue },
              { label: 'valid', data: d.orderMix.map((o) => o.valid), backgroundColor: p.green },
            ],
          },
          options: baseOptions(p, axes(p, 'order', 'bugs', { beginAtZero: true, ticks: { precision: 0, color: p.fg } })),
        },
      ),
    );
    // 7. tampered attempts (the judge's third outcome), per round and per policy version
    if (d.solving) grid.append(tamperedFigure(d, p));
    // 8. learning curves
    if (d.training && d.training.length) {
      const tr = d.training;
      const line = (label, key, color, axis) => ({ label, data: tr.map((x) => (x[key] === undefined ? null : x[key])), borderColor: color, backgroundColor: color, spanGaps: true, pointRadius: tr.length > 60 ? 0 : 2, yAxisID: axis });
      const sc = axes(p, 'update', 'mean reward', { min: -1, max: 1, position: 'left' });
      sc.y2 = { position: 'right', title: { display: true, text: 'loss / KL', color: p.fg }, grid: { drawOnChartArea: false }, ticks: { color: p.fg } };
      grid.append(
        figure(
          'chart-training',
          'Learning curves',
          `Per trainer update: mean reward per role (left axis), loss and KL (right axis). Read from ${[...new Set(tr.map((x) => x.source))].join(', ')} (fields: ${d.trainingFields.join(', ')}).`,
          dataTable(['update', 'step', 'reward solver', 'reward injector', 'loss', 'KL', 'KL rollout'], tr.map((x) => [String(x.update), String(x.step), fmt(x.rewardSolver, 3), fmt(x.rewardInjector, 3), fmt(x.loss, 4), fmt(x.kl, 4), fmt(x.klRollout, 4)])),
          {
            type: 'line',
            data: { labels: tr.map((x) => String(x.update)), datasets: [line('reward solver', 'rewardSolver', p.blue, 'y'), line('reward injector', 'rewardInjector', p.orange, 'y'), line('loss', 'loss', p.red, 'y2'), line('KL', 'kl', p.purple, 'y2')] },
            options: baseOptions(p, sc),
          },
        ),
      );
    }
    out.push(grid);
    const tamperedList = tamperedTable(d);
    if (tamperedList) out.push(tamperedList);
    out.push(bugsTable(d, opts));
    root.replaceChildren(...out);
    drawCharts(opts && opts.now);
  }

  /** Tampered attempts per round, its own series (older runs have no count: 0). The table adds the policy versions. */
  function tamperedFigure(d, p) {
    const per = d.perRound.map((r) => ({ round: r.round, n: r.tampered || 0 }));
    const versions = d.perPolicyVersion || [];
    const byVersion = versions.length ? ` Per policy version: ${versions.map((v) => `${v.policyVersion} ${v.tampered}/${v.attempts}`).join(', ')}.` : '';
    const rows = per.map((r) => [`round ${r.round}`, String(r.n)]).concat(versions.map((v) => [`policy ${v.policyVersion}`, `${v.tampered} of ${v.attempts} (solved ${v.solved})`]));
    return figure(
      'chart-tampered',
      'Tampered attempts',
      `Solver attempts the judge found tampered with (a harness file, a canary, a guard): rewarded -1, never solved. ${d.totals.tampered || 0} of ${d.totals.attempts} attempts.${byVersion}`,
      dataTable(['round or policy version', 'tampered attempts'], rows),
      {
        type: 'bar',
        data: { labels: per.map((r) => String(r.round)), datasets: [{ label: 'tampered attempts', data: per.map((r) => r.n), backgroundColor: p.red }] },
        options: baseOptions(p, axes(p, 'round', 'tampered attempts', { beginAtZero: true, ticks: { precision: 0, color: p.fg } }), false),
      },
    );
  }

  /** Every tampered attempt with the judge's reason and evidence (text only); null when there is none. */
  function tamperedTable(d) {
    const list = d.tampered || [];
    if (!list.length) return null;
    return el(
      'section',
      { class: 'tampered', 'aria-label': 'Tampered attempts' },
      el('h2', { text: `Tampered attempts (${list.length})` }),
      dataTable(
        ['bug', 'attempt', 'round', 'policy version', 'reason', 'evidence'],
        list.map((x) => [x.bugId, String(x.attempt + 1), x.round === undefined ? '' : String(x.round), x.policyVersion, x.reason, x.evidence.join('; ')]),
      ),
    );
  }

  /** The bugs with their lineage: parent (and the attempt it came from) and children, each a link. */
  function bugsTable(d, opts) {
    const link = (id, label) =>
      mode === 'report'
        ? el('a', { href: `#bug-${id}`, text: label || id })
        : el('a', { href: '#', role: 'button', dataset: { bug: id }, text: label || id, onclick: (e) => (e.preventDefault(), post({ type: 'openBug', bugId: id })) });
    const row = (b) =>
      el(
        'tr',
        { id: mode === 'report' ? undefined : `row-${b.id}` },
        el('th', { scope: 'row' }, link(b.id)),
        el('td', { text: b.valid === true ? 'valid' : b.valid === false ? `invalid (${b.firstFailure || '?'})` : b.status }),
        el('td', { text: `${b.order}` }),
        el('td', { text: `${b.round}` }),
        el('td', { text: b.solveRate === undefined ? '' : `${b.solved}/${b.attempts}` }),
        el('td', { text: fmt(b.rInject) }),
        el('td', null, b.parent ? [link(b.parent), b.parentAttempt !== undefined ? ` (attempt ${b.parentAttempt + 1})` : ''] : ''),
        el('td', null, b.children.flatMap((c, i) => (i ? [', ', link(c)] : [link(c)]))),
        mode === 'report' ? null : el('td', null, b.valid !== undefined ? el('button', { type: 'button', class: 'small', text: 'Matrix', 'aria-label': `Test matrix of ${b.id}`, onclick: () => ((clickedAt = now()), delete document.body.dataset.matrixMarks, post({ type: 'openMatrix', bugId: b.id })) }) : ''),
      );
    // A first render shows the first rows at once and adds the rest after the first paint (laying out a 500-row
    // table was most of a 500-round dashboard's first paint); an update builds them all.
    const FIRST = 40;
    const all = (opts && opts.now) || d.bugs.length <= FIRST;
    const tbody = el('tbody', null, (all ? d.bugs : d.bugs.slice(0, FIRST)).map(row));
    if (!all) afterCharts.push(() => tbody.isConnected && tbody.append(...d.bugs.slice(FIRST).map(row)));
    const head = ['bug', 'status', 'order', 'round', 'solved', 'r_inject', 'parent', 'children'];
    if (mode !== 'report') head.push('');
    return el(
      'section',
      { class: 'card', id: 'bugs', 'aria-label': 'Bugs and lineage' },
      el('h2', { text: `Bugs and lineage (${d.bugs.length})` }),
      el('table', { class: 'data bugs' }, el('thead', null, el('tr', null, head.map((h) => el('th', { scope: 'col', text: h })))), tbody),
    );
  }

  // ------------------------------------------------------------ test matrix
  const CELL = { passed: ['✓', 'pass'], failed: ['✗', 'fail'], missing: ['–', 'missing'], error: ['!', 'did not run'] };

  /** Renders the matrix; `onCell(stateIndex, state)` is called on a click (or Enter) on a cell. */
  function renderMatrix(root, m, title, onCell) {
    const search = el('input', { type: 'search', placeholder: 'Search tests', 'aria-label': 'Search tests', class: 'search' });
    const filter = el(
      'select',
      { 'aria-label': 'Filter rows' },
      [
        ['all', `all tests (${m.counts.tests})`],
        ['F', `in F (${m.counts.inF})`],
        ['broken', `broken (${m.counts.broken})`],
        ['hidden', `hidden (${m.counts.hidden})`],
        ['flaky', `flaky (${m.counts.flaky})`],
        ['oracle', `in oracle files (${m.counts.oracle})`],
        ['changed', 'differs from original'],
      ].map(([v, l]) => el('option', { value: v, text: l })),
    );
    const shown = el('span', { class: 'muted', 'aria-live': 'polite' });
    const head = el(
      'tr',
      null,
      el('th', { scope: 'col', text: 'test' }),
      el('th', { scope: 'col', text: 'marks' }),
      m.states.map((s) => {
        const flips = s.state.startsWith('restore:') ? m.rows.filter((r) => r.flippedBy.includes(s.state)).length : undefined;
        // restore:pkg/dir/file.py reads "restore" over the file's name; the hover has the whole path.
        const restored = s.state.startsWith('restore:') ? s.state.slice('restore:'.length) : undefined;
        const base = (p) => p.split('/').pop();
        const clash = restored && m.states.some((o) => o.state !== s.state && o.state.startsWith('restore:') && base(o.state) === base(restored));
        const shown = restored && (clash ? restored.split('/').slice(-2).join('/') : base(restored));
        const label = restored ? [el('div', { text: 'restore' }), el('div', { text: shown })] : [el('div', { text: s.state })];
        const facts = s.error || `${s.passed} passed, ${s.failed} failed${s.durationMs !== undefined ? `, ${secs(s.durationMs)}` : ''}`;
        return el('th', { scope: 'col', title: `${s.state}: ${facts}`, 'data-state': s.state }, ...label, el('div', { class: 'muted small-text', text: s.ok ? `${s.passed}✓ ${s.failed}✗${flips !== undefined ? ` · flips ${flips} of F` : ''}` : 'did not run' }));
      }),
    );
    // Rows are drawn only where the scroll box shows them (plus a margin): a 2,000-test matrix costs as much to show as
    // a 60-test one. The columns have fixed widths (set from the longest names), so rows drawn later keep the layout,
    // and the matrix keeps its width when the log opens beside it (the box scrolls instead).
    const stateFlips = m.states.map((s) => s.state);
    const MARKS = {
      F: { code: 'F', name: 'F: passes on the original, fails with the bug' },
      H: { code: 'H', name: 'hidden: the weakening hides it' },
      '~': { code: '~', name: 'flaky: its outcome changed between runs of one state' },
      O: { code: 'O', name: 'oracle: in a file of test_files.txt' },
    };
    function rowEl(i) {
      const r = m.rows[i];
      // Marks are one letter each (the legend and the hover spell them out), so the states stay in view in a narrow pane.
      const marks = [];
      if (r.inF) marks.push(MARKS.F);
      if (r.hidden) marks.push(MARKS.H);
      if (r.flaky) marks.push(MARKS['~']);
      if (r.oracle) marks.push(MARKS.O);
      const tr = document.createElement('tr');
      tr.dataset.i = String(i);
      tr.setAttribute('aria-rowindex', String(i + 2));
      const th = document.createElement('th');
      th.scope = 'row';
      const name = document.createElement('span');
      name.textContent = r.test;
      th.append(name);
      th.title = r.test;
      // Cut at its start when the column is too narrow: the test's own name (the end of its id) stays readable.
      th.className = 'test cut';
      tr.append(th);
      const mk = document.createElement('td');
      mk.className = 'marks';
      mk.textContent = marks.map((x) => x.code).join(' ');
      if (marks.length) mk.title = marks.map((x) => x.name).join('; ');
      tr.append(mk);
      for (let k = 0; k < r.cells.length; k++) {
        const c = r.cells[k];
        const td = document.createElement('td');
        td.className = `cell c-${c}${r.flippedBy.includes(stateFlips[k]) ? ' flip' : ''}`;
        td.textContent = CELL[c][0];
        td.title = `${CELL[c][1]} in ${stateFlips[k]}; click for the log tail`;
        td.dataset.s = String(k);
        // The first cell of each row is reachable with Tab.
        td.tabIndex = k === 0 ? 0 : -1;
        tr.append(td);
      }
      return tr;
    }
    const longest = m.rows.reduce((n, r) => Math.max(n, r.test.length), 4);
    const cols = el(
      'colgroup',
      null,
      el('col', { class: 'col-test', style: undefined }),
      el('col', { class: 'col-marks' }),
      m.states.map(() => el('col', { class: 'col-state' })),
    );
    const tbody = el('tbody');
    const table = el('table', { class: 'matrix', 'aria-label': `Test matrix of ${title}`, 'aria-rowcount': String(m.rows.length + 1) }, cols, el('thead', null, head), tbody);
    table.style.setProperty('--test-ch', String(Math.min(longest + 1, 60)));
    const scroller = el('div', { class: 'matrix-scroll' }, table);
    const activate = (td) => {
      if (!td || !td.dataset.s) return;
      const k = Number(td.dataset.s);
      const row = m.rows[Number(td.parentElement.dataset.i)];
      onCell(k, m.states[k], row && row.test);
    };
    table.addEventListener('click', (e) => activate(e.target.closest('td.cell')));
    table.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') activate(e.target.closest('td.cell'));
    });
    const ALL = 150; // up to this many shown rows are all drawn (and the browser's find sees them)
    const MARGIN = 30;
    let shownIdx = [];
    let rowH = 0;
    let drawn = '';
    const spacer = (h) => {
      const tr = el('tr', { class: 'spacer', 'aria-hidden': 'true' });
      tr.style.height = `${h}px`;
      return tr;
    };
    const draw = () => {
      const n = shownIdx.length;
      let from = 0;
      let to = n;
      if (n > ALL) {
        const h = rowH || 20;
        const top = Math.max(0, scroller.scrollTop - (table.tHead ? table.tHead.offsetHeight : 0));
        from = Math.max(0, Math.floor(top / h) - MARGIN);
        to = Math.min(n, Math.ceil((top + (scroller.clientHeight || window.innerHeight)) / h) + MARGIN);
      }
      const key = `${from}:${to}:${n}`;
      if (key === drawn) return;
      drawn = key;
      const kids = [];
      if (from > 0) kids.push(spacer(from * (rowH || 20)));
      for (let j = from; j < to; j++) kids.push(rowEl(shownIdx[j]));
      if (to < n) kids.push(spacer((n - to) * (rowH || 20)));
      tbody.replaceChildren(...kids);
      if (!rowH && to > from) {
        const first = tbody.querySelector('tr:not(.spacer)');
        const h = first && first.getBoundingClientRect().height;
        if (h) {
          rowH = h;
          if (n > ALL) {
            drawn = '';
            draw();
          }
        }
      }
    };
    let ticking = false;
    scroller.addEventListener('scroll', () => {
      if (ticking) return;
      ticking = true;
      requestAnimationFrame(() => {
        ticking = false;
        draw();
      });
    });
    const apply = () => {
      const q = search.value.trim().toLowerCase();
      const f = filter.value;
      shownIdx = [];
      for (let i = 0; i < m.rows.length; i++) {
        const r = m.rows[i];
        let ok = !q || r.test.toLowerCase().includes(q);
        if (ok && f !== 'all') ok = f === 'F' ? r.inF : f === 'changed' ? r.cells.some((c) => c !== r.cells[0]) : r[f];
        if (ok) shownIdx.push(i);
      }
      shown.textContent = `showing ${shownIdx.length} of ${m.rows.length} tests`;
      drawn = '';
      scroller.scrollTop = 0;
      draw();
    };
    search.addEventListener('input', apply);
    filter.addEventListener('change', apply);
    const legend = el(
      'p',
      { class: 'muted legend' },
      '✓ pass · ✗ fail · – missing (not run, deleted or flaky) · ! the state did not run · marks: F = passes on the original and fails with the bug; H = hidden, the weakening hides it; ~ = flaky; O = oracle, in test_files.txt. A highlighted ✓ in a restore column: restoring that file alone makes that test of F pass (inverse mutation). Click a cell for that run’s log tail.',
    );
    root.replaceChildren(el('div', { class: 'matrix-tools' }, search, filter, shown), legend, scroller);
    apply();
    return { search, filter, apply };
  }

  // ------------------------------------------------------------ report mode
  function renderReport(model) {
    // The report has Chart.js inline: its charts are drawn at once.
    renderDashboard(app, model.data, { now: true });
    const sec = el('section', { class: 'bug-details', 'aria-label': 'Bug details' }, el('h2', { text: 'Bugs' }));
    for (const b of model.data.bugs) {
      const matrix = model.matrices[b.id];
      const attempts = model.attempts[b.id] || [];
      const card = el(
        'section',
        { class: 'card', id: `bug-${b.id}` },
        el('h3', { text: b.id }),
        el('p', { class: 'muted', text: `order ${b.order} · round ${b.round} · ${b.valid === true ? 'valid' : b.valid === false ? `invalid, first failing check ${b.firstFailure}` : b.status}${b.solveRate !== undefined ? ` · solved ${b.solved}/${b.attempts}${b.tampered ? `, tampered ${b.tampered}` : ''}, r_inject ${fmt(b.rInject)}` : ''}` }),
        b.parent ? el('p', null, 'Second-order bug from the failed patch of attempt ', String((b.parentAttempt ?? 0) + 1), ' of ', el('a', { href: `#bug-${b.parent}`, text: b.parent })) : null,
        b.children.length ? el('p', null, 'Its failed attempts gave: ', b.children.flatMap((c, i) => (i ? [', ', el('a', { href: `#bug-${c}`, text: c })] : [el('a', { href: `#bug-${c}`, text: c })]))) : null,
      );
      if (attempts.length) {
        card.append(
          el('h4', { text: 'Attempts' }),
          dataTable(
            ['attempt', 'outcome', 'reward', 'steps', 'files', '+/-', 'detail'],
            attempts.map((a) => [`${a.n + 1}`, a.done ? (a.solved ? 'solved' : a.tampered ? 'tampered' : 'not solved') : 'running', fmt(a.reward), a.steps === undefined ? '' : String(a.steps), a.files.join(', '), `+${a.patchLines.added} -${a.patchLines.removed}`, a.detail || '']),
          ),
        );
      }
      if (matrix) {
        const det = el('details', { class: 'matrix-details' }, el('summary', { text: `Test matrix: ${matrix.counts.tests} tests × ${matrix.states.length} states (F ${matrix.counts.inF}, hidden ${matrix.counts.hidden}, flaky ${matrix.counts.flaky})` }));
        const body = el('div');
        const log = el('pre', { class: 'log', hidden: true, tabindex: '0', 'aria-label': 'log tail' });
        det.append(body, log);
        let done = false;
        det.addEventListener('toggle', () => {
          if (!det.open || done) return;
          done = true;
          renderMatrix(body, matrix, b.id, (k, st) => {
            log.hidden = false;
            log.textContent = `${st.state}${st.error ? ` (did not run: ${st.error})` : ''}\n\n${st.logTail || '(no log recorded for this state)'}`;
          });
        });
        card.append(det);
      }
      sec.append(card);
    }
    app.append(sec);
  }

  // ------------------------------------------------------------ entry
  /** What the page loaded (the webview's resources come through its service worker): name, start and duration. */
  function resources() {
    return performance.getEntriesByType('resource').map((e) => ({ name: e.name.split('/').pop().split('?')[0], start: Math.round(e.startTime), ms: Math.round(e.duration), bytes: e.decodedBodySize || 0 }));
  }
  let firstDone = false;
  function done(kind, extra) {
    const ms = performance.now() - t0;
    document.body.dataset.renderMs = String(Math.round(ms));
    document.body.dataset.rendered = kind;
    if (firstDone) {
      post(Object.assign({ type: 'rendered', kind, ms }, extra || {}));
      return;
    }
    firstDone = true;
    marks.rendered = now();
    // Painted: the frame after the one that laid the page out.
    requestAnimationFrame(() =>
      setTimeout(() => {
        marks.painted = now();
        const timing = Object.assign({}, marks, { resources: resources() });
        document.body.dataset.marks = JSON.stringify(timing);
        post(Object.assign({ type: 'rendered', kind, ms, marks: timing }, extra || {}));
      }, 0),
    );
  }

  if (mode === 'report') {
    const model = JSON.parse(document.getElementById('ssr-data').textContent);
    renderReport(model);
    done('report');
    if (location.hash) {
      const target = document.getElementById(location.hash.slice(1));
      if (target) target.scrollIntoView();
    }
    return;
  }

  let last;
  let lastMatrix;
  let seen = 0;

  // The dashboard shows a bug's test matrix in the same page (its Matrix button): no second webview to create, which
  // in code-server costs over a second; "Dashboard" goes back to the charts as they were.
  let board;
  let inline;
  function boardRoot() {
    if (!board) {
      board = el('div', { id: 'board' });
      inline = el('section', { id: 'inline-matrix', hidden: true, 'aria-label': 'Test matrix' });
      app.replaceChildren(board, inline);
    }
    return board;
  }
  function showBoard() {
    inline.hidden = true;
    board.hidden = false;
    delete document.body.dataset.view;
    // Charts laid out while hidden take their size now.
    for (const c of charts) c.resize();
  }
  function showInlineMatrix(m) {
    boardRoot();
    const t = { data: now() };
    const body = el('div');
    const backBtn = el('button', { type: 'button', class: 'back', text: '← Dashboard', onclick: () => (showBoard(), post({ type: 'matrixClosed' })) });
    inline.replaceChildren(
      el('div', { class: 'fig-head' }, el('h2', { text: `Test matrix: ${m.bugId}` }), el('span', null, backBtn, ' ', el('button', { type: 'button', text: 'Open in its own tab', onclick: () => post({ type: 'openMatrixPanel', bugId: m.bugId }) }))),
      body,
    );
    if (m.error) body.append(el('p', { class: 'error', text: m.error }));
    else renderMatrix(body, m.matrix, m.bugId, (k, st, test) => post({ type: 'openLog', bugId: m.bugId, state: st.state, test }));
    board.hidden = true;
    inline.hidden = false;
    window.scrollTo(0, 0);
    document.body.dataset.view = 'matrix';
    document.body.dataset.tests = String(m.matrix ? m.matrix.rows.length : 0);
    t.rendered = now();
    requestAnimationFrame(() =>
      setTimeout(() => {
        t.painted = now();
        t.clicked = clickedAt;
        document.body.dataset.matrixMarks = JSON.stringify(t);
      }, 0),
    );
    backBtn.focus();
  }
  let clickedAt;
  const state = (vscode && vscode.getState()) || {};
  window.addEventListener('message', (ev) => {
    const m = ev.data;
    if (!m || typeof m !== 'object') return;
    // The extension posts at once and again when the page says it is ready: a message already drawn is skipped.
    if (typeof m.seq === 'number') {
      if (m.seq <= seen) return;
      seen = m.seq;
    }
    const start = performance.now();
    if (!marks.data) {
      marks.data = now();
      // The extension host's side: the command ran, the panel was created, its HTML set, the data sent.
      if (m.host) marks.host = m.host;
    }
    if (m.type === 'data') {
      // The first render draws its charts after the first paint; an update redraws them at once.
      renderDashboard(boardRoot(), m.data, { now: !!last });
      last = m.data;
      const ms = performance.now() - start;
      document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
      document.body.dataset.rounds = String(m.data.run.roundsDone);
      done('dashboard', { renderMs: ms, rounds: m.data.perRound.length });
    } else if (m.type === 'matrix' && mode === 'dashboard') {
      showInlineMatrix(m);
    } else if (m.type === 'matrix') {
      lastMatrix = m;
      document.body.dataset.tests = String(m.matrix.rows.length);
      const tools = renderMatrix(app, m.matrix, m.bugId, (k, st, test) => post({ type: 'openLog', state: st.state, test }));
      if (state.query) {
        tools.search.value = state.query;
        tools.apply();
      }
      tools.search.addEventListener('input', () => vscode && vscode.setState({ query: tools.search.value }));
      done('matrix', { renderMs: performance.now() - start, rows: m.matrix.rows.length, states: m.matrix.states.length });
    } else if (m.type === 'error' && mode === 'dashboard' && m.bugId) {
      showInlineMatrix({ bugId: m.bugId, error: m.message });
    } else if (m.type === 'error') {
      app.replaceChildren(el('p', { class: 'error', text: m.message }));
    }
  });
  // Theme changes: redraw with the new colours.
  new MutationObserver(() => {
    if (last && mode === 'dashboard') renderDashboard(boardRoot(), last, { now: true });
  }).observe(document.body, { attributes: true, attributeFilter: ['class'] });
  void lastMatrix;
  post({ type: 'ready' });
})();
