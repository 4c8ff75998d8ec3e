// `ssr report`'s page (media/dashboard/, after matrix.js): the dashboard, then a card per bug with its lineage, its
// attempts and its test matrix (drawn when opened).

function renderReport(model) {
  // The report has Chart.js inline: its charts are drawn at once.
  renderDashboard(app, model.data, { now: true });
  const sec = el('section', { class: 'bug-details', 'aria-label': 'Bug details' }, el('h2', { text: 'Bugs' }));
  for (const b of model.data.bugs) sec.append(bugCard(b, model.matrices[b.id], model.attempts[b.id] || []));
  app.append(sec);
}

/** A bug's card: its facts, its parent and children (links to their cards), its attempts and its matrix. */
function bugCard(b, matrix, attempts) {
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
  if (matrix) card.append(matrixDetails(b, matrix));
  return card;
}

/** The matrix behind a <details>, drawn the first time it opens; a click on a cell shows that state's log tail. */
function matrixDetails(b, matrix) {
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
  return det;
}
