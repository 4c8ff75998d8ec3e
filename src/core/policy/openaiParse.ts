/**
 * What the `openai` policy reads off a response and writes into a request:
 * messages in the API's shape, usage, tool calls and log-probabilities
 * (vLLM's and SGLang's token ids too), and tool calls assembled from a
 * stream's deltas.
 */
import type { ChatMessage } from '../base/trajectory';
import { isObj } from './openaiTransport';

type Json = Record<string, unknown>;

export interface Parsed {
  text: string;
  finishReason?: string;
  stopReason?: string | number;
  toolCalls?: ChatMessage['tool_calls'];
  logprobs?: number[];
  tokenIds?: number[];
  promptTokenIds?: number[];
  usage?: { promptTokens?: number; completionTokens?: number };
}

export function toApiMessage(m: ChatMessage): Json {
  const out: Json = { role: m.role, content: m.content ?? '' };
  if (m.tool_calls?.length) out.tool_calls = m.tool_calls;
  if (m.tool_call_id) out.tool_call_id = m.tool_call_id;
  return out;
}

export function parseUsage(u: unknown): Parsed['usage'] | undefined {
  if (!isObj(u)) return undefined;
  const out: NonNullable<Parsed['usage']> = {};
  if (typeof u.prompt_tokens === 'number') out.promptTokens = u.prompt_tokens;
  if (typeof u.completion_tokens === 'number') out.completionTokens = u.completion_tokens;
  return Object.keys(out).length ? out : undefined;
}

export function parseToolCalls(raw: unknown[]): NonNullable<ChatMessage['tool_calls']> {
  const out: NonNullable<ChatMessage['tool_calls']> = [];
  raw.forEach((tc, i) => {
    if (!isObj(tc)) return;
    const fn = isObj(tc.function) ? tc.function : {};
    const args = fn.arguments;
    out.push({
      id: typeof tc.id === 'string' ? tc.id : `call_${i}`,
      type: 'function',
      function: {
        name: typeof fn.name === 'string' ? fn.name : '',
        arguments: typeof args === 'string' ? args : args === undefined ? '' : JSON.stringify(args),
      },
    });
  });
  return out;
}

/** OpenAI chat logprobs: `{ content: [{ token, logprob, ... }] }`; vLLM's "token_id:123" tokens give ids. */
export function parseLogprobs(raw: unknown): { logprobs: number[]; tokenIds?: number[] } | undefined {
  if (!isObj(raw) || !Array.isArray(raw.content)) return undefined;
  const logprobs: number[] = [];
  const ids: number[] = [];
  let allIds = true;
  for (const item of raw.content) {
    if (!isObj(item)) continue;
    const lp = item.logprob;
    logprobs.push(typeof lp === 'number' ? lp : lp === null ? -Infinity : NaN);
    const m = typeof item.token === 'string' ? /^token_id:(\d+)$/.exec(item.token) : null;
    if (m) ids.push(Number(m[1]));
    else if (Number.isInteger(item.token_id)) ids.push(item.token_id as number); // SGLang
    else allIds = false;
  }
  return allIds && ids.length === logprobs.length && ids.length > 0 ? { logprobs, tokenIds: ids } : { logprobs };
}

/** A tool call being assembled from a stream's deltas. */
interface ToolCallAcc {
  id?: string;
  name: string;
  arguments: string;
}

/** Tool calls streamed in pieces: `add` each delta's `tool_calls`, then `calls()`. */
export class ToolCallDeltas {
  readonly #tools = new Map<number, ToolCallAcc>();

  get size(): number {
    return this.#tools.size;
  }

  add(deltas: unknown[]): void {
    for (const tc of deltas) {
      if (!isObj(tc)) continue;
      const idx = typeof tc.index === 'number' ? tc.index : this.#tools.size;
      const acc = this.#tools.get(idx) ?? { name: '', arguments: '' };
      if (typeof tc.id === 'string') acc.id = tc.id;
      const fn = isObj(tc.function) ? tc.function : {};
      if (typeof fn.name === 'string') acc.name += fn.name;
      if (typeof fn.arguments === 'string') acc.arguments += fn.arguments;
      this.#tools.set(idx, acc);
    }
  }

  calls(): NonNullable<ChatMessage['tool_calls']> {
    return [...this.#tools.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([i, t]) => ({ id: t.id ?? `call_${i}`, type: 'function' as const, function: { name: t.name, arguments: t.arguments } }));
  }
}
