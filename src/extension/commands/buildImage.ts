/**
 * "SSR: Build Sandbox Image": the extension's build script in a terminal,
 * Docker checked again when that terminal closes.
 */
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { EnvironmentError } from '../../core/base/errors';
import { readSettings } from '../settings';
import type { CommandEnv, SsrCommand } from './context';

function buildImage(env: CommandEnv): void {
  const script = vscode.Uri.joinPath(env.context.extensionUri, 'scripts', 'build-image.sh').fsPath;
  if (!fs.existsSync(script)) throw new EnvironmentError(`the image build script is missing from the extension (${script})`);
  const image = readSettings().image;
  const term = vscode.window.createTerminal({ name: 'SSR: build sandbox image', env: { SSR_IMAGE: image } });
  term.show();
  term.sendText(`bash ${JSON.stringify(script)} && echo "SSR: image ${image} is ready; close this terminal."`);
  const sub = vscode.window.onDidCloseTerminal(async (t) => {
    if (t !== term) return;
    sub.dispose();
    await env.model.checkDocker();
  });
  env.context.subscriptions.push(sub);
}

export const buildImageCommand: SsrCommand = { id: 'ssr.buildImage', title: 'Build Sandbox Image', run: (env) => buildImage(env) };
