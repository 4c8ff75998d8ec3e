// The webviews (media/dashboard/, after report.js): the session dashboard and the test matrix panel take their data
// from the extension's messages; the dashboard shows a bug's matrix inline. main.js starts them.

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
const state = (vscode && vscode.getState()) || {};

/** A message from the extension: the run's data, a matrix, or an error; one already drawn (its seq) is skipped. */
function onMessage(ev) {
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
    showData(m, start);
  } else if (m.type === 'matrix' && mode === 'dashboard') {
    showInlineMatrix(m);
  } else if (m.type === 'matrix') {
    showMatrixPanel(m, start);
  } else if (m.type === 'error' && mode === 'dashboard' && m.bugId) {
    showInlineMatrix({ bugId: m.bugId, error: m.message });
  } else if (m.type === 'error') {
    app.replaceChildren(el('p', { class: 'error', text: m.message }));
  }
}

function showData(m, start) {
  // The first render draws its charts after the first paint; an update redraws them at once.
  renderDashboard(boardRoot(), m.data, { now: !!last });
  last = m.data;
  const ms = performance.now() - start;
  document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  document.body.dataset.rounds = String(m.data.run.roundsDone);
  done('dashboard', { renderMs: ms, rounds: m.data.perRound.length });
}

/** The test matrix panel's matrix, with the search it had (the webview's state). */
function showMatrixPanel(m, start) {
  lastMatrix = m;
  document.body.dataset.tests = String(m.matrix.rows.length);
  const tools = renderMatrix(app, m.matrix, m.bugId, (k, st, test) => post({ type: 'openLog', state: st.state, test }));
  if (state.query) {
    tools.search.value = state.query;
    tools.apply();
  }
  tools.search.addEventListener('input', () => vscode && vscode.setState({ query: tools.search.value }));
  done('matrix', { renderMs: performance.now() - start, rows: m.matrix.rows.length, states: m.matrix.states.length });
}

/** Listens to the extension, redraws on a theme change, and tells the extension the page is ready. */
function startWebview() {
  window.addEventListener('message', onMessage);
  // Theme changes: redraw with the new colours.
  new MutationObserver(() => {
    if (last && mode === 'dashboard') renderDashboard(boardRoot(), last, { now: true });
  }).observe(document.body, { attributes: true, attributeFilter: ['class'] });
  void lastMatrix;
  post({ type: 'ready' });
}
