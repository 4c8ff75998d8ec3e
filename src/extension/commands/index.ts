/**
 * The "SSR: ..." commands, one file per command or per group sharing one
 * idea, each with its id, title and handler. Each reads the settings,
 * checks what it needs up front (a folder, Docker and the image, a model
 * when it solves, the model server answering), then calls core inside a
 * cancellable job. No SSR logic here: proposing, validating, solving,
 * rewarding, exporting and training are all core functions.
 */
import * as vscode from 'vscode';
import { buildImageCommand } from './buildImage';
import { configurePolicyCommand } from './configurePolicy';
import { reportFailure, type CommandEnv, type SsrCommand } from './context';
import { exportDatasetCommand } from './exportDataset';
import { injectCommand } from './inject';
import { openTrajectoryCommand } from './openTrajectory';
import { reviewCommands } from './review';
import { sessionCommands } from './sessions';
import { solveCommand } from './solve';
import { trainPolicyCommand } from './trainPolicy';
import { validateCommand } from './validate';
import { refreshCommand, revealCommand, selectRunCommand, showLogCommand } from './views';

export type { CommandEnv } from './context';

/** Every command the extension contributes (package.json lists the same ids and titles), in palette order. */
export const COMMANDS: readonly SsrCommand[] = [
  injectCommand,
  solveCommand,
  validateCommand,
  ...sessionCommands,
  openTrajectoryCommand,
  exportDatasetCommand,
  trainPolicyCommand,
  configurePolicyCommand,
  showLogCommand,
  refreshCommand,
  selectRunCommand,
  ...reviewCommands,
  revealCommand,
  buildImageCommand,
];

/** Registers every command; a failure becomes one message named after the command's title. */
export function registerCommands(env: CommandEnv): vscode.Disposable[] {
  return COMMANDS.map((c) =>
    vscode.commands.registerCommand(c.id, async (...args: unknown[]) => {
      try {
        return await c.run(env, ...args);
      } catch (err) {
        await reportFailure(env, err, c.title);
      }
    }),
  );
}
