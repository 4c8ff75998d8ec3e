/**
 * "SSR: Solve Bug": one more solver attempt on a stored valid bug (core's
 * solveBug, as `ssr solve`), its steps live in a stepper panel, its verdict
 * in a message.
 */
import * as vscode from 'vscode';
import { solveBug, type SolveBugResult } from '../../core/selfplay/actions';
import { readJson } from '../../core/runs/store';
import type { Trajectory } from '../../core/base/trajectory';
import { ModelServerError } from '../errors';
import { requireWorkspace } from '../state';
import type { StepperPanel } from '../stepper/stepperPanel';
import { BugNode } from '../tree/nodes/bugNode';
import type { CommandEnv, SsrCommand } from './context';
import { isPolicyFailure, onSessionEvent } from './outcome';
import { pickBug, type BugTarget } from './pick';
import { checkedPolicy, ensureDocker, settingsFor } from './preflight';

/** Solving needs a model: says so, with the way to configure one. */
async function askForModel(env: CommandEnv): Promise<void> {
  env.log.warn('Solve Bug: no model is configured (ssr.policy.kind is bootstrap)');
  const b = await vscode.window.showWarningMessage(
    'SSR: solving needs a model (an OpenAI-compatible server such as vLLM or Ollama, or a local ONNX model). No model is configured.',
    'Configure Policy',
    'Open Settings',
  );
  if (b === 'Configure Policy') await vscode.commands.executeCommand('ssr.configurePolicy');
  if (b === 'Open Settings') await vscode.commands.executeCommand('workbench.action.openSettings', 'ssr.policy');
}

async function solveOne(env: CommandEnv, arg: unknown): Promise<void> {
  const repo = requireWorkspace();
  const s = await settingsFor(env, repo);
  const direct = arg && typeof arg === 'object' && 'runDir' in arg && 'bugId' in arg && !(arg instanceof BugNode) ? (arg as BugTarget) : undefined;
  if (s.policyKind === 'bootstrap') return askForModel(env);
  // The model server and Docker are checked before asking which bug.
  const spec = (await checkedPolicy(env, s, repo))!;
  await ensureDocker(env, s.image);
  const target = direct ?? (await pickBug(env, arg, 'The bug to solve', true));
  if (!target) return;
  const panels = new Map<number, StepperPanel>();
  const res = await env.jobs.run(`Solve ${target.bugId}`, 'solve', (ctl) => {
    ctl.attachRun(target.runDir);
    return solveBug({
      runDir: target.runDir,
      bugId: target.bugId,
      policy: spec,
      image: s.image,
      signal: ctl.signal,
      onEvent: (e) => onSessionEvent(env, ctl, e),
      onStep: (n, step, t) => {
        const p = panels.get(n);
        if (p) p.pushStep(t, step);
        else panels.set(n, env.stepper.live(`${target.bugId}-s${n}`, t));
      },
    });
  });
  env.model.scheduleRefresh(50);
  await announce(env, target, res, panels);
}

/** Each attempt's verdict in a message (its panel finished first); a model server that failed is an error. */
async function announce(env: CommandEnv, target: BugTarget, res: SolveBugResult, panels: Map<number, StepperPanel>): Promise<void> {
  for (const a of res.attempts) {
    const t = await readJson<Trajectory>(a.trajectoryFile).catch(() => undefined);
    const p = panels.get(a.n);
    if (p && t) p.finish(t, a.trajectoryFile);
    if (isPolicyFailure(t)) throw new ModelServerError(t?.error ?? 'the model server failed');
    const verdict = /^(not )?solved\b/.test(a.detail) ? a.detail : `${a.solved ? 'solved' : 'not solved'} (${a.detail})`;
    const msg = `SSR: ${target.bugId}, attempt ${a.n + 1}: ${verdict}`;
    const show = a.solved ? vscode.window.showInformationMessage : vscode.window.showWarningMessage;
    void show(msg, 'Open Trajectory').then((b) => b && env.stepper.openFile(a.trajectoryFile));
  }
}

export const solveCommand: SsrCommand = { id: 'ssr.solveBug', title: 'Solve Bug', run: (env, a) => solveOne(env, a) };
