/**
 * Asking the policy for the next assistant message (with retries of what
 * can be retried, inside the episode's wall time), and reading its reply:
 * the message as it goes back into the history, and the tool call in it.
 */
import type { ChatMessage } from '../base/trajectory';
import { CancelledError } from '../base/errors';
import type { PolicyRequest, PolicyResponse } from '../policy/types';
import { PolicyError } from '../policy/types';
import { CLOSE_TAG, nativeCallToToolCall, nativeToolSchemas, parseToolCall, type ParseResult } from './protocol';
import { EpisodeEnd, checkAbort, wallTimeEnd, type Episode } from './episode';
import { estimateTokens } from './text';

type NativeCall = NonNullable<ChatMessage['tool_calls']>[number];

/** One reply of the policy, read. */
export interface Reply {
  res: PolicyResponse;
  /** The assistant message, as it goes back into the history. */
  assistant: ChatMessage;
  /** Its (first) tool call, or the format error to answer with. */
  parse: ParseResult;
  /** Native tool calls, each of which must be answered. */
  nativeCalls: NativeCall[];
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError());
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new CancelledError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function policyRequest(ep: Episode<unknown>, maxTokens: number, signal: AbortSignal): PolicyRequest {
  const req: PolicyRequest & { tools?: unknown[]; toolChoice?: string } = {
    messages: ep.messages.map((m) => ({ ...m })),
    maxTokens,
    temperature: ep.opts.temperature,
    topP: ep.opts.topP,
    signal,
  };
  if (ep.limits.toolMode === 'text') req.stop = [CLOSE_TAG];
  else {
    req.tools = nativeToolSchemas(ep.opts.role);
    req.toolChoice = 'auto';
  }
  return req;
}

/** Asks the policy for one assistant message of at most `maxTokens` new tokens. */
export async function askPolicy(ep: Episode<unknown>, maxTokens: number): Promise<PolicyResponse> {
  const retries = ep.opts.policyRetries ?? 2;
  for (let attempt = 0; ; attempt++) {
    checkAbort(ep);
    const msLeft = ep.limits.deadline - Date.now();
    if (msLeft <= 0) throw wallTimeEnd(ep.limits);
    const timer = AbortSignal.timeout(msLeft);
    const signal = ep.opts.signal ? AbortSignal.any([ep.opts.signal, timer]) : timer;
    const s = Date.now();
    try {
      const res = await ep.opts.policy.complete(policyRequest(ep, maxTokens, signal));
      if (!res || typeof res !== 'object') throw new PolicyError('the policy returned no response');
      return res;
    } catch (err) {
      if (ep.opts.signal?.aborted) throw new EpisodeEnd('cancelled', 'cancelled');
      if (timer.aborted) throw wallTimeEnd(ep.limits, ' while the model was answering');
      if (!(err instanceof PolicyError && err.retryable && attempt < retries)) {
        throw new EpisodeEnd('error', `the policy failed: ${err instanceof Error ? err.message : String(err)}`, 'policy');
      }
      await sleep(1000 * 2 ** attempt, ep.opts.signal).catch(() => undefined);
    } finally {
      ep.t.timings.policyMs! += Date.now() - s;
    }
  }
}

/** The assistant message and its tool call: native calls first, else the text protocol. */
export function readReply(res: PolicyResponse): Reply {
  const text = typeof res.text === 'string' ? res.text : '';
  const nativeCalls = Array.isArray(res.toolCalls) ? res.toolCalls.filter((c) => c && c.function && typeof c.function.name === 'string') : [];
  const assistant: ChatMessage = { role: 'assistant', content: text };
  if (nativeCalls.length) {
    assistant.tool_calls = nativeCalls;
    return { res, assistant, parse: nativeCallToToolCall(nativeCalls[0], nativeCalls.length - 1), nativeCalls };
  }
  let parse = parseToolCall(text);
  if (parse.ok && parse.call.unclosed) {
    if (res.finishReason === 'length') {
      parse = {
        ok: false,
        error: `Your reply was cut off at the token limit before \`${CLOSE_TAG}\`; nothing was run. Keep replies shorter (e.g. create a large file in parts).`,
      };
    } else {
      // The server stopped on </tool> and left it out: close the call in the history with
      // exactly the stop string the model sampled (nothing the model wrote is dropped).
      assistant.content = text + CLOSE_TAG;
    }
  }
  return { res, assistant, parse, nativeCalls };
}

/** Adds the reply to the history, its tokens to the trajectory and to the context's size; returns its message index. */
export function recordReply(ep: Episode<unknown>, { res, assistant }: Reply): number {
  ep.messages.push(assistant);
  const messageIndex = ep.messages.length - 1;
  if (res.tokenIds || res.logprobs || res.usage || res.promptTokenIds) {
    ep.t.tokens.push({
      messageIndex,
      ...(res.tokenIds ? { tokenIds: res.tokenIds } : {}),
      ...(res.logprobs ? { logprobs: res.logprobs } : {}),
      ...(res.promptTokenIds ? { promptTokenIds: res.promptTokenIds } : {}),
      ...(res.logprobs && res.logprobTemperature !== undefined && res.logprobTemperature !== 1 ? { temperature: res.logprobTemperature } : {}),
      ...(res.usage ? { usage: res.usage } : {}),
    });
  }
  if (res.usage?.promptTokens !== undefined) {
    ep.contextTokens = res.usage.promptTokens + (res.usage.completionTokens ?? estimateTokens(assistant.content));
  } else {
    ep.contextTokens += estimateTokens(assistant.content) + (assistant.tool_calls ? estimateTokens(JSON.stringify(assistant.tool_calls)) : 0);
  }
  return messageIndex;
}
