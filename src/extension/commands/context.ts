/**
 * What every "SSR: ..." command is given (the extension's model of the
 * runs, the log, the jobs, the read-only documents, the stepper panels),
 * and the shape of one command: its id, its palette title and its handler.
 */
import type * as vscode from 'vscode';
import { reportError } from '../errors';
import type { Jobs } from '../jobs';
import type { Log } from '../log';
import type { ArtifactDocuments } from '../review/artifactDocuments';
import type { RunsModel } from '../state';
import type { StepperPanels } from '../stepper/stepperPanel';
import type { BugsProvider } from '../tree/providers';

export interface CommandEnv {
  context: vscode.ExtensionContext;
  log: Log;
  model: RunsModel;
  jobs: Jobs;
  docs: ArtifactDocuments;
  stepper: StepperPanels;
  refreshViews: () => void;
  bugs?: BugsProvider;
}

/** One command as package.json contributes it: the id, the palette title (the e2e test checks the palette) and the handler. */
export interface SsrCommand {
  id: string;
  title: string;
  run: (env: CommandEnv, ...args: unknown[]) => unknown;
}

/** Something runs in this window: documents then open without taking the focus. */
export function busy(env: CommandEnv): boolean {
  return env.jobs.running.length > 0;
}

/** A command's failure as one actionable message (Docker problems also update the model). */
export function reportFailure(env: CommandEnv, err: unknown, title: string): Promise<void> {
  return reportError(err, { log: env.log, title, onDocker: (p) => env.model.setDocker(p) });
}
