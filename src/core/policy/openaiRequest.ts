/**
 * What the `openai` policy sends to `/v1/chat/completions`: its options, the
 * request body (sampling, stop strings, log-probs, vLLM's and SGLang's token
 * id switches, tools, extra fields), and the optional parameters a server
 * may reject, which are then dropped (or `max_tokens` renamed) and
 * remembered for the following requests.
 */
import type { PolicyRequest } from './types';
import { toApiMessage } from './openaiParse';

type Json = Record<string, unknown>;

export interface OpenAITool {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown> };
}

export interface OpenAIPolicyOptions {
  /** Base URL up to and including `/v1` (default http://127.0.0.1:8000/v1). */
  baseUrl?: string;
  /** Served model name; when absent, the first id from GET {baseUrl}/models. */
  model?: string;
  /** API key; default env SSR_API_KEY, then OPENAI_API_KEY. Sent as a Bearer token only. */
  apiKey?: string;
  temperature?: number; // default 1.0
  topP?: number; // default 0.95
  /** max_tokens per turn (not sent when absent). */
  maxTokens?: number;
  stop?: string[];
  /** Per-attempt timeout: time to response headers (the client's `timeout`), then the longest silence while the body arrives. Default 600 s. */
  timeoutMs?: number;
  /** Retries after the first attempt, on 408 / 409 / 429 / 5xx / network errors / timeouts, for the whole call (default 4). */
  retries?: number;
  /** Upper bound on a server's Retry-After (default 60 s). */
  maxRetryAfterMs?: number;
  /** Force streaming on or off; default: stream when the request has onToken. */
  stream?: boolean;
  /** Ask for log-probs (default true). */
  logprobs?: boolean;
  /** vLLM: ask for token ids (return_token_ids, return_tokens_as_token_ids). Default true; servers that reject them get them dropped. */
  returnTokenIds?: boolean;
  /** What the server's log-probs are: 'raw' (vLLM's default: at T = 1) or 'processed' (at the sampling temperature). Default 'raw'. */
  logprobsMode?: 'raw' | 'processed';
  /** Native function calling. */
  tools?: OpenAITool[];
  toolChoice?: 'auto' | 'none' | 'required' | { type: 'function'; function: { name: string } };
  seed?: number;
  /** Extra JSON fields merged into every request body (e.g. vLLM's top_k, repetition_penalty). */
  extraBody?: Record<string, unknown>;
  /** Extra HTTP headers. */
  headers?: Record<string, string>;
  /** Keep the matched stop string at the end of `text` when the server says which one matched. */
  includeStopInText?: boolean;
}

/** Parameters a server may not know; dropped (or renamed) after a 400 that names them. */
export const OPTIONAL_PARAMS = [
  'logprobs',
  'top_logprobs',
  'stream_options',
  'return_tokens_as_token_ids',
  'return_prompt_token_ids',
  'return_token_ids',
  'seed',
] as const;

/** What the policy has learned its server rejects. */
export interface ParamState {
  /** Optional parameters dropped after a 400 that named them. */
  dropped: Set<string>;
  /** The server wants `max_completion_tokens` instead of `max_tokens`. */
  renameMaxTokens: boolean;
}

/** The optional parameter a 400 / 422 error's detail names (not dropped yet), or 'max_tokens' when it asks for max_completion_tokens. */
export function paramToDrop(detail: string, params: ParamState): string | undefined {
  const lower = detail.toLowerCase();
  const param = OPTIONAL_PARAMS.find((p) => !params.dropped.has(p) && lower.includes(p));
  const maxTok = !params.renameMaxTokens && lower.includes('max_completion_tokens') ? 'max_tokens' : undefined;
  return param ?? maxTok;
}

/** Remembers a rejected parameter for the following requests. */
export function dropParam(params: ParamState, name: string): void {
  if (name === 'max_tokens') params.renameMaxTokens = true;
  else params.dropped.add(name);
}

/** The JSON body of a chat completion request. */
export function requestBody(o: OpenAIPolicyOptions, params: ParamState, model: string, req: PolicyRequest, stream: boolean): Json {
  const body: Json = {
    model,
    messages: req.messages.map(toApiMessage),
    temperature: req.temperature ?? o.temperature ?? 1.0,
    top_p: req.topP ?? o.topP ?? 0.95,
    stream,
  };
  const maxTokens = req.maxTokens ?? o.maxTokens;
  if (maxTokens !== undefined) body[params.renameMaxTokens ? 'max_completion_tokens' : 'max_tokens'] = maxTokens;
  const stop = (req.stop ?? o.stop ?? []).filter((s) => s.length > 0);
  if (stop.length) body.stop = stop;
  if (stream) body.stream_options = { include_usage: true };
  if (o.logprobs ?? true) body.logprobs = true;
  if (o.returnTokenIds ?? true) {
    body.return_tokens_as_token_ids = true; // vLLM: log-prob tokens as "token_id:N"
    body.return_token_ids = true; // vLLM, SGLang (newer): prompt_token_ids + choices[0].token_ids
    body.return_prompt_token_ids = true; // SGLang: choices[0].prompt_token_ids (+ logprobs.content[].token_id)
  }
  if (o.seed !== undefined) body.seed = o.seed;
  if (o.tools?.length) {
    body.tools = o.tools;
    if (o.toolChoice) body.tool_choice = o.toolChoice;
  }
  Object.assign(body, o.extraBody ?? {});
  for (const p of params.dropped) delete body[p];
  if (params.dropped.has('logprobs')) delete body.top_logprobs;
  return body;
}
