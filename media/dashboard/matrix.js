// A bug's test matrix (media/dashboard/, after board.js): tests by states, with search and filters; only the rows in
// view are drawn. The matrix webview, the dashboard's inline matrix and the report's bug cards all use renderMatrix.

const CELL = { passed: ['✓', 'pass'], failed: ['✗', 'fail'], missing: ['–', 'missing'], error: ['!', 'did not run'] };
const MARKS = {
  F: { code: 'F', name: 'F: passes on the original, fails with the bug' },
  H: { code: 'H', name: 'hidden: the weakening hides it' },
  '~': { code: '~', name: 'flaky: its outcome changed between runs of one state' },
  O: { code: 'O', name: 'oracle: in a file of test_files.txt' },
};
const MATRIX_LEGEND =
  '✓ pass · ✗ fail · – missing (not run, deleted or flaky) · ! the state did not run · marks: F = passes on the original and fails with the bug; H = hidden, the weakening hides it; ~ = flaky; O = oracle, in test_files.txt. A highlighted ✓ in a restore column: restoring that file alone makes that test of F pass (inverse mutation). Click a cell for that run’s log tail.';

/** Renders the matrix; `onCell(stateIndex, state)` is called on a click (or Enter) on a cell. */
function renderMatrix(root, m, title, onCell) {
  const { search, filter, shown } = matrixTools(m);
  // Rows are drawn only where the scroll box shows them (plus a margin): a 2,000-test matrix costs as much to show as
  // a 60-test one. The columns have fixed widths (set from the longest names), so rows drawn later keep the layout,
  // and the matrix keeps its width when the log opens beside it (the box scrolls instead).
  const { table, tbody } = matrixTable(m, title);
  const scroller = el('div', { class: 'matrix-scroll' }, table);
  onCells(table, m, onCell);
  const rows = virtualRows(m, table, tbody, scroller);
  const apply = () => {
    const idx = matchingRows(m, search.value.trim().toLowerCase(), filter.value);
    shown.textContent = `showing ${idx.length} of ${m.rows.length} tests`;
    rows.show(idx);
  };
  search.addEventListener('input', apply);
  filter.addEventListener('change', apply);
  const legend = el('p', { class: 'muted legend' }, MATRIX_LEGEND);
  root.replaceChildren(el('div', { class: 'matrix-tools' }, search, filter, shown), legend, scroller);
  apply();
  return { search, filter, apply };
}

/** The search box, the row filter and the count of rows shown. */
function matrixTools(m) {
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
  return { search, filter, shown };
}

/** The indices of the rows that match the search `q` (lower case) and the filter `f`. */
function matchingRows(m, q, f) {
  const idx = [];
  for (let i = 0; i < m.rows.length; i++) {
    const r = m.rows[i];
    let ok = !q || r.test.toLowerCase().includes(q);
    if (ok && f !== 'all') ok = f === 'F' ? r.inF : f === 'changed' ? r.cells.some((c) => c !== r.cells[0]) : r[f];
    if (ok) idx.push(i);
  }
  return idx;
}

/** The table with its column widths and header row; its body is filled by virtualRows. */
function matrixTable(m, title) {
  const head = el('tr', null, el('th', { scope: 'col', text: 'test' }), el('th', { scope: 'col', text: 'marks' }), m.states.map((s) => stateHead(m, s)));
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
  return { table, tbody };
}

/** A state's column head: its name (a restored file's short name), and its counts; the hover has the rest. */
function stateHead(m, s) {
  const flips = s.state.startsWith('restore:') ? m.rows.filter((r) => r.flippedBy.includes(s.state)).length : undefined;
  // restore:pkg/dir/file.py reads "restore" over the file's name; the hover has the whole path.
  const restored = s.state.startsWith('restore:') ? s.state.slice('restore:'.length) : undefined;
  const base = (p) => p.split('/').pop();
  const clash = restored && m.states.some((o) => o.state !== s.state && o.state.startsWith('restore:') && base(o.state) === base(restored));
  const shown = restored && (clash ? restored.split('/').slice(-2).join('/') : base(restored));
  const label = restored ? [el('div', { text: 'restore' }), el('div', { text: shown })] : [el('div', { text: s.state })];
  const facts = s.error || `${s.passed} passed, ${s.failed} failed${s.durationMs !== undefined ? `, ${secs(s.durationMs)}` : ''}`;
  return el('th', { scope: 'col', title: `${s.state}: ${facts}`, 'data-state': s.state }, ...label, el('div', { class: 'muted small-text', text: s.ok ? `${s.passed}✓ ${s.failed}✗${flips !== undefined ? ` · flips ${flips} of F` : ''}` : 'did not run' }));
}

/** A click (or Enter) on a cell calls `onCell(stateIndex, state, test)`. */
function onCells(table, m, onCell) {
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
}

/** One test's row: its name, its marks, a cell per state. `stateNames`: the states' names, in column order. */
function matrixRow(m, i, stateNames) {
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
    td.className = `cell c-${c}${r.flippedBy.includes(stateNames[k]) ? ' flip' : ''}`;
    td.textContent = CELL[c][0];
    td.title = `${CELL[c][1]} in ${stateNames[k]}; click for the log tail`;
    td.dataset.s = String(k);
    // The first cell of each row is reachable with Tab.
    td.tabIndex = k === 0 ? 0 : -1;
    tr.append(td);
  }
  return tr;
}


const MATRIX_ALL = 150; // up to this many shown rows are all drawn (and the browser's find sees them)
const MATRIX_MARGIN = 30;

/**
 * The body of the table as a virtual list: up to ALL shown rows are all drawn (and the browser's find sees them);
 * more, only those in view plus MARGIN rows each side, with spacer rows of the height of the rest.
 * `show(indices)` shows those rows from the top.
 */
function virtualRows(m, table, tbody, scroller) {
  const stateNames = m.states.map((s) => s.state);
  let shownIdx = [];
  let rowH = 0;
  let drawn = '';
  const draw = () => {
    const n = shownIdx.length;
    const { from, to } = rowsInView(n, rowH, table, scroller);
    const key = `${from}:${to}:${n}`;
    if (key === drawn) return;
    drawn = key;
    const kids = [];
    if (from > 0) kids.push(spacerRow(from * (rowH || 20)));
    for (let j = from; j < to; j++) kids.push(matrixRow(m, shownIdx[j], stateNames));
    if (to < n) kids.push(spacerRow((n - to) * (rowH || 20)));
    tbody.replaceChildren(...kids);
    if (!rowH && to > from) {
      const first = tbody.querySelector('tr:not(.spacer)');
      const h = first && first.getBoundingClientRect().height;
      if (h) {
        rowH = h;
        if (n > MATRIX_ALL) {
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
  const show = (idx) => {
    shownIdx = idx;
    drawn = '';
    scroller.scrollTop = 0;
    draw();
  };
  return { show };
}

/** The rows of `n` shown to draw: all of them, or those the scroll box shows (rows of `rowH` pixels) and a margin. */
function rowsInView(n, rowH, table, scroller) {
  if (n <= MATRIX_ALL) return { from: 0, to: n };
  const h = rowH || 20;
  const top = Math.max(0, scroller.scrollTop - (table.tHead ? table.tHead.offsetHeight : 0));
  const from = Math.max(0, Math.floor(top / h) - MATRIX_MARGIN);
  const to = Math.min(n, Math.ceil((top + (scroller.clientHeight || window.innerHeight)) / h) + MATRIX_MARGIN);
  return { from, to };
}

function spacerRow(h) {
  const tr = el('tr', { class: 'spacer', 'aria-hidden': 'true' });
  tr.style.height = `${h}px`;
  return tr;
}
