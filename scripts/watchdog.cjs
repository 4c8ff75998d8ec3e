#!/usr/bin/env node
// Runs one test suite so that it can never hang silently (issue 25):
//
//   node scripts/watchdog.cjs --name NAME [--grace S] [--limit S] -- COMMAND ARGS...
//
// The suite's output passes through unchanged. Once it prints a runner's
// closing line (mocha's "N passing (..)", pytest's "N passed ... in Xs") it
// has GRACE seconds (default 60, SSR_WATCHDOG_GRACE) to exit; a suite that
// runs past LIMIT seconds in all (default 0: none, SSR_WATCHDOG_LIMIT) is
// stopped too. Either way the watchdog sends SIGUSR2 to the suite's processes
// (scripts/handle-report.cjs, loaded with --require, prints the handles that
// keep a Node process alive), waits a moment, kills the process group, prints
// one clear line and exits 124. Otherwise it exits with the suite's status.
'use strict';
const { spawn } = require('node:child_process');

const CLOSING = [/^\s*\d+ passing \(/, /^=*\s*(\d+ (passed|failed|errors?)[^=]*?,?\s*)+in [\d.]+s/];
const DUMP_WAIT_MS = 3000;

function parseArgs(argv) {
  const sep = argv.indexOf('--');
  if (sep < 0 || sep === argv.length - 1) throw new Error('usage: watchdog.cjs --name NAME [--grace S] [--limit S] -- COMMAND ARGS...');
  const opts = { name: 'suite', grace: Number(process.env.SSR_WATCHDOG_GRACE ?? 60), limit: Number(process.env.SSR_WATCHDOG_LIMIT ?? 0) };
  for (let i = 0; i < sep; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in opts)) throw new Error(`watchdog: unknown option ${argv[i]}`);
    opts[key] = key === 'name' ? argv[i + 1] : Number(argv[i + 1]);
  }
  return { ...opts, command: argv[sep + 1], args: argv.slice(sep + 2) };
}

/** Passes a stream through line by line and calls onLine for each complete line. */
function follow(stream, out, onLine) {
  let buf = '';
  stream.on('data', (chunk) => {
    out.write(chunk);
    buf += chunk.toString('utf8');
    const lines = buf.split('\n');
    buf = lines.pop();
    for (const l of lines) onLine(l);
  });
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* gone already */
  }
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  const child = spawn(o.command, o.args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let closingLine, graceTimer, stopping = false;
  const stop = (why) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\nwatchdog: ${o.name}: ${why}; asking its processes what holds them open:\n`);
    killGroup(child, 'SIGUSR2');
    setTimeout(() => {
      killGroup(child, 'SIGKILL');
      process.stdout.write(`\n=== watchdog: ${o.name} FAILED: ${why} (the handles above kept it alive; killed)\n`);
      process.exit(124);
    }, DUMP_WAIT_MS);
  };
  const onLine = (line) => {
    if (closingLine || !CLOSING.some((re) => re.test(line))) return;
    closingLine = line.trim();
    graceTimer = setTimeout(() => stop(`printed its result ("${closingLine}") but did not exit within ${o.grace} s`), o.grace * 1000);
  };
  follow(child.stdout, process.stdout, onLine);
  follow(child.stderr, process.stderr, onLine);
  const limitTimer = o.limit > 0 ? setTimeout(() => stop(`still running after its limit of ${o.limit} s`), o.limit * 1000) : undefined;
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { killGroup(child, sig); process.exit(130); });
  child.on('error', (err) => {
    process.stderr.write(`watchdog: ${o.name}: cannot start ${o.command}: ${err.message}\n`);
    process.exit(127);
  });
  const finish = (code, signal) => {
    if (stopping) return;
    clearTimeout(graceTimer);
    clearTimeout(limitTimer);
    process.exit(code ?? 128 + (require('node:os').constants.signals[signal] ?? 0));
  };
  // 'close' waits for the output to drain; a process the suite left behind can hold the pipe open, so
  // once the suite itself exited, its status counts after a short wait.
  child.on('exit', (code, signal) => setTimeout(() => finish(code, signal), 5000).unref());
  child.on('close', finish);
}

main();
