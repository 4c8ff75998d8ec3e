// The page's start (media/dashboard/, the last file): it reports when the first render is done and painted (the
// e2e benchmark reads the timeline), and starts the report or the webview.

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

/** The report: its data is in the page; the charts are drawn at once; a #bug-… address scrolls to that bug. */
function startReport() {
  const model = JSON.parse(document.getElementById('ssr-data').textContent);
  renderReport(model);
  done('report');
  if (location.hash) {
    const target = document.getElementById(location.hash.slice(1));
    if (target) target.scrollIntoView();
  }
}

if (mode === 'report') startReport();
else startWebview();
