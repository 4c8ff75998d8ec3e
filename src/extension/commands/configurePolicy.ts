/**
 * "SSR: Configure Policy": which model injects and solves bugs (none, an
 * OpenAI-compatible server, a local ONNX model, a replayed trajectory),
 * written to the user settings; an API key goes to the secret storage.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { probeOpenAI } from '../../core/selfplay/actions';
import { API_KEY_SECRET, readSettings, type SsrSettings } from '../settings';
import type { CommandEnv, SsrCommand } from './context';

type PolicyKind = 'bootstrap' | 'openai' | 'onnx' | 'replay';

/** Never the workspace's .vscode/: SSR writes only .ssr/ there. */
const TARGET = vscode.ConfigurationTarget.Global;

const config = () => vscode.workspace.getConfiguration('ssr');

async function pickKind(s: SsrSettings): Promise<PolicyKind | undefined> {
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
  return pick?.policy;
}

function validBaseUrl(v: string): string | undefined {
  try {
    const u = new URL(v.trim());
    return u.protocol === 'http:' || u.protocol === 'https:' ? undefined : 'an http(s) URL';
  } catch {
    return 'an http(s) URL, e.g. http://127.0.0.1:8000/v1';
  }
}

/** Asks for the API key and stores it ("-" removes it, empty keeps it); false when the question was dismissed. */
async function askApiKey(env: CommandEnv): Promise<boolean> {
  const hasKey = Boolean(await env.context.secrets.get(API_KEY_SECRET));
  const key = await vscode.window.showInputBox({
    title: 'SSR: model server (3/3)',
    prompt: hasKey ? 'API key: leave empty to keep the stored one, type "-" to remove it' : 'API key, if the server needs one (stored in the secret storage, never in settings or logs)',
    password: true,
    ignoreFocusOut: true,
  });
  if (key === undefined) return false;
  if (key === '-') await env.context.secrets.delete(API_KEY_SECRET);
  else if (key.trim()) {
    env.log.addSecret(key.trim());
    await env.context.secrets.store(API_KEY_SECRET, key.trim());
  }
  return true;
}

async function configureOpenAI(env: CommandEnv, s: SsrSettings): Promise<void> {
  const baseUrl = await vscode.window.showInputBox({
    title: 'SSR: model server (1/3)',
    prompt: 'Base URL up to /v1 (vLLM :8000, Ollama :11434, llama.cpp :8080)',
    value: s.baseUrl || 'http://127.0.0.1:8000/v1',
    ignoreFocusOut: true,
    validateInput: validBaseUrl,
  });
  if (baseUrl === undefined) return;
  const model = await vscode.window.showInputBox({ title: 'SSR: model server (2/3)', prompt: 'Served model name (empty: the first one the server lists)', value: s.model, ignoreFocusOut: true });
  if (model === undefined) return;
  if (!(await askApiKey(env))) return;
  const cfg = config();
  await cfg.update('policy.baseUrl', baseUrl.trim(), TARGET);
  await cfg.update('policy.model', model.trim(), TARGET);
  await cfg.update('policy.kind', 'openai', TARGET);
  const apiKey = (await env.context.secrets.get(API_KEY_SECRET)) || undefined;
  const probe = await probeOpenAI(baseUrl.trim(), apiKey);
  if (probe.ok) {
    env.log.info(`model server ${baseUrl.trim()} answers; models: ${probe.models.join(', ') || '(none listed)'}`);
    void vscode.window.showInformationMessage(`SSR: policy set to ${model.trim() || probe.models[0] || 'the served model'} at ${baseUrl.trim()} (the server answers).`);
  } else {
    const b = await vscode.window.showWarningMessage(`SSR: policy saved, but ${probe.error}. Start the server before injecting or solving.`, 'Show Log');
    if (b) env.log.show();
  }
}

async function configureOnnx(s: SsrSettings): Promise<void> {
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
  const cfg = config();
  await cfg.update('policy.model', model.trim(), TARGET);
  await cfg.update('policy.kind', 'onnx', TARGET);
  void vscode.window.showInformationMessage(`SSR: policy set to the ONNX model ${model.trim()}.`);
}

async function configureReplay(): Promise<void> {
  const picked = await vscode.window.showOpenDialog({ canSelectFiles: true, canSelectMany: false, filters: { Trajectory: ['json'] }, openLabel: 'Replay this trajectory' });
  if (!picked?.length) return;
  const cfg = config();
  await cfg.update('policy.trajectory', picked[0].fsPath, TARGET);
  await cfg.update('policy.kind', 'replay', TARGET);
  void vscode.window.showInformationMessage(`SSR: policy set to replay ${path.basename(picked[0].fsPath)}.`);
}

async function configurePolicy(env: CommandEnv): Promise<void> {
  const s = readSettings();
  const kind = await pickKind(s);
  if (!kind) return;
  if (kind === 'bootstrap') {
    await config().update('policy.kind', 'bootstrap', TARGET);
    void vscode.window.showInformationMessage('SSR: no model. Inject Bug proposes bugs itself; solving needs a model.');
    return;
  }
  if (kind === 'openai') return configureOpenAI(env, s);
  if (kind === 'onnx') return configureOnnx(s);
  return configureReplay();
}

export const configurePolicyCommand: SsrCommand = { id: 'ssr.configurePolicy', title: 'Configure Policy', run: (env) => configurePolicy(env) };
