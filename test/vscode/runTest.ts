/**
 * Extension-host tests (npm run test:vscode): downloads VS Code with
 * @vscode/test-electron, opens a copy of the pyledger fixture holding a
 * recorded run directory, and runs suite/ inside the extension host.
 * Machines without network (this project's CI) cannot download VS Code: the
 * end-to-end test (test/e2e, code-server) covers the extension there.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { runTests } from '@vscode/test-electron';
import { writeRecordedRun } from '../e2e/fixtures';

const ROOT = path.resolve(__dirname, '../..');

async function main(): Promise<void> {
  // The suite runs in the extension host's Node: bundle it to plain CommonJS.
  const outDir = path.join(ROOT, 'out', 'test-vscode');
  await esbuild.build({
    entryPoints: [path.join(__dirname, 'suite', 'index.ts')],
    outfile: path.join(outDir, 'index.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode', 'mocha'],
    sourcemap: true,
    logLevel: 'warning',
  });
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-vscode-test-'));
  fs.cpSync(path.join(ROOT, 'test/fixtures/repos/pyledger'), ws, { recursive: true, filter: (p) => !p.split(path.sep).includes('.ssr') });
  writeRecordedRun(path.join(ws, '.ssr', 'runs'), ws);
  try {
    await runTests({
      extensionDevelopmentPath: ROOT,
      extensionTestsPath: path.join(outDir, 'index.js'),
      launchArgs: [ws, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
      extensionTestsEnv: { SSR_TEST_WORKSPACE: ws, NODE_PATH: path.join(ROOT, 'node_modules') },
    });
  } finally {
    fs.rmSync(ws, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`test:vscode failed: ${(err as Error).message}`);
  process.exit(1);
});
