import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { CLI, ROOT, TEXT_LOADER } from './paths';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the `ssr` CLI from source (tsx) as a separate process. */
export function runCli(args: string[], env: Record<string, string> = {}, signalAfterMs?: number): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--require', TEXT_LOADER, CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    if (signalAfterMs) setTimeout(() => child.kill('SIGINT'), signalAfterMs);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export const tsxBin = path.join(ROOT, 'node_modules', '.bin', 'tsx');
