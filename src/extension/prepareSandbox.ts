/**
 * "SSR: Prepare Sandbox": builds the workspace repository's environment image
 * (core/environment: devcontainer, a Dockerfile named in the `ssr.environment.dockerfile`
 * setting, or a recipe from the manifests), with the current step in a
 * progress notification and the whole build log in the SSR output channel.
 * Thin: the work is core's buildEnvironment, the same as `ssr env build`.
 */
import * as vscode from 'vscode';
import { buildEnvironment } from '../core/environment';
import type { Log } from './log';

export const PREPARE_SANDBOX = 'ssr.prepareSandbox';

export function registerPrepareSandbox(log: Log): vscode.Disposable {
  return vscode.commands.registerCommand(PREPARE_SANDBOX, async () => {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (!folder) {
      void vscode.window.showErrorMessage('SSR: open the repository folder first.');
      return;
    }
    const dockerfile = vscode.workspace.getConfiguration('ssr').get<string>('environment.dockerfile') || undefined;
    const started = Date.now();
    try {
      const r = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'SSR: preparing the sandbox', cancellable: true },
        async (progress, token) => {
          const ac = new AbortController();
          token.onCancellationRequested(() => ac.abort());
          log.info(`environment build for ${folder}`);
          return buildEnvironment({
            repoDir: folder,
            dockerfile,
            signal: ac.signal,
            onLog: (line) => log.info(line),
            onStep: (step, i, total) =>
              progress.report({ message: `step ${i}/${total}: ${step} (${Math.round((Date.now() - started) / 1000)} s)`, increment: 100 / Math.max(1, total) }),
          });
        },
      );
      for (const n of r.notes) log.info(`note: ${n}`);
      void vscode.window.showInformationMessage(
        `SSR: sandbox image ${r.image} (${r.source}${r.cached ? ', cached' : `, built in ${Math.round(r.durationMs / 1000)} s`}). ` +
          'Commands on this repository now run in it.',
      );
    } catch (err) {
      log.error(err as Error);
      const pick = await vscode.window.showErrorMessage(`SSR: ${(err as Error).message.split('\n')[0]}`, 'Show Log');
      if (pick) log.show();
    }
  });
}
