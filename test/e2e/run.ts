/**
 * The end-to-end test's entry point:
 *
 *   node --import tsx test/e2e/run.ts        (npm run test:e2e)
 *
 * Runs test/e2e/*.e2e.ts with mocha's spec reporter ("N passing",
 * "N failing") and exits non-zero on any failure. Needs Docker with the
 * sandbox image, Debian's Chromium and code-server (scripts/install-code-server.sh
 * installs both; it runs on first use). Screenshots: test-results/e2e/*.png.
 *
 * Environment: SSR_E2E_ONLY=NAME (only the *.e2e.ts files whose name holds NAME),
 * SSR_E2E_GREP=TEXT (only the tests whose title matches),
 * SSR_E2E_VSIX (use a built .vsix), SSR_E2E_KEEP=1 (keep the
 * temporary workspace), SSR_E2E_BENCH_BUGS / SSR_E2E_BENCH_STEPS.
 */
import * as path from 'node:path';
import * as fs from 'node:fs';
import Mocha from 'mocha';

// SSR_E2E_BAIL=1 stops at the first failure (when working on one test).
const mocha = new Mocha({ reporter: 'spec', timeout: 900_000, bail: process.env.SSR_E2E_BAIL === '1', color: false });
// SSR_E2E_GREP=bench runs only the tests whose title matches (a test that needs an earlier one's state sets it up itself).
if (process.env.SSR_E2E_GREP) mocha.grep(process.env.SSR_E2E_GREP);
const dir = __dirname;
// SSR_E2E_ONLY=dashboard runs only the files whose name contains it.
const only = process.env.SSR_E2E_ONLY;
for (const f of fs.readdirSync(dir).sort()) if (f.endsWith('.e2e.ts') && (!only || f.includes(only))) mocha.addFile(path.join(dir, f));

void (async () => {
  await mocha.loadFilesAsync();
  mocha.run((failures) => {
    process.exitCode = failures ? 1 : 0;
    // Playwright or a stray handle must not keep the process alive.
    setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
  });
})().catch((err) => {
  console.error(err);
  console.log('0 passing\n1 failing');
  process.exit(1);
});
