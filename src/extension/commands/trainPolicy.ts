/**
 * "SSR: Train Policy": a policy model updated on a run's rewarded
 * trajectories (core's train, as `ssr train`), each trainer event in the
 * log and the job's progress.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { train, type TrainEvent } from '../../core/training/trainer';
import type { RunEntry } from '../../core/selfplay/actions';
import type { JobControl } from '../jobs';
import { requireWorkspace } from '../state';
import type { CommandEnv, SsrCommand } from './context';
import { pickRun } from './pick';
import { reveal } from './views';

const MODEL_KEY = 'ssr.train.model';

/** True when the run has rewarded trajectories; otherwise says why training needs them. */
async function hasTrajectories(run: RunEntry): Promise<boolean> {
  const jsonl = path.join(run.dir, 'trajectories.jsonl');
  if (fs.existsSync(jsonl) && fs.readFileSync(jsonl, 'utf8').trim()) return true;
  const b = await vscode.window.showWarningMessage(
    `SSR: run ${run.id} has no rewarded trajectories yet: training needs solver (and injector) episodes, which need a model.`,
    'Configure Policy',
  );
  if (b) await vscode.commands.executeCommand('ssr.configurePolicy');
  return false;
}

/** The model folder to update: the one trained last time, or one chosen on disk (remembered). */
async function pickModelDir(env: CommandEnv): Promise<string | undefined> {
  const remembered = env.context.globalState.get<string>(MODEL_KEY);
  const items: Array<vscode.QuickPickItem & { dir?: string }> = [];
  if (remembered && fs.existsSync(remembered)) items.push({ label: path.basename(remembered), description: remembered, dir: remembered });
  items.push({ label: '$(folder-opened) Choose the policy model folder…', description: 'Hugging Face layout (config.json, weights, tokenizer)' });
  const pick = items.length > 1 ? await vscode.window.showQuickPick(items, { placeHolder: 'The policy to update' }) : items[0];
  if (!pick) return undefined;
  let modelDir = pick.dir;
  if (!modelDir) {
    const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Train this model', title: 'Policy model folder (Hugging Face layout)' });
    if (!picked?.length) return undefined;
    modelDir = picked[0].fsPath;
  }
  await env.context.globalState.update(MODEL_KEY, modelDir);
  return modelDir;
}

const fmt = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : x.toFixed(3));

/** Follows the trainer's events in the log and the job's progress. */
function trainerEvents(env: CommandEnv, ctl: JobControl): (ev: TrainEvent) => void {
  let last = 0;
  return (ev) => {
    switch (ev.type) {
      case 'start':
        env.log.info(`training ${ev.model} on ${ev.device} (${ev.records} trajectories, ${ev.groups} groups, ${ev.steps} steps)`);
        ctl.report(`${ev.steps} steps on ${ev.device}`);
        break;
      case 'step': {
        const line = `step ${ev.step}/${ev.steps} · loss ${fmt(ev.loss)} · r_solve ${fmt(ev.reward.solver)} · r_inject ${fmt(ev.reward.injector)}`;
        env.log.info(line);
        const pct = ev.steps ? (100 * ev.step) / ev.steps : 0;
        ctl.report(line, Math.max(0, pct - last));
        last = pct;
        break;
      }
      case 'log':
        if (ev.level === 'warn') env.log.warn(`trainer: ${ev.message}`);
        else env.log.info(`trainer: ${ev.message}`);
        break;
      case 'error':
        env.log.error(`trainer: ${ev.code}: ${ev.message}`);
        break;
      case 'checkpoint':
        env.log.info(`checkpoint at step ${ev.step}: ${ev.path}`);
        break;
      case 'export':
        env.log.info(`exported ${ev.kind}: ${ev.path}`);
        break;
      case 'done':
        env.log.info(`training done: ${ev.steps} steps in ${Math.round(ev.elapsedSec)} s; model in ${ev.model}`);
        break;
    }
  };
}

async function trainPolicy(env: CommandEnv, arg: unknown): Promise<void> {
  requireWorkspace();
  const run = await pickRun(env, arg ?? env.model.activeRunDir, 'The run to learn from (its trajectories.jsonl)', (r) => Boolean(r.session));
  if (!run || !(await hasTrajectories(run))) return;
  const modelDir = await pickModelDir(env);
  if (!modelDir) return;
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  const out = path.join(run.dir, 'train', stamp);
  const result = await env.jobs.run(`Train on ${run.id}`, 'train', (ctl) => {
    ctl.attachRun(run.dir);
    return train({ run: run.dir, model: modelDir, out, signal: ctl.signal, onStderr: (line) => env.log.debug(`trainer: ${line}`), onEvent: trainerEvents(env, ctl) });
  });
  const buttons = result.onnxDir ? ['Use as ONNX Policy', 'Reveal'] : ['Reveal'];
  const b = await vscode.window.showInformationMessage(`SSR: training finished (${result.steps} step${result.steps === 1 ? '' : 's'}). The updated policy is in ${result.modelDir}.`, ...buttons);
  if (b === 'Use as ONNX Policy' && result.onnxDir) {
    const cfg = vscode.workspace.getConfiguration('ssr');
    await cfg.update('policy.kind', 'onnx', vscode.ConfigurationTarget.Global);
    await cfg.update('policy.model', result.onnxDir, vscode.ConfigurationTarget.Global);
  }
  if (b === 'Reveal') await reveal({ revealPath: result.modelDir });
}

export const trainPolicyCommand: SsrCommand = { id: 'ssr.trainPolicy', title: 'Train Policy', run: (env, a) => trainPolicy(env, a) };
