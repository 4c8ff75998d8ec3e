// The trajectory stepper's page. Every piece of model or tool text is
// untrusted: it is only ever put into the page with textContent (and <mark>
// elements made here for find), never parsed as HTML.
// Keys: Home / End first and last step, ArrowUp or k previous, ArrowDown or j
// next, / find, Escape clears the find, Enter in the find box: next match.
(function () {
  'use strict';
  const vscode = acquireVsCodeApi();
  const saved = vscode.getState() || {};

  /** @type {{id:string, role:string, status:string, error?:string, reward?:number, policy:string, strategy?:string, task:string, steps:any[], totalMs?:number} | null} */
  let view = null;
  let live = false;
  let source = saved.source;
  let selected = typeof saved.selected === 'number' ? saved.selected : 0;
  let query = typeof saved.query === 'string' ? saved.query : '';
  /** Indices into view.steps that match the find box. */
  let shown = [];

  const $ = (id) => document.getElementById(id);
  const list = $('steps');
  const detail = $('detail');
  const search = $('search');
  search.value = query;

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function save() {
    vscode.setState({ source, selected, query });
  }

  function fmtMs(ms) {
    if (ms === undefined || ms === null) return '';
    if (ms < 1000) return Math.round(ms) + ' ms';
    if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
    return Math.floor(ms / 60000) + ' min ' + Math.round((ms % 60000) / 1000) + ' s';
  }

  function fmtReward(r) {
    if (r === undefined || r === null) return '';
    return (r > 0 ? '+' : '') + Number(r).toFixed(2);
  }

  function summary(s) {
    const first = String(s.arguments || '').split('\n').find((l) => l.trim()) || '';
    return first.length > 80 ? first.slice(0, 80) + '…' : first;
  }

  function haystack(s) {
    return (s.tool + '\n' + s.arguments + '\n' + s.assistant + '\n' + s.output + '\n' + (s.error || '')).toLowerCase();
  }

  function matches(s) {
    if (!query) return true;
    if (s._hay === undefined) s._hay = haystack(s);
    return s._hay.indexOf(query.toLowerCase()) >= 0;
  }

  /** Appends `text` to `parent`, with the find matches in <mark> (all as text nodes). */
  function appendHighlighted(parent, text) {
    text = String(text === undefined || text === null ? '' : text);
    if (!query) {
      parent.appendChild(document.createTextNode(text));
      return 0;
    }
    const lower = text.toLowerCase();
    const q = query.toLowerCase();
    let at = 0;
    let n = 0;
    for (;;) {
      const i = lower.indexOf(q, at);
      if (i < 0) break;
      if (i > at) parent.appendChild(document.createTextNode(text.slice(at, i)));
      parent.appendChild(el('mark', '', text.slice(i, i + q.length)));
      at = i + q.length;
      n++;
      if (n > 5000) break;
    }
    parent.appendChild(document.createTextNode(text.slice(at)));
    return n;
  }

  function renderHeader() {
    const title = $('title');
    const badges = $('badges');
    badges.textContent = '';
    if (!view) return;
    title.textContent = (view.role === 'injector' ? 'Injector ' : 'Solver ') + view.id;
    const add = (text, cls) => badges.appendChild(el('span', 'badge ' + (cls || ''), text));
    add(live ? 'running' : view.status, live ? 'live' : view.status === 'submitted' ? 'ok' : 'warn');
    if (view.reward !== undefined && view.reward !== null) add('reward ' + fmtReward(view.reward), view.reward > 0 ? 'ok' : 'bad');
    add(view.steps.length + ' step' + (view.steps.length === 1 ? '' : 's'));
    if (view.policy) add(view.policy);
    if (view.strategy) add(view.strategy);
    if (view.totalMs) add(fmtMs(view.totalMs));
  }

  function rowFor(s) {
    const li = el('li', 'step');
    li.id = 'step-' + s.index;
    li.setAttribute('role', 'option');
    li.dataset.index = String(s.index);
    li.appendChild(el('span', 'num', String(s.index + 1)));
    li.appendChild(el('span', 'tool tool-' + (s.tool || 'none'), s.tool || '(no tool)'));
    li.appendChild(el('span', 'sum', summary(s)));
    const badge = s.error ? el('span', 'exit bad', 'error') : s.exitCode === null || s.exitCode === undefined ? el('span', 'exit', '') : el('span', 'exit ' + (s.exitCode === 0 ? 'ok' : 'bad'), String(s.exitCode));
    li.appendChild(badge);
    if (s.hasDiff) li.appendChild(el('span', 'diffmark', '±'));
    li.title = 'Step ' + (s.index + 1) + ': ' + (s.tool || 'no tool');
    return li;
  }

  function renderList() {
    list.textContent = '';
    shown = [];
    if (!view) return;
    const frag = document.createDocumentFragment();
    for (let i = 0; i < view.steps.length; i++) {
      const s = view.steps[i];
      if (!matches(s)) continue;
      shown.push(i);
      frag.appendChild(rowFor(s));
    }
    list.appendChild(frag);
    $('matches').textContent = query ? shown.length + ' of ' + view.steps.length + ' steps match' : '';
  }

  function section(title, text, cls) {
    const sec = el('section', 'part ' + (cls || ''));
    sec.appendChild(el('h2', '', title));
    const pre = el('pre', 'text');
    appendHighlighted(pre, text);
    sec.appendChild(pre);
    return sec;
  }

  function renderDetail() {
    detail.textContent = '';
    if (!view) return;
    if (view.task) {
      const d = el('details', 'task');
      d.appendChild(el('summary', '', 'Task given to the ' + view.role));
      const pre = el('pre', 'text');
      appendHighlighted(pre, view.task);
      d.appendChild(pre);
      detail.appendChild(d);
    }
    const pos = shown.indexOf(selected);
    const s = view.steps[selected];
    $('position').textContent = view.steps.length ? 'Step ' + (s ? s.index + 1 : 0) + ' of ' + view.steps.length : 'No steps';
    if (!s) {
      detail.appendChild(el('p', 'empty', live ? 'Waiting for the first step…' : 'This trajectory has no steps.'));
      if (view.error) detail.appendChild(el('p', 'error', view.error));
      return;
    }
    const head = el('div', 'step-head');
    head.id = 'step-title';
    head.appendChild(el('span', 'big', 'Step ' + (s.index + 1) + ' of ' + view.steps.length));
    head.appendChild(el('span', 'badge tool-' + (s.tool || 'none'), s.tool || 'no tool'));
    if (s.exitCode !== null && s.exitCode !== undefined) head.appendChild(el('span', 'badge ' + (s.exitCode === 0 ? 'ok' : 'bad'), 'exit ' + s.exitCode));
    head.appendChild(el('span', 'badge', fmtMs(s.durationMs)));
    if (s.hasDiff) {
      const b = el('button', 'diff', 'Show diff');
      b.type = 'button';
      b.id = 'show-diff';
      b.title = 'Open the change this step made in the diff editor';
      b.addEventListener('click', () => vscode.postMessage({ type: 'openDiff', index: s.index }));
      head.appendChild(b);
    }
    if (query && pos < 0) head.appendChild(el('span', 'badge warn', 'hidden by the find'));
    detail.appendChild(head);
    if (s.error) detail.appendChild(section('Error', s.error, 'error'));
    detail.appendChild(section('Assistant', s.assistant || '(no text)', 'assistant'));
    detail.appendChild(section('Tool call: ' + (s.tool || 'none'), s.arguments || '(no arguments)', 'call'));
    const out = section('Output' + (s.truncated ? ' (truncated as sent to the model)' : ''), s.output || '(no output)', 'output');
    detail.appendChild(out);
    if (s.restarted) detail.appendChild(el('p', 'note', 'The shell was restarted after this step: ' + s.restarted));
    if (s.diffTruncated) detail.appendChild(el('p', 'note', 'The diff of this step was cut (over 256 KiB).'));
  }

  function markSelected(scroll) {
    const prev = list.querySelector('[aria-selected="true"]');
    if (prev) prev.setAttribute('aria-selected', 'false');
    const row = document.getElementById('step-' + selected);
    if (row) {
      row.setAttribute('aria-selected', 'true');
      list.setAttribute('aria-activedescendant', row.id);
      if (scroll) row.scrollIntoView({ block: 'nearest' });
    }
  }

  function select(i, scroll) {
    if (!view || !view.steps.length) {
      renderDetail();
      return;
    }
    selected = Math.max(0, Math.min(view.steps.length - 1, i));
    markSelected(scroll !== false);
    renderDetail();
    save();
  }

  /** Moves within the steps the find shows. */
  function move(where) {
    if (!view || !shown.length) return;
    let pos = shown.indexOf(selected);
    if (where === 'first') pos = 0;
    else if (where === 'last') pos = shown.length - 1;
    else if (where === 'next') pos = pos < 0 ? shown.findIndex((i) => i > selected) : Math.min(shown.length - 1, pos + 1);
    else if (where === 'prev') {
      if (pos < 0) {
        let p = -1;
        for (let k = 0; k < shown.length; k++) if (shown[k] < selected) p = k;
        pos = Math.max(0, p);
      } else pos = Math.max(0, pos - 1);
    }
    if (pos < 0) pos = shown.length - 1;
    select(shown[pos]);
  }

  $('first').addEventListener('click', () => move('first'));
  $('prev').addEventListener('click', () => move('prev'));
  $('next').addEventListener('click', () => move('next'));
  $('last').addEventListener('click', () => move('last'));
  list.addEventListener('click', (e) => {
    const li = e.target && e.target.closest ? e.target.closest('li.step') : null;
    if (li) select(Number(li.dataset.index), false);
  });

  let findTimer;
  search.addEventListener('input', () => {
    clearTimeout(findTimer);
    findTimer = setTimeout(() => {
      query = search.value;
      renderList();
      if (shown.length && shown.indexOf(selected) < 0) selected = shown.find((i) => i > selected) ?? shown[0];
      markSelected(true);
      renderDetail();
      save();
    }, 120);
  });

  document.addEventListener('keydown', (e) => {
    if (e.target === search) {
      if (e.key === 'Escape') {
        search.value = '';
        search.dispatchEvent(new Event('input'));
        list.focus();
      } else if (e.key === 'Enter') {
        e.preventDefault();
        move(e.shiftKey ? 'prev' : 'next');
      }
      return;
    }
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    switch (e.key) {
      case 'Home':
        move('first');
        break;
      case 'End':
        move('last');
        break;
      case 'ArrowUp':
      case 'k':
        move('prev');
        break;
      case 'ArrowDown':
      case 'j':
        move('next');
        break;
      case '/':
        search.focus();
        search.select();
        break;
      default:
        return;
    }
    e.preventDefault();
  });

  window.addEventListener('message', (event) => {
    const m = event.data;
    if (!m || typeof m.type !== 'string') return;
    switch (m.type) {
      case 'load': {
        const t0 = performance.now();
        view = m.view;
        live = Boolean(m.live);
        source = m.source;
        renderHeader();
        renderList();
        const want = typeof m.select === 'number' ? m.select : typeof saved.selected === 'number' && saved.source && m.source && saved.source.file === m.source.file ? saved.selected : 0;
        select(want);
        list.focus();
        document.body.dataset.loaded = 'true';
        const ms = performance.now() - t0;
        document.body.dataset.renderMs = String(Math.round(ms));
        vscode.postMessage({ type: 'loaded', steps: view.steps.length, ms });
        break;
      }
      case 'step': {
        if (!view) return;
        const following = !view.steps.length || selected >= view.steps.length - 1;
        view.steps.push(m.step);
        if (matches(m.step)) {
          shown.push(view.steps.length - 1);
          list.appendChild(rowFor(m.step));
        }
        renderHeader();
        if (following) select(view.steps.length - 1);
        else $('position').textContent = 'Step ' + (selected + 1) + ' of ' + view.steps.length;
        break;
      }
      case 'status': {
        if (!view) return;
        view.status = m.status;
        view.reward = m.reward;
        view.error = m.error;
        live = Boolean(m.live);
        source = m.source;
        renderHeader();
        save();
        break;
      }
      case 'select':
        select(m.index);
        break;
      case 'error': {
        $('title').textContent = 'Cannot show this trajectory';
        detail.textContent = '';
        detail.appendChild(el('p', 'error', m.message));
        break;
      }
    }
  });

  vscode.postMessage({ type: 'ready' });
})();
