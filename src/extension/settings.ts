/**
 * The extension's settings (contributes.configuration, "ssr.*"), read and
 * checked in one place. Invalid values raise a SettingsError naming the
 * setting, which the error reporter turns into an "Open Settings" button.
 * The API key lives in the secret storage only.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { PolicySpec } from '../core/policy';
import type { Thresholds } from '../core/judge/checks';
import { SettingsError } from './errors';

export const API_KEY_SECRET = 'ssr.policy.apiKey';
export type PolicyKind = 'bootstrap' | 'openai' | 'onnx' | 'replay';
const KINDS: PolicyKind[] = ['bootstrap', 'openai', 'onnx', 'replay'];

export interface SsrSettings {
  image: string;
  policyKind: PolicyKind;
  baseUrl: string;
  model: string;
  trajectory: string;
  attempts: number;
  concurrency: number;
  rounds: number;
  thresholds: Thresholds;
  runsDirectory: string;
}

export function readSettings(): SsrSettings {
  const c = vscode.workspace.getConfiguration('ssr');
  return {
    image: String(c.get('image') ?? 'ssr-sandbox:bookworm').trim(),
    policyKind: String(c.get('policy.kind') ?? 'bootstrap') as PolicyKind,
    baseUrl: String(c.get('policy.baseUrl') ?? '').trim(),
    model: String(c.get('policy.model') ?? '').trim(),
    trajectory: String(c.get('policy.trajectory') ?? '').trim(),
    attempts: Number(c.get('attempts') ?? 8),
    concurrency: Number(c.get('concurrency') ?? 2),
    rounds: Number(c.get('rounds') ?? 4),
    thresholds: {
      minPassingTests: Number(c.get('thresholds.minPassingTests') ?? 5),
      minChangedFiles: Number(c.get('thresholds.minChangedFiles') ?? 1),
      minFailingTests: Number(c.get('thresholds.minFailingTests') ?? 1),
    },
    runsDirectory: String(c.get('runsDirectory') ?? '').trim(),
  };
}

function int(v: number, name: string, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new SettingsError(`The setting ssr.${name} must be a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''} (it is ${JSON.stringify(v)}).`, `ssr.${name}`);
  }
}

/** Throws a SettingsError for the first invalid setting. */
export function checkSettings(s: SsrSettings): void {
  if (!s.image) throw new SettingsError('The setting ssr.image is empty: name the sandbox image (default ssr-sandbox:bookworm).', 'ssr.image');
  if (!KINDS.includes(s.policyKind)) {
    throw new SettingsError(`The setting ssr.policy.kind must be one of ${KINDS.join(', ')} (it is ${JSON.stringify(s.policyKind)}).`, 'ssr.policy.kind');
  }
  int(s.attempts, 'attempts', 1, 64);
  int(s.concurrency, 'concurrency', 1, 32);
  int(s.rounds, 'rounds', 1, 10000);
  int(s.thresholds.minPassingTests, 'thresholds.minPassingTests', 0);
  int(s.thresholds.minChangedFiles, 'thresholds.minChangedFiles', 1);
  int(s.thresholds.minFailingTests, 'thresholds.minFailingTests', 1);
  if (s.policyKind === 'openai' && s.baseUrl) {
    let ok = false;
    try {
      const u = new URL(s.baseUrl);
      ok = u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      ok = false;
    }
    if (!ok) throw new SettingsError(`The setting ssr.policy.baseUrl is not an http(s) URL (${JSON.stringify(s.baseUrl)}); e.g. http://127.0.0.1:8000/v1.`, 'ssr.policy.baseUrl');
  }
  if (s.policyKind === 'replay' && !s.trajectory) {
    throw new SettingsError('The replay policy needs a recorded trajectory: set ssr.policy.trajectory.', 'ssr.policy.trajectory');
  }
}

/** The policy spec for core (undefined: no model), with the API key from the secret storage. */
export async function policySpec(s: SsrSettings, secrets: vscode.SecretStorage, workspaceDir?: string): Promise<PolicySpec | undefined> {
  switch (s.policyKind) {
    case 'bootstrap':
      return undefined;
    case 'openai': {
      const apiKey = (await secrets.get(API_KEY_SECRET)) || undefined;
      return { kind: 'openai', baseUrl: s.baseUrl || undefined, model: s.model || undefined, apiKey };
    }
    case 'onnx': {
      const model = s.model && workspaceDir && (s.model.startsWith('.') || s.model.startsWith('~')) ? path.resolve(workspaceDir, s.model) : s.model || undefined;
      return { kind: 'onnx', model };
    }
    case 'replay':
      return { kind: 'replay', trajectory: workspaceDir ? path.resolve(workspaceDir, s.trajectory) : s.trajectory };
  }
}

/** A one-line, secret-free description of the configured policy. */
export function describeSettingsPolicy(s: SsrSettings): string {
  switch (s.policyKind) {
    case 'bootstrap':
      return 'no model (bootstrap proposer)';
    case 'openai':
      return `openai ${s.model || '(first served model)'} @ ${s.baseUrl || 'http://127.0.0.1:8000/v1'}`;
    case 'onnx':
      return `onnx ${s.model || '(default model)'}`;
    case 'replay':
      return `replay ${s.trajectory}`;
  }
}
