/**
 * SSR in VS Code: views over the workspace's run directories (Bugs,
 * Sessions, Trajectories), the "SSR: ..." commands, the read-only diff
 * review and the trajectory stepper. Sessions run in the extension host
 * through core (see docs/extension.md for why); nothing here implements SSR
 * itself.
 */
import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { registerPrepareSandbox } from './prepareSandbox';
import { DashboardPanels } from './dashboard/dashboardPanel';
import { registerInsights } from './insights';
import { reportError } from './errors';
import { Jobs } from './jobs';
import { Log } from './log';
import { ArtifactDocuments } from './review/artifactDocuments';
import { API_KEY_SECRET, describeSettingsPolicy, readSettings } from './settings';
import { RunsModel, setContext, workspaceDir } from './state';
import { StepperPanels } from './stepper/stepperPanel';
import { TrajectoryCache } from './trajectories';
import { BugsProvider, SessionsProvider, TrajectoriesProvider } from './tree/providers';
import type { NodeEnv, TreeNode } from './tree/nodes/treeNode';
import { disposeAll } from '../core/sandbox';

/** What tests reach through the extension's exports. */
export interface SsrApi {
  model: RunsModel;
  providers: { bugs: BugsProvider; sessions: SessionsProvider; trajectories: TrajectoriesProvider };
  stepper: StepperPanels;
  panels: DashboardPanels;
}

/** The Bugs, Sessions and Trajectories views, refreshed when the runs or the jobs change. */
function createViews(context: vscode.ExtensionContext, env: NodeEnv) {
  const bugs = new BugsProvider(env);
  const sessions = new SessionsProvider(env);
  const trajs = new TrajectoriesProvider(env);
  const views: Array<[string, BugsProvider | SessionsProvider | TrajectoriesProvider]> = [
    ['ssr.bugs', bugs],
    ['ssr.sessions', sessions],
    ['ssr.trajectories', trajs],
  ];
  for (const [id, provider] of views) {
    // The Trajectories view lets several attempts be selected (Compare Attempts takes them).
    const view = vscode.window.createTreeView<TreeNode>(id, { treeDataProvider: provider, showCollapseAll: id !== 'ssr.sessions', canSelectMany: id === 'ssr.trajectories' });
    provider.view = view;
    context.subscriptions.push(view, provider);
  }
  const refreshViews = () => {
    bugs.refresh();
    sessions.refresh();
    trajs.refresh();
  };
  context.subscriptions.push(
    env.model.onDidChange(refreshViews),
    env.jobs.onDidChange((runDir) => {
      if (runDir === undefined) refreshViews();
      else sessions.refresh();
    }),
  );
  return { bugs, sessions, trajs, refreshViews };
}

export async function activate(context: vscode.ExtensionContext): Promise<SsrApi> {
  const log = new Log();
  context.subscriptions.push(log);
  log.info(`SSR ${context.extension.packageJSON.version} activating (VS Code ${vscode.version}, Node ${process.versions.node})`);
  log.addSecret(await context.secrets.get(API_KEY_SECRET));
  context.subscriptions.push(
    context.secrets.onDidChange(async (e) => {
      if (e.key === API_KEY_SECRET) log.addSecret(await context.secrets.get(API_KEY_SECRET));
    }),
  );

  const model = new RunsModel(log, context.workspaceState);
  const jobs = new Jobs(log);
  const trajectories = new TrajectoryCache();
  const docs = new ArtifactDocuments(log, workspaceDir);
  const stepper = new StepperPanels(context.extensionUri, trajectories, docs, log, () => jobs.running.length > 0);
  context.subscriptions.push(model, jobs, docs, stepper);

  const { bugs, sessions, trajs, refreshViews } = createViews(context, { model, jobs, docs, trajectories, log });

  context.subscriptions.push(registerPrepareSandbox(log));
  const panels = new DashboardPanels(context.extensionUri, model, docs, log);
  context.subscriptions.push(panels);
  context.subscriptions.push(...registerCommands({ context, log, model, jobs, docs, stepper, refreshViews, bugs }));
  context.subscriptions.push(
    ...registerInsights({
      extensionPath: context.extensionPath,
      model,
      panels,
      docs,
      log,
      bugs,
      report: (err, title) => reportError(err, { log, title, onDocker: (p) => model.setDocker(p) }),
    }),
  );
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('ssr')) log.info(`settings changed: policy ${describeSettingsPolicy(readSettings())}`);
    }),
  );

  await model.configure();
  setContext('ssr.activated', true);
  // Docker is checked in the background: the views work without it (reading runs), the commands say what is missing.
  void model.checkDocker().then((d) => log.info(`Docker: ${d}`));
  log.info(`workspace ${model.repoDir ?? '(none)'}; runs in ${model.root ?? '(none)'}; ${model.runs.length} run(s)`);
  return { model, providers: { bugs, sessions, trajectories: trajs }, stepper, panels };
}

export function deactivate(): Promise<void> {
  // Jobs are aborted by their disposal (context.subscriptions); whatever sandbox is still alive or being
  // created is removed here, and with it its connection to the engine, before the extension host goes.
  return disposeAll();
}
