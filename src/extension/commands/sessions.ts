/**
 * "SSR: Start Self-play Session", "SSR: Stop Session" and "SSR: Resume
 * Session": core's SelfPlaySession (as `ssr selfplay`) run as a job of this
 * window, and its end told in one message with the next step.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { policyDescription } from '../../core/selfplay/actions';
import { makePlayers } from '../../core/selfplay/players';
import type { PolicySpec } from '../../core/policy';
import { DEFAULT_CONFIG, SelfPlaySession, type SelfPlayConfig, type SessionFile } from '../../core/selfplay/session';
import { RunStore } from '../../core/runs/store';
import { runName } from '../../core/report/data';
import type { SsrSettings } from '../settings';
import { requireWorkspace } from '../state';
import { SessionNode } from '../tree/nodes/sessionNode';
import type { CommandEnv, SsrCommand } from './context';
import { onSessionEvent, sessionError } from './outcome';
import { pickRun } from './pick';
import { checkedPolicy, ensureDocker, settingsFor } from './preflight';

function sessionConfig(s: SsrSettings, repo: string, spec: PolicySpec | undefined): SelfPlayConfig {
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

async function finished(env: CommandEnv, file: SessionFile, runDir: string, title: string): Promise<void> {
  env.model.scheduleRefresh(50);
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

/** How many rounds: asked, with the setting as the default (a number argument skips the question). */
async function askRounds(s: SsrSettings, spec: PolicySpec | undefined, arg: unknown): Promise<number | undefined> {
  if (typeof arg === 'number') return arg;
  const answer = await vscode.window.showInputBox({
    title: 'SSR: Start Self-play Session',
    prompt: `Rounds to play (one first-order bug each; ${spec ? `${s.attempts} solver attempts per bug` : 'no model: bugs are proposed and validated, not solved'}). The default is the ssr.rounds setting.`,
    value: String(s.rounds),
    validateInput: (v) => (/^\d+$/.test(v.trim()) && Number(v) >= 1 && Number(v) <= 10000 ? undefined : 'a whole number from 1 to 10000'),
  });
  return answer === undefined ? undefined : Number(answer.trim());
}

async function startSession(env: CommandEnv, arg?: unknown): Promise<void> {
  const repo = requireWorkspace();
  const s = await settingsFor(env, repo);
  await ensureDocker(env, s.image);
  const spec = await checkedPolicy(env, s, repo);
  const rounds = await askRounds(s, spec, arg);
  if (rounds === undefined) return;
  const config = { ...sessionConfig(s, repo, spec), rounds };
  const runId = RunStore.newRunId();
  const out = env.model.root ? path.join(env.model.root, runId) : undefined;
  let runDir = '';
  const file = await env.jobs.run('Self-play Session', 'session', async (ctl) => {
    const session = await SelfPlaySession.create(config, makePlayers({ policy: spec }), { signal: ctl.signal, onEvent: (e) => onSessionEvent(env, ctl, e), out, runId });
    runDir = session.runDir;
    return session.run();
  });
  await finished(env, file, runDir, `Self-play, ${rounds} round${rounds === 1 ? '' : 's'}`);
}

/** Stops the run of the argument, else the one job running, else the job picked. */
async function stopSession(env: CommandEnv, arg: unknown): Promise<void> {
  const dir = arg instanceof SessionNode ? arg.runDir : typeof arg === 'string' ? arg : undefined;
  if (dir) {
    if (env.jobs.stop(dir)) return;
    const run = env.model.runs.find((r) => r.dir === dir);
    if (run?.state === 'running') {
      void vscode.window.showWarningMessage(`SSR: run ${run.id} is run by process ${run.session?.pid}, not by this window: stop it there (Ctrl+C in its terminal). It can be resumed later.`);
    } else void vscode.window.showInformationMessage('SSR: this run is not running.');
    return;
  }
  const jobs = env.jobs.running;
  if (!jobs.length) {
    void vscode.window.showInformationMessage('SSR: nothing is running in this window.');
    return;
  }
  if (jobs.length === 1) {
    env.jobs.stop(jobs[0].runDir);
    if (!jobs[0].runDir) jobs[0].controller.abort();
    return;
  }
  const pick = await vscode.window.showQuickPick(
    jobs.map((j) => ({ label: j.title, description: j.message, job: j })),
    { placeHolder: 'Stop which one?' },
  );
  pick?.job.controller.abort();
}

async function resumeSession(env: CommandEnv, arg: unknown): Promise<void> {
  const repo = requireWorkspace();
  const s = await settingsFor(env, repo);
  const run = await pickRun(env, arg, 'The run to resume', (r) => r.state === 'cancelled' || r.state === 'interrupted' || r.state === 'failed');
  if (!run) return;
  if (env.jobs.isRunning(run.dir)) {
    void vscode.window.showInformationMessage(`SSR: run ${run.id} is already running in this window.`);
    return;
  }
  await ensureDocker(env, run.session?.config.image ?? s.image);
  const spec = await checkedPolicy(env, s, repo);
  const file = await env.jobs.run(`Resume ${run.id}`, 'session', async (ctl) => {
    ctl.attachRun(run.dir);
    const session = await SelfPlaySession.resume(run.dir, makePlayers({ policy: spec }), { signal: ctl.signal, onEvent: (e) => onSessionEvent(env, ctl, e) });
    return session.run();
  });
  await finished(env, file, run.dir, run.session ? runName(run.session, run.id) : `run ${run.id}`);
}

export const sessionCommands: SsrCommand[] = [
  { id: 'ssr.startSession', title: 'Start Self-play Session', run: (env, a) => startSession(env, a) },
  { id: 'ssr.stopSession', title: 'Stop Session', run: (env, a) => stopSession(env, a) },
  { id: 'ssr.resumeSession', title: 'Resume Session', run: (env, a) => resumeSession(env, a) },
];
