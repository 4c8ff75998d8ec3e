/**
 * "SSR: Inject Bug": one bug proposed and validated in a new run (core's
 * injectBug, as `ssr inject`), the injector's steps live in a stepper panel.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { injectBug, type InjectBugResult } from '../../core/selfplay/actions';
import { readJson } from '../../core/runs/store';
import type { Trajectory } from '../../core/base/trajectory';
import { ModelServerError } from '../errors';
import { requireWorkspace } from '../state';
import type { StepperPanel } from '../stepper/stepperPanel';
import type { CommandEnv, SsrCommand } from './context';
import { isPolicyFailure, onSessionEvent, sessionError } from './outcome';
import { checkedPolicy, ensureDocker, settingsFor } from './preflight';
import { openDiff } from './review';

async function injectOne(env: CommandEnv): Promise<void> {
  const repo = requireWorkspace();
  const s = await settingsFor(env, repo);
  await ensureDocker(env, s.image);
  const spec = await checkedPolicy(env, s, repo);
  // A replay policy replays a solver: bugs then come from the bootstrap proposer (as in a session).
  const injector = spec?.kind === 'replay' ? undefined : spec;
  const panels = new Map<string, StepperPanel>();
  const res = await env.jobs.run('Inject Bug', 'inject', (ctl) =>
    injectBug({
      repoDir: repo,
      image: s.image,
      thresholds: s.thresholds,
      concurrency: s.concurrency,
      policy: injector,
      runsRoot: env.model.root,
      signal: ctl.signal,
      onEvent: (e) => onSessionEvent(env, ctl, e),
      onInjectStep: (step, t) => {
        const p = panels.get(t.id);
        if (p) p.pushStep(t, step);
        else panels.set(t.id, env.stepper.live(t.id, t));
      },
    }),
  );
  env.model.followNewRun(res.runDir);
  const injectorFile = res.bug ? path.join(res.runDir, 'bugs', res.bug.id, 'injector.json') : path.join(res.runDir, 'injector', 'r0.json');
  for (const p of panels.values()) {
    const t = await readJson<Trajectory>(injectorFile).catch(() => undefined);
    if (t) p.finish(t, injectorFile);
  }
  await announce(env, res, injectorFile, Boolean(spec));
}

/** Says how the injection ended: cancelled, failed, no bug, or the bug's verdict with what to do next. */
async function announce(env: CommandEnv, res: InjectBugResult, injectorFile: string, canSolve: boolean): Promise<void> {
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
    if (b) env.log.show();
    return;
  }
  const bug = res.bug;
  if (bug.valid) {
    void vscode.window
      .showInformationMessage(`SSR: bug ${bug.id} injected: valid, all seven checks pass.`, 'Review Diff', ...(canSolve ? ['Solve Bug'] : []))
      .then((b) => {
        if (b === 'Review Diff') void openDiff(env, { t: 'artifact', run: res.runDir, bug: bug.id, file: 'bug_inject.diff' });
        if (b === 'Solve Bug') void vscode.commands.executeCommand('ssr.solveBug', { runDir: res.runDir, bugId: bug.id });
      });
  } else {
    void vscode.window.showWarningMessage(`SSR: bug ${bug.id} is invalid: the check ${bug.firstFailure} failed. Its verdicts are in the Bugs view.`, 'Show Log').then((b) => b && env.log.show());
  }
}

export const injectCommand: SsrCommand = { id: 'ssr.injectBug', title: 'Inject Bug', run: (env) => injectOne(env) };
