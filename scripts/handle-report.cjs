// What keeps a Node process alive, in words: the handles still open (sockets
// with their peer and the listeners on them, pipes, timers, child processes,
// servers). Loaded into a test runner with `--require`, it prints them to
// stderr on SIGUSR2, which scripts/watchdog.cjs sends to a suite that printed
// its result but does not exit. Tests use describeOpenHandles() to assert
// that a scenario left no connection behind.
'use strict';

/** Handles that keep the event loop alive (unref'd ones do not), stdio left out. */
function openHandles() {
  const stdio = new Set([process.stdin, process.stdout, process.stderr]);
  return process._getActiveHandles().filter((h) => {
    if (stdio.has(h)) return false;
    const ref = h._handle && typeof h._handle.hasRef === 'function' ? h._handle.hasRef() : typeof h.hasRef === 'function' ? h.hasRef() : true;
    return ref !== false;
  });
}

function listenerNames(emitter, event) {
  if (typeof emitter.listeners !== 'function') return [];
  return emitter.listeners(event).map((f) => f.name || `(${String(f).replace(/\s+/g, ' ').slice(0, 60)})`);
}

function describeSocket(s) {
  const tag = s[Symbol.for('ssr.handle')];
  const peer = s.remoteAddress ? `tcp ${s.remoteAddress}:${s.remotePort}` : 'unix socket or pipe';
  const state = [s.destroyed ? 'destroyed' : 'open', s.readable ? 'readable' : '', s.writable ? 'writable' : ''].filter(Boolean).join(', ');
  const on = ['data', 'end', 'error', 'close']
    .map((e) => [e, listenerNames(s, e)])
    .filter(([, names]) => names.length)
    .map(([e, names]) => `${e}: ${names.join(', ')}`)
    .join('; ');
  return `Socket (${peer}${tag ? `, ${tag}` : ''}; ${state})${on ? ` listeners ${on}` : ''}`;
}

/** One handle in words. */
function describeHandle(h) {
  const kind = h.constructor ? h.constructor.name : typeof h;
  if (kind === 'Socket' || kind === 'TLSSocket') return describeSocket(h);
  if (kind === 'Timeout') return `Timeout ${h._idleTimeout} ms -> ${(h._onTimeout && h._onTimeout.name) || 'anonymous'}`;
  if (kind === 'ChildProcess') return `ChildProcess pid ${h.pid}: ${[h.spawnfile, ...(h.spawnargs || []).slice(1, 4)].join(' ')}`;
  if (kind === 'Server') return `Server listening on ${JSON.stringify(h.address())}`;
  return kind;
}

/** One line per handle that keeps this process alive. */
function describeOpenHandles() {
  return openHandles().map(describeHandle);
}

function report() {
  const lines = describeOpenHandles();
  const resources = process.getActiveResourcesInfo ? process.getActiveResourcesInfo().join(', ') : '';
  process.stderr.write(
    `\nhandle-report: pid ${process.pid} is kept alive by ${lines.length} handle(s):\n` +
      lines.map((l) => `  - ${l}\n`).join('') +
      (resources ? `  (active resources: ${resources})\n` : ''),
  );
}

if (!process.env.SSR_HANDLE_REPORT_OFF && !global.__ssrHandleReport) {
  global.__ssrHandleReport = true;
  process.on('SIGUSR2', report);
}

module.exports = { describeHandle, describeOpenHandles, openHandles, report };
