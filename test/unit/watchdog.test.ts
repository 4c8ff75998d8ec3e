/**
 * The test command never hangs silently (issue 25): scripts/watchdog.cjs
 * fails a suite that printed its result but does not exit, naming what holds
 * it open (scripts/handle-report.cjs), and passes a suite's own status through.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from '../helpers/paths';

const WATCHDOG = path.join(ROOT, 'scripts/watchdog.cjs');
const REPORT = path.join(ROOT, 'scripts/handle-report.cjs');

function watch(script: string, extra: string[] = [], env: Record<string, string> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-watchdog-'));
  const file = path.join(dir, 'suite.cjs');
  fs.writeFileSync(file, script.replace(/SOCK/g, path.join(dir, 's.sock')));
  try {
    const r = spawnSync(process.execPath, [WATCHDOG, '--name', 'demo', ...extra, '--', process.execPath, '--require', REPORT, file], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    return { status: r.status, out: r.stdout + r.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A "suite" that prints mocha's closing line and keeps a connection open, as a leaked attach stream does. */
const LEAKY = `
const net = require('node:net');
const server = net.createServer(() => undefined).listen('SOCK', () => {
  server.unref();
  const s = net.connect('SOCK');
  s[Symbol.for('ssr.handle')] = 'engine attach of sandbox 0123456789ab';
  s.on('end', function sandboxStopped() {});
  console.log('  12 passing (3s)');
});`;

describe("the test command's watchdog", function () {
  this.timeout(60_000);

  it('fails a suite that printed its result but holds a connection open, and names the handle', () => {
    const r = watch(LEAKY, ['--grace', '1']);
    assert.equal(r.status, 124, r.out);
    assert.match(r.out, /12 passing \(3s\)/, "the suite's own output passes through");
    assert.match(r.out, /engine attach of sandbox 0123456789ab/);
    assert.match(r.out, /listeners end: .*sandboxStopped/);
    assert.match(r.out, /=== watchdog: demo FAILED: printed its result \("12 passing \(3s\)"\) but did not exit within 1 s/);
  });

  it('passes the status of a suite that exits on its own', () => {
    const ok = watch(`console.log('  3 passing (1ms)');`, ['--grace', '1']);
    assert.equal(ok.status, 0, ok.out);
    assert.doesNotMatch(ok.out, /watchdog/);
    const failed = watch(`console.log('  2 passing (1ms)\\n  1 failing'); process.exitCode = 1;`, ['--grace', '1']);
    assert.equal(failed.status, 1, failed.out);
  });

  it("stops a suite that runs past its limit without a closing line (pytest's summary counts as one too)", () => {
    const r = watch(`setInterval(() => undefined, 1000);`, ['--limit', '1']);
    assert.equal(r.status, 124, r.out);
    assert.match(r.out, /FAILED: still running after its limit of 1 s/);
    const py = watch(`console.log('===== 5 passed, 1 skipped in 0.42s =====');\nsetInterval(() => undefined, 1000);`, [], { SSR_WATCHDOG_GRACE: '1' });
    assert.equal(py.status, 124, py.out);
    assert.match(py.out, /active resources: .*Timeout/);
  });
});
