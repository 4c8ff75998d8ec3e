/**
 * Reading the `openai` policy's responses: a chat completion as JSON, or as
 * a server-sent event stream whose deltas are streamed to `onToken` and
 * gathered (text, tool calls, log-probs, token ids, usage); then the turn as
 * the policy returns it (the stop string cut or kept, log-prob temperature).
 * Malformed bodies and mid-stream errors become an `Attempt` that says
 * whether sending again may help.
 */
import OpenAI, { APIError } from 'openai';
import { Stream } from 'openai/core/streaming';
import { CancelledError } from '../base/errors';
import type { PolicyRequest, PolicyResponse } from './types';
import { Attempt, isObj, type Fail } from './openaiTransport';
import { parseLogprobs, parseToolCalls, parseUsage, ToolCallDeltas, type Parsed } from './openaiParse';

type Json = Record<string, unknown>;

export interface OpenAIPolicyResponse extends PolicyResponse {
  /** The stop string that ended the turn, when the server says (vLLM stop_reason) or included it. */
  stopSequence?: string;
}

const intArray = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => Number.isInteger(x));

export async function readJson(res: Response, where: string, fail: Fail): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    const head = text.slice(0, 120).replace(/\s+/g, ' ');
    throw new Attempt(fail(`invalid response from ${where}: not JSON (body starts with ${JSON.stringify(head)})`), false);
  }
}

/** A non-streamed chat completion. */
export function parseCompletion(json: unknown, where: string, fail: Fail): Parsed {
  if (!isObj(json)) throw new Attempt(fail(`invalid response from ${where}: expected a JSON object`), false);
  if (json.error !== undefined && json.choices === undefined) {
    const e = json.error;
    const msg = isObj(e) && typeof e.message === 'string' ? e.message : JSON.stringify(e);
    throw new Attempt(fail(`${where}: the server returned an error: ${msg.slice(0, 400)}`, true), true);
  }
  const choices = json.choices;
  if (!Array.isArray(choices) || choices.length === 0 || !isObj(choices[0])) {
    throw new Attempt(fail(`invalid response from ${where}: no choices[0] in ${JSON.stringify(json).slice(0, 160)}`), false);
  }
  const c = choices[0];
  const msg = c.message;
  if (!isObj(msg)) throw new Attempt(fail(`invalid response from ${where}: choices[0].message missing`), false);
  if (msg.content !== null && msg.content !== undefined && typeof msg.content !== 'string') {
    throw new Attempt(fail(`invalid response from ${where}: choices[0].message.content is not a string`), false);
  }
  const p: Parsed = { text: (msg.content as string | null) ?? '' };
  if (typeof c.finish_reason === 'string') p.finishReason = c.finish_reason;
  if (typeof c.stop_reason === 'string' || typeof c.stop_reason === 'number') p.stopReason = c.stop_reason;
  if (Array.isArray(msg.tool_calls)) p.toolCalls = parseToolCalls(msg.tool_calls);
  const lp = parseLogprobs(c.logprobs);
  if (lp) {
    p.logprobs = lp.logprobs;
    if (lp.tokenIds) p.tokenIds = lp.tokenIds;
  }
  if (intArray(c.token_ids)) p.tokenIds = c.token_ids;
  const pti = json.prompt_token_ids ?? c.prompt_token_ids;
  if (intArray(pti)) p.promptTokenIds = pti;
  p.usage = parseUsage(json.usage);
  return p;
}

/** What a stream has said so far. */
class StreamTurn {
  readonly p: Parsed = { text: '' };
  readonly tools = new ToolCallDeltas();
  sawChunk = false;
  #lps: number[] = [];
  #lpIds: Array<number | undefined> = [];
  #lpSeen = false;
  #ids: number[] = [];

  /** One event (a JSON object). */
  add(chunk: Json, emit: (t: string) => void): void {
    this.sawChunk = true;
    const p = this.p;
    if (intArray(chunk.prompt_token_ids)) p.promptTokenIds = chunk.prompt_token_ids;
    const usage = parseUsage(chunk.usage);
    if (usage) p.usage = usage;
    const choices = chunk.choices;
    if (!Array.isArray(choices) || choices.length === 0) return;
    const c = choices[0];
    if (!isObj(c)) return;
    const delta = isObj(c.delta) ? c.delta : isObj(c.message) ? c.message : {};
    if (typeof delta.content === 'string' && delta.content) {
      p.text += delta.content;
      emit(delta.content);
    }
    if (Array.isArray(delta.tool_calls)) this.tools.add(delta.tool_calls);
    const lp = parseLogprobs(c.logprobs);
    if (lp) {
      this.#lpSeen = true;
      this.#lps.push(...lp.logprobs);
      this.#lpIds.push(...(lp.tokenIds ?? lp.logprobs.map(() => undefined)));
    }
    if (Array.isArray(c.token_ids)) for (const x of c.token_ids) if (Number.isInteger(x)) this.#ids.push(x as number);
    if (typeof c.finish_reason === 'string') p.finishReason = c.finish_reason;
    if (typeof c.stop_reason === 'string' || typeof c.stop_reason === 'number') p.stopReason = c.stop_reason;
  }

  /** The whole turn, once the stream has ended. */
  parsed(): Parsed {
    const p = this.p;
    if (this.tools.size) p.toolCalls = this.tools.calls();
    if (this.#lpSeen) {
      p.logprobs = this.#lps;
      if (this.#lpIds.length && this.#lpIds.every((x) => x !== undefined)) p.tokenIds = this.#lpIds as number[];
    }
    if (this.#ids.length) p.tokenIds = this.#ids;
    return p;
  }
}

/** A streamed chat completion: each content delta goes to `emit`. */
export async function readStream(
  client: OpenAI,
  res: Response,
  ctrl: AbortController,
  where: string,
  emit: (t: string) => void,
  fail: Fail,
): Promise<Parsed> {
  const turn = new StreamTurn();
  try {
    for await (const chunk of Stream.fromSSEResponse<unknown>(res, ctrl, client)) {
      if (!isObj(chunk)) throw new Attempt(fail(`invalid stream from ${where}: an event is not a JSON object`), false);
      turn.add(chunk, emit);
    }
  } catch (err) {
    if (err instanceof SyntaxError) throw new Attempt(fail(`invalid stream from ${where}: an event is not JSON (${err.message})`), false);
    if (err instanceof APIError && err.status === undefined) {
      // An `error` event (the client throws it with the event's `error` field).
      const e = err.error;
      const msg = isObj(e) && typeof e.message === 'string' ? e.message : err.message;
      throw new Attempt(fail(`${where}: the server reported an error mid-stream: ${msg.slice(0, 400)}`, true), true);
    }
    throw err;
  }
  // The client ends the iteration quietly when the request is aborted (cancelled, or silent for too long).
  if (ctrl.signal.aborted) throw new CancelledError();
  if (!turn.sawChunk) throw new Attempt(fail(`invalid stream from ${where}: no events`), true);
  if (!turn.p.finishReason) throw new Attempt(fail(`the stream from ${where} ended before the completion finished`, true), true);
  return turn.parsed();
}

/** How the policy was configured to end and score a turn. */
export interface TurnOptions {
  includeStopInText?: boolean;
  temperature?: number;
  logprobsMode?: 'raw' | 'processed';
}

/** The turn as the policy returns it: the stop string cut (OpenAI semantics) or kept, and the log-probs' temperature. */
export function finishTurn(r: Parsed, stops: string[], req: PolicyRequest, o: TurnOptions): OpenAIPolicyResponse {
  let text = r.text;
  let stopSequence: string | undefined;
  const finishReason = r.finishReason ?? (r.toolCalls?.length ? 'tool_calls' : 'stop');
  if (finishReason === 'stop' && stops.length) {
    const ended = stops.find((s) => text.endsWith(s));
    if (typeof r.stopReason === 'string' && stops.includes(r.stopReason)) stopSequence = r.stopReason;
    else if (ended) stopSequence = ended;
    if (stopSequence) {
      const has = text.endsWith(stopSequence);
      if (o.includeStopInText && !has) {
        text += stopSequence;
        req.onToken?.(stopSequence);
      } else if (!o.includeStopInText && has) {
        text = text.slice(0, text.length - stopSequence.length);
      }
    }
  }
  const out: OpenAIPolicyResponse = { text, finishReason };
  if (r.toolCalls?.length) out.toolCalls = r.toolCalls;
  if (r.logprobs && r.logprobs.length) {
    out.logprobs = r.logprobs;
    const t = req.temperature ?? o.temperature ?? 1.0;
    out.logprobTemperature = o.logprobsMode === 'processed' && t > 0 ? t : 1;
  }
  if (r.tokenIds && r.tokenIds.length) out.tokenIds = r.tokenIds;
  if (r.promptTokenIds && r.promptTokenIds.length) out.promptTokenIds = r.promptTokenIds;
  if (r.usage) out.usage = r.usage;
  if (stopSequence) out.stopSequence = stopSequence;
  return out;
}
