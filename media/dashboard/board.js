// The session dashboard (media/dashboard/, after figures.js): the run's header, its totals, the charts, the
// tampered attempts and the bugs with their lineage. Used by the webview and by the report.

function tile(label, value, title) {
  if (value === '' || value === undefined || value === null) return null;
  return el('div', { class: 'tile', title }, el('div', { class: 'tile-value', text: value }), el('div', { class: 'tile-label', text: label }));
}

function statusWord(s) {
  return s === 'cancelled' ? 'stopped' : s;
}

/** Renders the whole dashboard of the run's data `d` into `root`; `opts.now` draws the charts at once (an update). */
function renderDashboard(root, d, opts) {
  destroyCharts();
  const p = palette();
  chartDefaults(p);
  const out = [boardHead(d), boardTiles(d)];
  if (!d.solving) out.push(el('p', { class: 'note', text: 'No model was configured for this run: bugs were proposed and validated, not solved, so there are no solve rates or r_solve.' }));
  out.push(chartGrid(d, p));
  const tamperedList = tamperedTable(d);
  if (tamperedList) out.push(tamperedList);
  out.push(bugsTable(d, opts));
  root.replaceChildren(...out);
  drawCharts(opts && opts.now);
}

function boardHead(d) {
  return el(
    'header',
    { class: 'head' },
    el('h1', { text: d.run.name }),
    el('p', { class: 'muted' }, el('span', { class: `status status-${d.run.status}`, text: statusWord(d.run.status) }), ` · run ${d.run.id} · ${d.run.policy} · ${d.run.roundsDone} of ${d.run.rounds} round${d.run.rounds === 1 ? '' : 's'}`),
    d.run.note ? el('p', { class: 'note', text: d.run.note }) : null,
  );
}

function boardTiles(d) {
  const t = d.totals;
  return el(
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
  );
}

/** The charts in their order (the figures of figures.js); their drawing is queued. */
function chartGrid(d, p) {
  const grid = el('section', { class: 'grid', 'aria-label': 'Charts' });
  grid.append(rewardsFigure(d, p), histogramFigure(d, p), validityFigure(d, p), stagesFigure(d, p), throughputFigure(d, p), ordersFigure(d, p));
  if (d.solving) grid.append(tamperedFigure(d, p));
  if (d.training && d.training.length) grid.append(trainingFigure(d, p));
  return grid;
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
