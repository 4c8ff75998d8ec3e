/**
 * The "SSR: ..." commands. Each one reads the settings, checks what it
 * needs up front (a folder, Docker and the image, a model when it solves,
 * the model server answering), then calls core inside a cancellable job.
 * No SSR logic here: proposing, validating, solving, rewarding, exporting
 * and training are all core functions.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  formatValidationReport,
  injectBug,
  listAttempts,
  listBugEntries,
  policyDescription,
  probeOpenAI,
  revalidateBug,
  solveBug,
  validateFolder,
  type RunEntry,
} from '../core/selfplay/actions';
import { exportSwebench } from '../core/report/export';
import { makePlayers } from '../core/selfplay/players';
import type { PolicySpec } from '../core/policy';
import { DEFAULT_IMAGE, ensureEngineAndImage } from '../core/sandbox/docker';
import { chooseImage } from '../core/environment';
import { DEFAULT_CONFIG, SelfPlaySession, type SelfPlayConfig, type SessionEvent, type SessionFile } from '../core/selfplay/session';
import { RunStore, readJson } from '../core/runs/store';
import type { Trajectory } from '../core/base/trajectory';
import { train, type TrainEvent } from '../core/training/trainer';
import { EnvironmentError } from '../core/base/errors';
import { ModelServerError, dockerProblem, reportError } from './errors';
import type { Jobs, JobControl } from './jobs';
import type { Log } from './log';
import type { ArtifactDocuments } from './review/artifactDocuments';
import { API_KEY_SECRET, checkSettings, policySpec, readSettings, type SsrSettings } from './settings';
import { requireWorkspace, type RunsModel } from './state';
import type { StepperPanel, StepperPanels } from './stepper/stepperPanel';
import { ArtifactFileNode } from './tree/nodes/artifactFileNode';
import { AttemptNode } from './tree/nodes/attemptNode';
import { BugNode } from './tree/nodes/bugNode';
import { InjectorNode } from './tree/nodes/injectorNode';
import { PatchNode } from './tree/nodes/patchNode';
import { SessionNode } from './tree/nodes/sessionNode';
import { StepNode } from './tree/nodes/stepNode';
import type { TreeNode } from './tree/nodes/treeNode';
import type { BugsProvider } from './tree/providers';
import { runName } from '../core/report/data';

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

/** Every command the extension contributes, with its palette title (the e2e test checks the palette). */
export const COMMANDS = {
  'ssr.injectBug': 'Inject Bug',
  'ssr.solveBug': 'Solve Bug',
  'ssr.validateArtifact': 'Validate Artifact',
  'ssr.startSession': 'Start Self-play Session',
  'ssr.stopSession': 'Stop Session',
  'ssr.resumeSession': 'Resume Session',
  'ssr.openTrajectory': 'Open Trajectory',
  'ssr.exportDataset': 'Export Dataset',
  'ssr.trainPolicy': 'Train Policy',
  'ssr.configurePolicy': 'Configure Policy',
  'ssr.showLog': 'Show Log',
  'ssr.refresh': 'Refresh',
  'ssr.selectRun': 'Show Run',
  'ssr.openDiff': 'Open Diff',
  'ssr.openArtifactFile': 'Open Read-only',
  'ssr.revealInRunDirectory': 'Reveal in Run Directory',
  'ssr.buildImage': 'Build Sandbox Image',
} as const;

type Handler = (...args: unknown[]) => unknown;

export function registerCommands(env: CommandEnv): vscode.Disposable[] {
  const c = new Commands(env);
  const table: Record<keyof typeof COMMANDS, Handler> = {
    'ssr.injectBug': () => c.injectBug(),
    'ssr.solveBug': (a) => c.solveBug(a),
    'ssr.validateArtifact': (a) => c.validateArtifact(a),
    'ssr.startSession': (a) => c.startSession(a),
    'ssr.stopSession': (a) => c.stopSession(a),
    'ssr.resumeSession': (a) => c.resumeSession(a),
    'ssr.openTrajectory': (a) => c.openTrajectory(a),
    'ssr.exportDataset': (a) => c.exportDataset(a),
    'ssr.trainPolicy': (a) => c.trainPolicy(a),
    'ssr.configurePolicy': () => c.configurePolicy(),
    'ssr.showLog': () => env.log.show(),
    'ssr.refresh': () => c.refresh(),
    'ssr.selectRun': (a) => c.selectRun(a),
    'ssr.openDiff': (a) => c.openDiff(a),
    'ssr.openArtifactFile': (a) => c.openArtifactFile(a),
    'ssr.revealInRunDirectory': (a) => c.reveal(a),
    'ssr.buildImage': () => c.buildImage(),
  };
  return Object.entries(table).map(([id, fn]) =>
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        await c.report(err, COMMANDS[id as keyof typeof COMMANDS]);
      }
    }),
  );
}

/** The session's failure note as an error the reporter can classify (Docker problems get their buttons). */
function sessionError(note: string | undefined): Error {
  const e = new Error(note ?? 'the session failed (see the log)');
  if (note && /^paused: |Docker engine|container engine|sandbox image|docker\.sock|ECONNREFUSED/i.test(note)) e.name = 'EnvironmentError';
  return e;
}

function isPolicyFailure(t: Pick<Trajectory, 'status' | 'info'> | undefined): boolean {
  return t?.status === 'error' && t.info?.error_kind === 'policy';
}

class Commands {
  constructor(private readonly env: CommandEnv) {}

  report(err: unknown, title: string): Promise<void> {
    return reportError(err, { log: this.env.log, title, onDocker: (p) => this.env.model.setDocker(p) });
  }

  private busy(): boolean {
    return this.env.jobs.running.length > 0;
  }

  // ------------------------------------------------------------ checks before work

  private settings(): SsrSettings {
    const s = readSettings();
    checkSettings(s);
    return s;
  }

  /**
   * The settings with the sandbox image for this repository: an image set
   * in the settings wins; otherwise the repository's built environment
   * (SSR: Prepare Sandbox), else the base image.
   */
  private async settingsFor(repo: string): Promise<SsrSettings> {
    const s = this.settings();
    const choice = await chooseImage({ repoDir: repo, explicit: s.image !== DEFAULT_IMAGE ? s.image : undefined });
    this.env.log.info(choice.message);
    return { ...s, image: choice.image };
  }

  private async ensureDocker(image: string): Promise<void> {
    try {
      await ensureEngineAndImage(image);
      if (this.env.model.docker !== 'ok') this.env.model.setDocker('ok');
    } catch (err) {
      const p = dockerProblem(err);
      if (p) this.env.model.setDocker(p);
      throw err;
    }
  }

  private async policy(s: SsrSettings, repo: string): Promise<PolicySpec | undefined> {
    const spec = await policySpec(s, this.env.context.secrets, repo);
    if (spec?.kind === 'openai') {
      this.env.log.addSecret(spec.apiKey);
      const probe = await probeOpenAI(spec.baseUrl, spec.apiKey);
      if (!probe.ok) throw new ModelServerError(`${probe.error}. Start the server, or change ssr.policy.baseUrl with SSR: Configure Policy.`);
      if (spec.model && probe.models.length && !probe.models.includes(spec.model)) {
        this.env.log.warn(`the server lists ${probe.models.join(', ')}; ssr.policy.model is ${spec.model}`);
      }
    }
    if (spec?.kind === 'replay' && typeof spec.trajectory === 'string' && !fs.existsSync(spec.trajectory)) {
      throw new ModelServerError(`the replay trajectory ${spec.trajectory} does not exist (ssr.policy.trajectory)`);
    }
    return spec;
  }

  private onSessionEvent(ctl: JobControl, e: SessionEvent): void {
    ctl.onSessionEvent(e);
    if (e.type === 'session-started') this.env.model.followNewRun(e.runDir);
    this.env.model.scheduleRefresh(150);
  }

  // ------------------------------------------------------------ picking things

  private async pickRun(arg: unknown, placeHolder: string, filter: (r: RunEntry) => boolean = () => true): Promise<RunEntry | undefined> {
    const dir = arg instanceof SessionNode ? arg.runDir : typeof arg === 'string' ? arg : arg instanceof vscode.Uri ? arg.fsPath : undefined;
    await this.env.model.refresh();
    if (dir) {
      const found = this.env.model.runs.find((r) => r.dir === path.resolve(dir));
      if (found) return found;
    }
    const runs = this.env.model.runs.filter(filter);
    if (!runs.length) {
      void vscode.window.showInformationMessage('SSR: no run fits. Start a self-play session or inject a bug first.', 'Inject Bug').then((b) => b && vscode.commands.executeCommand('ssr.injectBug'));
      return undefined;
    }
    const pick = await vscode.window.showQuickPick(
      runs.map((r) => ({
        label: r.session ? runName(r.session, r.id) : r.id,
        description: `${r.state === 'cancelled' ? 'stopped' : r.state}${r.session ? ` · ${r.session.counters.validBugs} valid bugs${r.session.counters.attempts ? ` · ${r.session.counters.solved}/${r.session.counters.attempts} solved` : ''}` : ''} · ${r.id}`,
        detail: r.error,
        run: r,
      })),
      { placeHolder },
    );
    return pick?.run;
  }

  private async pickBug(arg: unknown, placeHolder: string, onlyValid: boolean): Promise<{ runDir: string; bugId: string } | undefined> {
    if (arg instanceof BugNode) return { runDir: arg.runDir, bugId: arg.bugId };
    const run = this.env.model.activeRun;
    if (!run) {
      void vscode.window.showInformationMessage('SSR: there is no run yet: inject a bug first.', 'Inject Bug').then((b) => b && vscode.commands.executeCommand('ssr.injectBug'));
      return undefined;
    }
    const bugs = (await listBugEntries(run.dir)).filter((b) => b.record && (!onlyValid || b.record.valid === true));
    if (!bugs.length) {
      void vscode.window.showInformationMessage(`SSR: run ${run.id} has no ${onlyValid ? 'valid ' : ''}bug.`);
      return undefined;
    }
    const pick = await vscode.window.showQuickPick(
      bugs.map((b) => ({ label: b.id, description: b.record!.valid ? 'valid' : b.record!.valid === false ? `invalid: ${b.record!.firstFailure}` : b.record!.status, bug: b })),
      { placeHolder: `${placeHolder} (run ${run.id})` },
    );
    return pick ? { runDir: run.dir, bugId: pick.bug.id } : undefined;
  }

  // ------------------------------------------------------------ inject

  async injectBug(): Promise<void> {
    const repo = requireWorkspace();
    const s = await this.settingsFor(repo);
    await this.ensureDocker(s.image);
    const spec = await this.policy(s, repo);
    // A replay policy replays a solver: bugs then come from the bootstrap proposer (as in a session).
    const injector = spec?.kind === 'replay' ? undefined : spec;
    const panels = new Map<string, StepperPanel>();
    const res = await this.env.jobs.run('Inject Bug', 'inject', (ctl) =>
      injectBug({
        repoDir: repo,
        image: s.image,
        thresholds: s.thresholds,
        concurrency: s.concurrency,
        policy: injector,
        runsRoot: this.env.model.root,
        signal: ctl.signal,
        onEvent: (e) => this.onSessionEvent(ctl, e),
        onInjectStep: (step, t) => {
          const p = panels.get(t.id);
          if (p) p.pushStep(t, step);
          else panels.set(t.id, this.env.stepper.live(t.id, t));
        },
      }),
    );
    this.env.model.followNewRun(res.runDir);
    const injectorFile = res.bug ? path.join(res.runDir, 'bugs', res.bug.id, 'injector.json') : path.join(res.runDir, 'injector', 'r0.json');
    for (const p of panels.values()) {
      const t = await readJson<Trajectory>(injectorFile).catch(() => undefined);
      if (t) p.finish(t, injectorFile);
    }
    if (res.session.status === 'cancelled') {
      void vscode.window.showInformationMessage('SSR: Inject Bug was cancelled.');
      return;
    }
    if (res.session.status === 'failed' || res.session.status === 'interrupted') throw sessionError(res.session.note);
    const t = await readJson<Trajectory>(injectorFile).catch(() => undefined);
    if (isPolicyFailure(t)) throw new ModelServerError(t?.error ?? 'the model server failed');
    if (!res.bug) {
      const reason = res.session.rounds['0']?.reason ?? res.session.note ?? 'no reason given';
      const b = await vscode.window.showWarningMessage(`SSR: no bug could be proposed: ${reason}`, 'Show Log');
      if (b) this.env.log.show();
      return;
    }
    const bug = res.bug;
    const canSolve = Boolean(spec);
    if (bug.valid) {
      void vscode.window
        .showInformationMessage(`SSR: bug ${bug.id} injected: valid, all seven checks pass.`, 'Review Diff', ...(canSolve ? ['Solve Bug'] : []))
        .then((b) => {
          if (b === 'Review Diff') void this.openDiff({ t: 'artifact', run: res.runDir, bug: bug.id, file: 'bug_inject.diff' });
          if (b === 'Solve Bug') void vscode.commands.executeCommand('ssr.solveBug', { runDir: res.runDir, bugId: bug.id });
        });
    } else {
      void vscode.window.showWarningMessage(`SSR: bug ${bug.id} is invalid: the check ${bug.firstFailure} failed. Its verdicts are in the Bugs view.`, 'Show Log').then((b) => b && this.env.log.show());
    }
  }

  // ------------------------------------------------------------ solve

  async solveBug(arg: unknown): Promise<void> {
    const repo = requireWorkspace();
    const s = await this.settingsFor(repo);
    const direct = arg && typeof arg === 'object' && 'runDir' in arg && 'bugId' in arg && !(arg instanceof BugNode) ? (arg as { runDir: string; bugId: string }) : undefined;
    if (s.policyKind === 'bootstrap') {
      this.env.log.warn('Solve Bug: no model is configured (ssr.policy.kind is bootstrap)');
      const b = await vscode.window.showWarningMessage(
        'SSR: solving needs a model (an OpenAI-compatible server such as vLLM or Ollama, or a local ONNX model). No model is configured.',
        'Configure Policy',
        'Open Settings',
      );
      if (b === 'Configure Policy') await vscode.commands.executeCommand('ssr.configurePolicy');
      if (b === 'Open Settings') await vscode.commands.executeCommand('workbench.action.openSettings', 'ssr.policy');
      return;
    }
    // The model server and Docker are checked before asking which bug.
    const spec = (await this.policy(s, repo))!;
    await this.ensureDocker(s.image);
    const target = direct ?? (await this.pickBug(arg, 'The bug to solve', true));
    if (!target) return;
    const panels = new Map<number, StepperPanel>();
    const res = await this.env.jobs.run(`Solve ${target.bugId}`, 'solve', (ctl) => {
      ctl.attachRun(target.runDir);
      return solveBug({
        runDir: target.runDir,
        bugId: target.bugId,
        policy: spec,
        image: s.image,
        signal: ctl.signal,
        onEvent: (e) => this.onSessionEvent(ctl, e),
        onStep: (n, step, t) => {
          const p = panels.get(n);
          if (p) p.pushStep(t, step);
          else panels.set(n, this.env.stepper.live(`${target.bugId}-s${n}`, t));
        },
      });
    });
    this.env.model.scheduleRefresh(50);
    for (const a of res.attempts) {
      const t = await readJson<Trajectory>(a.trajectoryFile).catch(() => undefined);
      const p = panels.get(a.n);
      if (p && t) p.finish(t, a.trajectoryFile);
      if (isPolicyFailure(t)) throw new ModelServerError(t?.error ?? 'the model server failed');
      const verdict = /^(not )?solved\b/.test(a.detail) ? a.detail : `${a.solved ? 'solved' : 'not solved'} (${a.detail})`;
      const msg = `SSR: ${target.bugId}, attempt ${a.n + 1}: ${verdict}`;
      const show = a.solved ? vscode.window.showInformationMessage : vscode.window.showWarningMessage;
      void show(msg, 'Open Trajectory').then((b) => b && this.env.stepper.openFile(a.trajectoryFile));
    }
  }

  // ------------------------------------------------------------ validate

  async validateArtifact(arg: unknown): Promise<void> {
    const repo = requireWorkspace();
    const s = await this.settingsFor(repo);
    let bug: { runDir: string; bugId: string } | undefined;
    let folder: string | undefined;
    if (arg instanceof BugNode) bug = { runDir: arg.runDir, bugId: arg.bugId };
    else if (arg instanceof vscode.Uri) folder = arg.fsPath;
    else {
      const run = this.env.model.activeRun;
      const bugs = run ? (await listBugEntries(run.dir)).filter((b) => b.record) : [];
      const items: Array<vscode.QuickPickItem & { bugId?: string; browse?: boolean }> = [
        { label: '$(folder-opened) Choose an artifact folder…', description: 'a folder with the five files', browse: true },
        ...bugs.map((b) => ({ label: b.id, description: `run ${run!.id} · ${b.record!.valid ? 'valid' : b.record!.valid === false ? 'invalid' : b.record!.status}`, bugId: b.id })),
      ];
      const pick = await vscode.window.showQuickPick(items, { placeHolder: 'Validate a stored bug again, or any artifact folder' });
      if (!pick) return;
      if (pick.browse) {
        const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: 'Validate', title: 'Artifact folder (test_script.sh, test_files.txt, test_parser.py, bug_inject.diff, test_weaken.diff)' });
        if (!picked?.length) return;
        folder = picked[0].fsPath;
      } else bug = { runDir: run!.dir, bugId: pick.bugId! };
    }
    await this.ensureDocker(s.image);
    if (bug) {
      const b = bug;
      const report = await this.env.jobs.run(`Validate ${b.bugId}`, 'validate', (ctl) => {
        ctl.attachRun(b.runDir);
        return revalidateBug(b.runDir, b.bugId, {
          image: s.image,
          concurrency: s.concurrency,
          signal: ctl.signal,
          onCheck: (c) => this.env.log.info(`  ${b.bugId} ${c.id}: ${c.status} (${c.detail.split('\n')[0]})`),
          onEvent: (e) => ctl.onValidationEvent(e, b.bugId),
        });
      });
      this.env.model.scheduleRefresh(50);
      const text = report.valid ? `SSR: ${b.bugId} is valid: all seven checks pass.` : `SSR: ${b.bugId} is invalid: ${report.firstFailure} failed.`;
      void (report.valid ? vscode.window.showInformationMessage(text) : vscode.window.showWarningMessage(text));
      return;
    }
    const dir = folder!;
    const report = await this.env.jobs.run(`Validate ${path.basename(dir)}`, 'validate', (ctl) => {
      return validateFolder(dir, {
        repoDir: repo,
        image: s.image,
        thresholds: s.thresholds,
        concurrency: s.concurrency,
        signal: ctl.signal,
        onCheck: (c) => this.env.log.info(`  ${path.basename(dir)} ${c.id}: ${c.status} (${c.detail.split('\n')[0]})`),
        onEvent: (e) => ctl.onValidationEvent(e, path.basename(dir)),
      });
    });
    const uri = this.env.docs.memoryUri(`report|${dir}`, formatValidationReport(report, `Validation of ${dir}`), `reports/${path.basename(dir)}-validation.md`);
    const doc = await vscode.languages.setTextDocumentLanguage(await vscode.workspace.openTextDocument(uri), 'markdown');
    await vscode.window.showTextDocument(doc, { preview: true, preserveFocus: this.busy() });
  }

  // ------------------------------------------------------------ sessions

  private sessionConfig(s: SsrSettings, repo: string, spec: PolicySpec | undefined): SelfPlayConfig {
    return {
      ...DEFAULT_CONFIG,
      repoDir: repo,
      image: s.image,
      // A replay policy replays a solver; bugs then come from the bootstrap proposer.
      proposer: spec && spec.kind !== 'replay' ? 'policy' : 'bootstrap',
      policy: policyDescription(spec),
      attempts: s.attempts,
      concurrency: s.concurrency,
      rounds: s.rounds,
      thresholds: s.thresholds,
      seed: Math.floor(Math.random() * 2 ** 31),
    };
  }

  private async finished(file: SessionFile, runDir: string, title: string): Promise<void> {
    this.env.model.scheduleRefresh(50);
    // 'interrupted': the engine, a container or the disk failed; the note says so and how to resume.
    if (file.status === 'failed' || file.status === 'interrupted') throw sessionError(file.note);
    const c = file.counters;
    if (file.status === 'cancelled') {
      const b = await vscode.window.showInformationMessage(`SSR: ${title} stopped. Resume it any time.`, 'Resume Session');
      if (b) await vscode.commands.executeCommand('ssr.resumeSession', runDir);
      return;
    }
    // The key sentence first and short: a toast shows one line until expanded.
    const solved = file.config.policy ? ` ${c.solved}/${c.attempts} attempts solved.` : ' Not solved: no model is configured.';
    const b = await vscode.window.showInformationMessage(
      `SSR: ${c.validBugs} of ${c.proposals} bugs valid.${solved} (${title} finished)`,
      'Open Dashboard',
      ...(file.config.policy ? [] : ['Configure Policy']),
    );
    if (b === 'Open Dashboard') await vscode.commands.executeCommand('ssr.openDashboard', runDir);
    if (b === 'Configure Policy') await vscode.commands.executeCommand('ssr.configurePolicy');
  }

  async startSession(arg?: unknown): Promise<void> {
    const repo = requireWorkspace();
    const s = await this.settingsFor(repo);
    await this.ensureDocker(s.image);
    const spec = await this.policy(s, repo);
    // How many rounds: asked, with the setting as the default (a number argument skips the question).
    let rounds = typeof arg === 'number' ? arg : undefined;
    if (rounds === undefined) {
      const answer = await vscode.window.showInputBox({
        title: 'SSR: Start Self-play Session',
        prompt: `Rounds to play (one first-order bug each; ${spec ? `${s.attempts} solver attempts per bug` : 'no model: bugs are proposed and validated, not solved'}). The default is the ssr.rounds setting.`,
        value: String(s.rounds),
        validateInput: (v) => (/^\d+$/.test(v.trim()) && Number(v) >= 1 && Number(v) <= 10000 ? undefined : 'a whole number from 1 to 10000'),
      });
      if (answer === undefined) return;
      rounds = Number(answer.trim());
    }
    const config = { ...this.sessionConfig(s, repo, spec), rounds };
    const runId = RunStore.newRunId();
    const out = this.env.model.root ? path.join(this.env.model.root, runId) : undefined;
    let runDir = '';
    const file = await this.env.jobs.run('Self-play Session', 'session', async (ctl) => {
      const session = await SelfPlaySession.create(config, makePlayers({ policy: spec }), { signal: ctl.signal, onEvent: (e) => this.onSessionEvent(ctl, e), out, runId });
      runDir = session.runDir;
      return session.run();
    });
    await this.finished(file, runDir, `Self-play, ${rounds} round${rounds === 1 ? '' : 's'}`);
  }

  async stopSession(arg: unknown): Promise<void> {
    const dir = arg instanceof SessionNode ? arg.runDir : typeof arg === 'string' ? arg : undefined;
    if (dir) {
      if (this.env.jobs.stop(dir)) return;
      const run = this.env.model.runs.find((r) => r.dir === dir);
      if (run?.state === 'running') {
        void vscode.window.showWarningMessage(`SSR: run ${run.id} is run by process ${run.session?.pid}, not by this window: stop it there (Ctrl+C in its terminal). It can be resumed later.`);
      } else void vscode.window.showInformationMessage('SSR: this run is not running.');
      return;
    }
    const jobs = this.env.jobs.running;
    if (!jobs.length) {
      void vscode.window.showInformationMessage('SSR: nothing is running in this window.');
      return;
    }
    if (jobs.length === 1) {
      this.env.jobs.stop(jobs[0].runDir);
      if (!jobs[0].runDir) jobs[0].controller.abort();
      return;
    }
    const pick = await vscode.window.showQuickPick(
      jobs.map((j) => ({ label: j.title, description: j.message, job: j })),
      { placeHolder: 'Stop which one?' },
    );
    pick?.job.controller.abort();
  }

  async resumeSession(arg: unknown): Promise<void> {
    const repo = requireWorkspace();
    const s = await this.settingsFor(repo);
    const run = await this.pickRun(arg, 'The run to resume', (r) => r.state === 'cancelled' || r.state === 'interrupted' || r.state === 'failed');
    if (!run) return;
    if (this.env.jobs.isRunning(run.dir)) {
      void vscode.window.showInformationMessage(`SSR: run ${run.id} is already running in this window.`);
      return;
    }
    await this.ensureDocker(run.session?.config.image ?? s.image);
    const spec = await this.policy(s, repo);
    const file = await this.env.jobs.run(`Resume ${run.id}`, 'session', async (ctl) => {
      ctl.attachRun(run.dir);
      const session = await SelfPlaySession.resume(run.dir, makePlayers({ policy: spec }), { signal: ctl.signal, onEvent: (e) => this.onSessionEvent(ctl, e) });
      return session.run();
    });
    await this.finished(file, run.dir, run.session ? runName(run.session, run.id) : `run ${run.id}`);
  }

  // ------------------------------------------------------------ trajectories and diffs

  async openTrajectory(arg: unknown): Promise<void> {
    if (arg instanceof StepNode) {
      await this.env.stepper.openFile(arg.file, { step: arg.index, preserveFocus: false });
      return;
    }
    if ((arg instanceof AttemptNode || arg instanceof InjectorNode) && arg.trajectoryFile) {
      await this.env.stepper.openFile(arg.trajectoryFile);
      return;
    }
    if (arg instanceof vscode.Uri) {
      await this.env.stepper.openFile(arg.fsPath);
      return;
    }
    if (typeof arg === 'string') {
      await this.env.stepper.openFile(arg);
      return;
    }
    const items: Array<vscode.QuickPickItem & { file?: string }> = [];
    const active = vscode.window.activeTextEditor?.document.uri;
    if (active?.scheme === 'file' && active.fsPath.endsWith('.json')) items.push({ label: `$(file) ${path.basename(active.fsPath)}`, description: 'the file in the editor', file: active.fsPath });
    const run = this.env.model.activeRun;
    if (run) {
      for (const b of await listBugEntries(run.dir)) {
        const inj = path.join(b.dir, 'injector.json');
        if (fs.existsSync(inj)) items.push({ label: `${b.id} injector`, description: `run ${run.id}`, file: inj });
        for (const a of await listAttempts(run.dir, b.id)) {
          if (a.trajectory) items.push({ label: `${b.id} attempt ${a.n + 1}`, description: a.result ? (a.result.solved ? 'solved' : a.result.evaluation?.tampered ? 'tampered' : 'not solved') : 'unfinished', file: a.trajectory });
        }
      }
    }
    items.push({ label: '$(folder-opened) Open a trajectory file…', description: 'an ssr-trajectory/1 JSON file' });
    const pick = await vscode.window.showQuickPick(items, { placeHolder: 'The trajectory to step through', matchOnDescription: true });
    if (!pick) return;
    let file = pick.file;
    if (!file) {
      const picked = await vscode.window.showOpenDialog({ canSelectFiles: true, canSelectMany: false, filters: { Trajectory: ['json'] }, openLabel: 'Open Trajectory', defaultUri: run ? vscode.Uri.file(run.dir) : undefined });
      if (!picked?.length) return;
      file = picked[0].fsPath;
    }
    await this.env.stepper.openFile(file);
  }

  async openDiff(arg: unknown): Promise<void> {
    const preserveFocus = this.busy();
    if (arg instanceof ArtifactFileNode && arg.isDiff) {
      await this.env.docs.openDiff({ t: 'artifact', run: arg.runDir, bug: arg.bugId, file: arg.name as 'bug_inject.diff' | 'test_weaken.diff' }, { preserveFocus });
    } else if (arg instanceof PatchNode) {
      await this.env.docs.openDiff({ t: 'patch', run: arg.runDir, bug: arg.bugId, attempt: arg.attempt }, { preserveFocus });
    } else if (arg instanceof StepNode) {
      await this.env.docs.openDiff({ t: 'step', traj: arg.file, step: arg.index }, { preserveFocus });
    } else if (arg && typeof arg === 'object' && 't' in arg) {
      await this.env.docs.openDiff(arg as Parameters<ArtifactDocuments['openDiff']>[0], { preserveFocus });
    } else {
      void vscode.window.showInformationMessage('SSR: pick a diff in the Bugs or Trajectories view (bug_inject.diff, test_weaken.diff, a patch or a step).');
    }
  }

  async openArtifactFile(arg: unknown): Promise<void> {
    if (!(arg instanceof ArtifactFileNode)) return;
    await this.env.docs.openReadOnly(arg.revealPath!, `${arg.bugId}/${arg.name}`, { preserveFocus: this.busy() });
  }

  async reveal(arg: unknown): Promise<void> {
    const p = (arg as TreeNode | undefined)?.revealPath ?? (arg instanceof SessionNode ? arg.runDir : undefined);
    if (!p) return;
    const uri = vscode.Uri.file(p);
    if (vscode.workspace.getWorkspaceFolder(uri)) {
      await vscode.commands.executeCommand('revealInExplorer', uri);
      return;
    }
    try {
      await vscode.commands.executeCommand('revealFileInOS', uri);
    } catch {
      const b = await vscode.window.showInformationMessage(`SSR: ${p}`, 'Copy Path');
      if (b) await vscode.env.clipboard.writeText(p);
    }
  }

  async selectRun(arg: unknown): Promise<void> {
    const dir = arg instanceof SessionNode ? arg.runDir : typeof arg === 'string' ? arg : (await this.pickRun(undefined, 'The run to show in the Bugs and Trajectories views'))?.dir;
    if (!dir) return;
    this.env.model.setActive(dir);
    await this.env.bugs?.revealRun(dir);
  }

  // ------------------------------------------------------------ data and training

  async exportDataset(arg: unknown): Promise<void> {
    requireWorkspace();
    const run = await this.pickRun(arg ?? this.env.model.activeRunDir, 'The run to export', (r) => Boolean(r.session));
    if (!run) return;
    const repo = this.env.model.repoOf(run)!;
    const out = path.join(run.dir, 'export', 'swebench.jsonl');
    const n = await this.env.jobs.run(`Export ${run.id}`, 'export', async (ctl) => {
      ctl.attachRun(run.dir);
      ctl.report('computing the fixes and test patches');
      const rows = await exportSwebench(run.dir, repo);
      await fs.promises.mkdir(path.dirname(out), { recursive: true });
      await fs.promises.writeFile(out, rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''));
      return rows.length;
    });
    this.env.log.info(`exported ${n} instance(s) to ${out}`);
    const b = await vscode.window.showInformationMessage(
      `SSR: exported ${n} valid bug(s) as SWE-bench instances to ${path.relative(this.env.model.repoDir ?? '', out)}. The trainer's own input is the run's trajectories.jsonl.`,
      'Open',
      'Reveal',
    );
    if (b === 'Open') await this.env.docs.openReadOnly(out, `${run.id}/swebench.jsonl`);
    if (b === 'Reveal') await this.reveal({ revealPath: out });
  }

  async trainPolicy(arg: unknown): Promise<void> {
    requireWorkspace();
    const run = await this.pickRun(arg ?? this.env.model.activeRunDir, 'The run to learn from (its trajectories.jsonl)', (r) => Boolean(r.session));
    if (!run) return;
    const jsonl = path.join(run.dir, 'trajectories.jsonl');
    if (!fs.existsSync(jsonl) || !fs.readFileSync(jsonl, 'utf8').trim()) {
      const b = await vscode.window.showWarningMessage(
        `SSR: run ${run.id} has no rewarded trajectories yet: training needs solver (and injector) episodes, which need a model.`,
        'Configure Policy',
      );
      if (b) await vscode.commands.executeCommand('ssr.configurePolicy');
      return;
    }
    const remembered = this.env.context.globalState.get<string>('ssr.train.model');
    const items: Array<vscode.QuickPickItem & { dir?: string }> = [];
    if (remembered && fs.existsSync(remembered)) items.push({ label: path.basename(remembered), description: remembered, dir: remembered });
    items.push({ label: '$(folder-opened) Choose the policy model folder…', description: 'Hugging Face layout (config.json, weights, tokenizer)' });
    const pick = items.length > 1 ? await vscode.window.showQuickPick(items, { placeHolder: 'The policy to update' }) : items[0];
    if (!pick) return;
    let modelDir = pick.dir;
    if (!modelDir) {
      const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Train this model', title: 'Policy model folder (Hugging Face layout)' });
      if (!picked?.length) return;
      modelDir = picked[0].fsPath;
    }
    await this.env.context.globalState.update('ssr.train.model', modelDir);
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
    const out = path.join(run.dir, 'train', stamp);
    const fmt = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : x.toFixed(3));
    const result = await this.env.jobs.run(`Train on ${run.id}`, 'train', (ctl) => {
      ctl.attachRun(run.dir);
      let last = 0;
      return train({
        run: run.dir,
        model: modelDir!,
        out,
        signal: ctl.signal,
        onStderr: (line) => this.env.log.debug(`trainer: ${line}`),
        onEvent: (ev: TrainEvent) => {
          switch (ev.type) {
            case 'start':
              this.env.log.info(`training ${ev.model} on ${ev.device} (${ev.records} trajectories, ${ev.groups} groups, ${ev.steps} steps)`);
              ctl.report(`${ev.steps} steps on ${ev.device}`);
              break;
            case 'step': {
              const line = `step ${ev.step}/${ev.steps} · loss ${fmt(ev.loss)} · r_solve ${fmt(ev.reward.solver)} · r_inject ${fmt(ev.reward.injector)}`;
              this.env.log.info(line);
              const pct = ev.steps ? (100 * ev.step) / ev.steps : 0;
              ctl.report(line, Math.max(0, pct - last));
              last = pct;
              break;
            }
            case 'log':
              if (ev.level === 'warn') this.env.log.warn(`trainer: ${ev.message}`);
              else this.env.log.info(`trainer: ${ev.message}`);
              break;
            case 'error':
              this.env.log.error(`trainer: ${ev.code}: ${ev.message}`);
              break;
            case 'checkpoint':
              this.env.log.info(`checkpoint at step ${ev.step}: ${ev.path}`);
              break;
            case 'export':
              this.env.log.info(`exported ${ev.kind}: ${ev.path}`);
              break;
            case 'done':
              this.env.log.info(`training done: ${ev.steps} steps in ${Math.round(ev.elapsedSec)} s; model in ${ev.model}`);
              break;
          }
        },
      });
    });
    const buttons = result.onnxDir ? ['Use as ONNX Policy', 'Reveal'] : ['Reveal'];
    const b = await vscode.window.showInformationMessage(`SSR: training finished (${result.steps} step${result.steps === 1 ? '' : 's'}). The updated policy is in ${result.modelDir}.`, ...buttons);
    if (b === 'Use as ONNX Policy' && result.onnxDir) {
      const cfg = vscode.workspace.getConfiguration('ssr');
      await cfg.update('policy.kind', 'onnx', vscode.ConfigurationTarget.Global);
      await cfg.update('policy.model', result.onnxDir, vscode.ConfigurationTarget.Global);
    }
    if (b === 'Reveal') await this.reveal({ revealPath: result.modelDir });
  }

  // ------------------------------------------------------------ settings and environment

  async configurePolicy(): Promise<void> {
    const s = readSettings();
    const cfg = vscode.workspace.getConfiguration('ssr');
    const current = (k: string) => (s.policyKind === k ? ' (current)' : '');
    const pick = await vscode.window.showQuickPick(
      [
        { label: `No model${current('bootstrap')}`, description: 'bootstrap proposer: bugs are proposed and validated, nothing is solved', policy: 'bootstrap' as const },
        { label: `OpenAI-compatible server${current('openai')}`, description: 'vLLM, SGLang, llama.cpp, Ollama, any /v1/chat/completions', policy: 'openai' as const },
        { label: `Local ONNX model${current('onnx')}`, description: 'runs in the extension host with onnxruntime-node', policy: 'onnx' as const },
        { label: `Replay a trajectory${current('replay')}`, description: 'plays back recorded assistant turns (tests, demos)', policy: 'replay' as const },
      ],
      { placeHolder: `The policy that injects and solves bugs (now: ${s.policyKind})`, ignoreFocusOut: true },
    );
    if (!pick) return;
    const target = vscode.ConfigurationTarget.Global; // never the workspace's .vscode/: SSR writes only .ssr/ there
    if (pick.policy === 'bootstrap') {
      await cfg.update('policy.kind', 'bootstrap', target);
      void vscode.window.showInformationMessage('SSR: no model. Inject Bug proposes bugs itself; solving needs a model.');
      return;
    }
    if (pick.policy === 'openai') {
      const baseUrl = await vscode.window.showInputBox({
        title: 'SSR: model server (1/3)',
        prompt: 'Base URL up to /v1 (vLLM :8000, Ollama :11434, llama.cpp :8080)',
        value: s.baseUrl || 'http://127.0.0.1:8000/v1',
        ignoreFocusOut: true,
        validateInput: (v) => {
          try {
            const u = new URL(v.trim());
            return u.protocol === 'http:' || u.protocol === 'https:' ? undefined : 'an http(s) URL';
          } catch {
            return 'an http(s) URL, e.g. http://127.0.0.1:8000/v1';
          }
        },
      });
      if (baseUrl === undefined) return;
      const model = await vscode.window.showInputBox({ title: 'SSR: model server (2/3)', prompt: 'Served model name (empty: the first one the server lists)', value: s.model, ignoreFocusOut: true });
      if (model === undefined) return;
      const hasKey = Boolean(await this.env.context.secrets.get(API_KEY_SECRET));
      const key = await vscode.window.showInputBox({
        title: 'SSR: model server (3/3)',
        prompt: hasKey ? 'API key: leave empty to keep the stored one, type "-" to remove it' : 'API key, if the server needs one (stored in the secret storage, never in settings or logs)',
        password: true,
        ignoreFocusOut: true,
      });
      if (key === undefined) return;
      if (key === '-') await this.env.context.secrets.delete(API_KEY_SECRET);
      else if (key.trim()) {
        this.env.log.addSecret(key.trim());
        await this.env.context.secrets.store(API_KEY_SECRET, key.trim());
      }
      await cfg.update('policy.baseUrl', baseUrl.trim(), target);
      await cfg.update('policy.model', model.trim(), target);
      await cfg.update('policy.kind', 'openai', target);
      const apiKey = (await this.env.context.secrets.get(API_KEY_SECRET)) || undefined;
      const probe = await probeOpenAI(baseUrl.trim(), apiKey);
      if (probe.ok) {
        this.env.log.info(`model server ${baseUrl.trim()} answers; models: ${probe.models.join(', ') || '(none listed)'}`);
        void vscode.window.showInformationMessage(`SSR: policy set to ${model.trim() || probe.models[0] || 'the served model'} at ${baseUrl.trim()} (the server answers).`);
      } else {
        const b = await vscode.window.showWarningMessage(`SSR: policy saved, but ${probe.error}. Start the server before injecting or solving.`, 'Show Log');
        if (b) this.env.log.show();
      }
      return;
    }
    if (pick.policy === 'onnx') {
      const choice = await vscode.window.showQuickPick(
        [
          { label: '$(folder-opened) A model folder…', description: 'with onnx/model*.onnx and the tokenizer (e.g. what SSR: Train Policy exports)', folder: true },
          { label: 'A model id', description: 'from the local model cache', folder: false },
        ],
        { placeHolder: 'Which ONNX model?', ignoreFocusOut: true },
      );
      if (!choice) return;
      let model: string | undefined;
      if (choice.folder) {
        const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use this model' });
        model = picked?.[0]?.fsPath;
      } else {
        model = await vscode.window.showInputBox({ prompt: 'Model id', value: s.model || 'onnx-community/Qwen2.5-Coder-0.5B-Instruct', ignoreFocusOut: true });
      }
      if (!model) return;
      await cfg.update('policy.model', model.trim(), target);
      await cfg.update('policy.kind', 'onnx', target);
      void vscode.window.showInformationMessage(`SSR: policy set to the ONNX model ${model.trim()}.`);
      return;
    }
    const picked = await vscode.window.showOpenDialog({ canSelectFiles: true, canSelectMany: false, filters: { Trajectory: ['json'] }, openLabel: 'Replay this trajectory' });
    if (!picked?.length) return;
    await cfg.update('policy.trajectory', picked[0].fsPath, target);
    await cfg.update('policy.kind', 'replay', target);
    void vscode.window.showInformationMessage(`SSR: policy set to replay ${path.basename(picked[0].fsPath)}.`);
  }

  async refresh(): Promise<void> {
    await this.env.model.configure();
    await this.env.model.checkDocker();
    this.env.refreshViews();
  }

  async buildImage(): Promise<void> {
    const script = vscode.Uri.joinPath(this.env.context.extensionUri, 'scripts', 'build-image.sh').fsPath;
    if (!fs.existsSync(script)) throw new EnvironmentError(`the image build script is missing from the extension (${script})`);
    const image = readSettings().image;
    const term = vscode.window.createTerminal({ name: 'SSR: build sandbox image', env: { SSR_IMAGE: image } });
    term.show();
    term.sendText(`bash ${JSON.stringify(script)} && echo "SSR: image ${image} is ready; close this terminal."`);
    const sub = vscode.window.onDidCloseTerminal(async (t) => {
      if (t !== term) return;
      sub.dispose();
      await this.env.model.checkDocker();
    });
    this.env.context.subscriptions.push(sub);
  }
}
