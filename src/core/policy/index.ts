/**
 * Policies: what samples the agent's next assistant turn.
 *
 *   openai  any OpenAI-compatible /v1/chat/completions server (openai.ts)
 *   onnx    a local model in-process with onnxruntime-node (onnx.ts; it
 *           imports transformers.js lazily, when a model is loaded)
 *   replay  plays back a recorded trajectory (replay.ts)
 *
 * `createPolicy(spec)` builds one from a typed spec; `describePolicy` gives a
 * one-line, secret-free description for logs and UIs.
 */
import type { PolicyInfo } from '../base/trajectory';
import { PolicyError, type Policy } from './types';
import { OpenAIPolicy, type OpenAIPolicyOptions } from './openai';
import { ReplayPolicy, type ReplayPolicyOptions } from './replay';
import { OnnxPolicy, type OnnxPolicyOptions } from './onnx';

export * from './types';
export { OpenAIPolicy, DEFAULT_OPENAI_BASE_URL } from './openai';
export type { OpenAIPolicyOptions, OpenAIPolicyResponse, OpenAITool } from './openai';
export { ReplayPolicy } from './replay';
export type { ReplayPolicyOptions } from './replay';
export { OnnxPolicy, loadTransformers } from './onnx';
export type { OnnxPolicyOptions, OnnxPolicyResponse, OnnxDevice, OnnxDtype } from './onnx';
export { createRng, sampleToken, logprobAt } from './sampling';

import { DEFAULT_ONNX_MODEL } from './defaults';

export { DEFAULT_ONNX_MODEL, DEFAULT_TEMPERATURE, DEFAULT_TOP_P } from './defaults';

export type PolicyKind = 'openai' | 'onnx' | 'replay';

export type PolicySpec =
  | ({ kind: 'openai' } & OpenAIPolicyOptions)
  | ({ kind: 'onnx' } & OnnxPolicyOptions)
  | ({ kind: 'replay' } & ReplayPolicyOptions);

/** Builds a policy. The onnx policy loads its model here (seconds for small models). */
export async function createPolicy(spec: PolicySpec): Promise<Policy> {
  switch (spec.kind) {
    case 'openai': {
      const { kind: _kind, ...opts } = spec;
      return new OpenAIPolicy(opts);
    }
    case 'onnx': {
      const { kind: _kind, ...opts } = spec;
      return OnnxPolicy.create(opts);
    }
    case 'replay': {
      const { kind: _kind, ...opts } = spec;
      return new ReplayPolicy(opts);
    }
    default: {
      const kind = (spec as { kind?: unknown }).kind;
      throw new PolicyError(`unknown policy kind ${JSON.stringify(kind)}; use openai, onnx or replay`);
    }
  }
}

function fmt(n: number | undefined): string | undefined {
  return n === undefined ? undefined : String(Math.round(n * 1000) / 1000);
}

/**
 * One line describing a policy (or its spec / info), without secrets, e.g.
 * `openai qwen2.5-coder @ http://127.0.0.1:8000/v1 (temperature 1, top_p 0.95)`.
 */
export function describePolicy(p: Policy | PolicySpec | PolicyInfo): string {
  let info: PolicyInfo;
  if ('info' in p && p.info && typeof (p as Policy).complete === 'function') info = (p as Policy).info;
  else if ('kind' in p) {
    const s = p as PolicySpec & PolicyInfo;
    info = { kind: s.kind };
    if (s.kind === 'openai') {
      const o = s as OpenAIPolicyOptions & { kind: 'openai' };
      info.model = o.model;
      info.baseUrl = o.baseUrl;
      info.temperature = o.temperature ?? 1.0;
      info.topP = o.topP ?? 0.95;
    } else if (s.kind === 'onnx') {
      const o = s as OnnxPolicyOptions & { kind: 'onnx' };
      info.model = o.model ?? DEFAULT_ONNX_MODEL;
      info.temperature = o.temperature ?? 1.0;
      info.topP = o.topP ?? 0.95;
    } else if (s.kind === 'replay') {
      const o = s as ReplayPolicyOptions & { kind: 'replay' };
      info.model = typeof o.trajectory === 'string' ? `replay:${o.trajectory}` : o.messages ? `${o.messages.length} messages` : 'trajectory';
    } else {
      info = { ...(p as PolicyInfo) };
    }
  } else {
    throw new PolicyError('describePolicy: not a policy, spec or info');
  }
  let baseUrl = info.baseUrl;
  if (baseUrl) {
    try {
      const u = new URL(baseUrl);
      u.username = '';
      u.password = '';
      baseUrl = u.toString().replace(/\/+$/, '');
    } catch {
      /* keep as is */
    }
  }
  const parts = [info.kind];
  if (info.model) parts.push(info.model);
  if (baseUrl) parts.push(`@ ${baseUrl}`);
  const sampling = [
    info.temperature !== undefined ? `temperature ${fmt(info.temperature)}` : undefined,
    info.topP !== undefined ? `top_p ${fmt(info.topP)}` : undefined,
  ].filter(Boolean);
  if (sampling.length) parts.push(`(${sampling.join(', ')})`);
  return parts.join(' ');
}
