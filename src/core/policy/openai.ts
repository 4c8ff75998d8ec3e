/**
 * The `openai` policy: any OpenAI-compatible `/v1/chat/completions` endpoint
 * (vLLM, SGLang, llama.cpp server, Ollama, LM Studio, OpenAI).
 *
 * - The transport is the `openai` npm client: HTTP, SSE parsing, retries
 *   with exponential backoff and jitter on 408, 409, 429, 5xx, timeouts and
 *   network errors (none on other 4xx), `Retry-After` in seconds or as an
 *   HTTP date (and `retry-after-ms`). What SSR adds on top is thin:
 *   `maxRetryAfterMs` caps a server's Retry-After (the client would wait as
 *   long as it is told), `retries` is one attempt budget for the whole call,
 *   a body that goes silent for `timeoutMs` is cut, a stream that broke
 *   before the first token reached `onToken` is sent again, a cancelled call
 *   returns at once (the client's backoff sleep cannot be interrupted), and
 *   the errors say what to do and never carry the key.
 * - Streaming (`stream: true`) when `onToken` is given (or `stream: true`);
 *   `onToken` gets each content delta. A server that answers a streaming
 *   request with plain JSON is read as JSON.
 * - Log-probs are requested (`logprobs: true`) and returned when offered;
 *   token ids are asked for by default (`returnTokenIds`, on unless set to
 *   false): vLLM's `return_token_ids` gives the prompt's ids
 *   (`prompt_token_ids`) and the completion's (`choices[0].token_ids`), and
 *   `return_tokens_as_token_ids` writes each log-prob entry's token as
 *   `token_id:N`. SGLang: `return_prompt_token_ids` gives
 *   `choices[0].prompt_token_ids` and each log-prob entry's `token_id`
 *   (newer SGLang also knows `return_token_ids`, non-streaming only). Older
 *   SGLang returns no ids on its OpenAI endpoint; a server that ignores these
 *   fields gives log-probs without ids, and the trainer then re-tokenises
 *   those turns (on-policy).
 *   Optional parameters a server rejects with HTTP 400 (or 422) naming them
 *   are dropped and the request is sent again (once per parameter); the
 *   policy remembers what it dropped.
 *   The log-probs are the server's: vLLM reports them per its
 *   `--logprobs-mode` (default `raw_logprobs`: before temperature, i.e. at
 *   T = 1; `logprobsMode: 'processed'` says the server was started with
 *   `processed_logprobs`, at the sampling temperature). Each response says
 *   which (`logprobTemperature`) and the trainer scores tokens the same way.
 * - vLLM runtime LoRA loading: `loadLoraAdapter(name, path)` (POST
 *   {baseUrl}/load_lora_adapter, the server needs
 *   VLLM_ALLOW_RUNTIME_LORA_UPDATING=True), `useModel(name)` switches the
 *   requests to it.
 * - Native tools mode: pass `tools` (OpenAI function schemas); `toolCalls`
 *   holds the calls.
 * - `text` follows OpenAI semantics: the stop string is not part of it, unless
 *   `includeStopInText` and the server says which stop string matched
 *   (vLLM's `stop_reason`), or the server already included it.
 * - Cancellation with `req.signal` throws CancelledError (from ../errors).
 * - The API key (option, or env SSR_API_KEY / OPENAI_API_KEY) is only sent
 *   as `Authorization: Bearer ...`; it never appears in `info`, in error
 *   messages or logs (they are scrubbed) or in the object's enumerable state.
 *   The client's own log is off unless OPENAI_LOG is set; it then goes to
 *   stderr, scrubbed the same way.
 */
import { format } from 'node:util';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError, type APIPromise } from 'openai';
import { Stream } from 'openai/core/streaming';
import type { PolicyInfo } from '../base/trajectory';
import { CancelledError } from '../base/errors';
import { PolicyError, type Policy, type PolicyRequest, type PolicyResponse } from './types';
import { errorDetail, formatMs, isObj, networkReason, parseRetryAfter, sanitizeUrl, sleep, untilAborted } from './openaiTransport';
import { parseLogprobs, parseToolCalls, parseUsage, toApiMessage, type Parsed } from './openaiParse';

export { parseLogprobs } from './openaiParse';
export { parseRetryAfter } from './openaiTransport';

export const DEFAULT_OPENAI_BASE_URL = 'http://127.0.0.1:8000/v1';

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

export interface OpenAIPolicyResponse extends PolicyResponse {
  /** The stop string that ended the turn, when the server says (vLLM stop_reason) or included it. */
  stopSequence?: string;
}

/** Parameters a server may not know; dropped (or renamed) after a 400 that names them. */
const OPTIONAL_PARAMS = [
  'logprobs',
  'top_logprobs',
  'stream_options',
  'return_tokens_as_token_ids',
  'return_prompt_token_ids',
  'return_token_ids',
  'seed',
] as const;

type RequestOptions = Exclude<NonNullable<Parameters<OpenAI['post']>[1]>, PromiseLike<unknown>>;

/** A failed response's whole body: the client keeps only its `error` field, and vLLM's `{message}` or FastAPI's `{detail}` sit elsewhere. */
const errorBodies = new WeakMap<object, unknown>();

class Client extends OpenAI {
  protected override makeStatusError(status: number, error: object, message: string | undefined, headers: Headers): APIError {
    const err = super.makeStatusError(status, error, message, headers);
    errorBodies.set(err, error ?? message);
    return err;
  }
}

/** An error from the caller's own callback (onToken): rethrown untouched, never retried. */
class Passthrough {
  constructor(readonly err: unknown) {}
}

class Attempt {
  constructor(
    readonly error: PolicyError,
    /** Send again (within the budget): failures after the response headers, which the client does not retry. */
    readonly again: boolean,
    /** A 400 that named an optional parameter: drop it and resend. */
    readonly dropParam?: string,
  ) {}
}

interface ToolCallAcc {
  id?: string;
  name: string;
  arguments: string;
}

type Json = Record<string, unknown>;

export class OpenAIPolicy implements Policy {
  readonly info: PolicyInfo;
  readonly #apiKey: string | undefined;
  readonly #opts: OpenAIPolicyOptions;
  readonly #baseUrl: string;
  readonly #displayUrl: string;
  readonly #client: Client;
  #secrets: string[] = [];
  #model: string | undefined;
  #dropped = new Set<string>();
  #renameMaxTokens = false;

  constructor(opts: OpenAIPolicyOptions = {}) {
    this.#opts = { ...opts };
    delete this.#opts.apiKey;
    const key = opts.apiKey ?? process.env.SSR_API_KEY ?? process.env.OPENAI_API_KEY;
    this.#apiKey = key && key.trim() ? key.trim() : undefined;
    const base = (opts.baseUrl ?? DEFAULT_OPENAI_BASE_URL).trim().replace(/\/+$/, '');
    try {
      const u = new URL(base);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
    } catch {
      throw new PolicyError(`invalid --base-url ${this.#redact(sanitizeUrl(base))}: expected http(s)://host:port/v1`);
    }
    // fetch refuses URLs with credentials: move user:pass into a Basic header
    // (used when no API key is set) and keep them out of every message.
    const parsed = new URL(base);
    let basicAuth: string | undefined;
    if (parsed.username || parsed.password) {
      const user = decodeURIComponent(parsed.username);
      const pass = decodeURIComponent(parsed.password);
      basicAuth = Buffer.from(`${user}:${pass}`).toString('base64');
      this.#secrets = [pass, parsed.password, basicAuth].filter((x) => x.length >= 3);
    }
    this.#baseUrl = sanitizeUrl(base);
    this.#displayUrl = this.#baseUrl;
    this.#model = opts.model;
    const temperature = opts.temperature ?? 1.0;
    const topP = opts.topP ?? 0.95;
    this.info = { kind: 'openai', model: opts.model, temperature, topP, baseUrl: this.#displayUrl };

    // Without a key the client still wants one: a placeholder, and the header it would make is
    // removed (null) or replaced by the URL's Basic credentials.
    const headers: Record<string, string | null> = { ...(opts.headers ?? {}) };
    const userAuth = Object.keys(headers).some((h) => h.toLowerCase() === 'authorization');
    if (!this.#apiKey && basicAuth) headers.authorization = `Basic ${basicAuth}`;
    else if (!this.#apiKey && !userAuth) headers.authorization = null;
    const log = (level: string) => (...args: unknown[]) => {
      process.stderr.write(`[openai ${level}] ${this.#redact(format(...args))}\n`);
    };
    this.#client = new Client({
      baseURL: this.#baseUrl,
      apiKey: this.#apiKey ?? 'no-key',
      // Environment defaults the client would read on its own: SSR talks to the server it was given, as configured.
      organization: null,
      project: null,
      adminAPIKey: null,
      defaultHeaders: headers,
      timeout: Math.max(1, Math.round(opts.timeoutMs ?? 600_000)),
      logger: { error: log('error'), warn: log('warn'), info: log('info'), debug: log('debug') },
      logLevel: process.env.OPENAI_LOG ? undefined : 'off',
    });
  }

  /** Never leak the key through util.inspect / JSON.stringify. */
  toJSON(): Json {
    return { info: this.info };
  }

  #redact(text: string): string {
    let out = text;
    if (this.#apiKey && this.#apiKey.length >= 4) out = out.split(this.#apiKey).join('***');
    for (const secret of this.#secrets) out = out.split(secret).join('***');
    out = out.replace(/\/\/[^/\s@]+@/g, '//');
    return out.replace(/((?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]+/gi, '$1***');
  }

  #fail(message: string, retryable = false, status?: number): PolicyError {
    return new PolicyError(this.#redact(message), retryable, status);
  }

  async #resolveModel(signal?: AbortSignal): Promise<string> {
    if (this.#model) return this.#model;
    const where = `${this.#displayUrl}/models`;
    const body = await this.#send(where, signal, (c, o) => c.get('/models', o), (res) => this.#readJson(res, where));
    const data = isObj(body) && Array.isArray(body.data) ? body.data : [];
    const first = data.find((m): m is Json => isObj(m) && typeof m.id === 'string');
    if (!first) throw this.#fail(`no --model given and ${this.#displayUrl}/models lists no models; set --model`);
    this.#model = first.id as string;
    this.info.model = this.#model;
    return this.#model;
  }

  async #readJson(res: Response, where: string): Promise<unknown> {
    const text = await res.text();
    try {
      return JSON.parse(text);
    } catch {
      const head = text.slice(0, 120).replace(/\s+/g, ' ');
      throw new Attempt(this.#fail(`invalid response from ${where}: not JSON (body starts with ${JSON.stringify(head)})`), false);
    }
  }

  /** A failed response (after the client's retries) as a PolicyError that says what to do. */
  #httpError(err: APIError, where: string): Attempt {
    const status = err.status as number;
    const detail = errorDetail(errorBodies.get(err) ?? err.error);
    const suffix = detail ? `: ${detail}` : '';
    if (status === 401 || status === 403) {
      return new Attempt(this.#fail(`${where}: authentication failed (HTTP ${status}${suffix}); set SSR_API_KEY or OPENAI_API_KEY`, false, status), false);
    }
    if (status === 404) {
      return new Attempt(this.#fail(`${where}: not found (HTTP 404${suffix}); check --base-url (it usually ends in /v1) and --model`, false, status), false);
    }
    if (status === 429) return new Attempt(this.#fail(`${where}: rate limited (HTTP 429${suffix})`, true, status), false);
    if (status >= 500) return new Attempt(this.#fail(`${where}: server error (HTTP ${status}${suffix})`, true, status), false);
    if (status === 400 || status === 422) {
      const lower = detail.toLowerCase();
      const param = OPTIONAL_PARAMS.find((p) => !this.#dropped.has(p) && lower.includes(p));
      const maxTok = !this.#renameMaxTokens && lower.includes('max_completion_tokens') ? 'max_tokens' : undefined;
      return new Attempt(this.#fail(`${where}: the server rejected the request (HTTP ${status}${suffix})`, false, status), false, param ?? maxTok);
    }
    return new Attempt(this.#fail(`${where}: HTTP ${status}${suffix}`, status === 408 || status === 409, status), false);
  }

  #classify(err: unknown, timedOut: boolean, where: string): Attempt {
    if (err instanceof Attempt) return err;
    if (err instanceof PolicyError) return new Attempt(err, false);
    const timeout = () =>
      this.#fail(`request to ${this.#displayUrl} timed out after ${formatMs(this.#timeoutMs())}; is the server overloaded? raise the timeout`, true);
    // The body went silent: the client does not retry that, we may.
    if (timedOut) return new Attempt(timeout(), true);
    if (err instanceof APIConnectionTimeoutError) return new Attempt(timeout(), false);
    if (err instanceof APIConnectionError) return new Attempt(this.#fail(`cannot reach ${this.#displayUrl}: ${networkReason(err.cause)}`, true), false);
    if (err instanceof APIError && err.status !== undefined) return this.#httpError(err, where);
    if (err instanceof CancelledError || err instanceof APIUserAbortError) throw new CancelledError();
    const message = err instanceof Error ? err.message : String(err);
    return new Attempt(this.#fail(`request to ${this.#displayUrl} failed: ${message}`), false);
  }

  #timeoutMs(): number {
    return Math.max(1, Math.round(this.#opts.timeoutMs ?? 600_000));
  }

  /** The server's Retry-After, capped at maxRetryAfterMs, as the `retry-after-ms` the client reads first. */
  #capRetryAfter(res: Response): Response {
    if (res.ok) return res;
    const ms = parseFloat(res.headers.get('retry-after-ms') ?? '');
    const wait = Number.isFinite(ms) ? ms : parseRetryAfter(res.headers.get('retry-after'));
    if (wait === undefined) return res;
    const headers = new Headers(res.headers);
    headers.set('retry-after-ms', String(Math.min(Math.max(wait, 0), Math.max(0, this.#opts.maxRetryAfterMs ?? 60_000))));
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
  }

  /**
   * One call: `request` through the client (which retries failed responses and connections),
   * then `read` of the body under an idle timeout. Resends after a dropped optional parameter,
   * and after a body-side failure while `canRetry()`; all attempts share the `retries` budget.
   */
  async #send<T>(
    where: string,
    signal: AbortSignal | undefined,
    request: (client: OpenAI, o: RequestOptions) => APIPromise<unknown>,
    read: (res: Response, ctrl: AbortController) => Promise<T>,
    canRetry: () => boolean = () => true,
  ): Promise<T> {
    const retries = Math.max(0, Math.floor(this.#opts.retries ?? 4));
    const timeoutMs = this.#timeoutMs();
    let attempts = 0;
    let dropRounds = 0;
    for (;;) {
      if (signal?.aborted) throw new CancelledError();
      const ctrl = new AbortController();
      const onAbort = () => ctrl.abort();
      signal?.addEventListener('abort', onAbort, { once: true });
      let timedOut = false;
      let timer: NodeJS.Timeout | undefined;
      const touch = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          timedOut = true;
          ctrl.abort();
        }, timeoutMs);
      };
      const client = this.#client.withOptions({
        fetch: async (url, init) => {
          attempts++;
          return this.#capRetryAfter(await fetch(url, init));
        },
      });
      let failure: Attempt;
      try {
        const res = await untilAborted(request(client, { signal: ctrl.signal, maxRetries: retries - attempts }).asResponse(), signal);
        touch();
        const body = res.body?.pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            transform(chunk, out) {
              touch();
              out.enqueue(chunk);
            },
          }),
        );
        return await read(new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers }), ctrl);
      } catch (err) {
        if (err instanceof Passthrough) throw err.err;
        if (signal?.aborted) throw new CancelledError();
        failure = this.#classify(err, timedOut, where);
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        ctrl.abort(); // a body left unread (an error, a callback that threw) releases its connection
      }
      if (failure.dropParam && dropRounds < OPTIONAL_PARAMS.length + 1) {
        if (failure.dropParam === 'max_tokens') this.#renameMaxTokens = true;
        else this.#dropped.add(failure.dropParam);
        dropRounds++;
        attempts--;
        continue;
      }
      if (!failure.again || attempts > retries || !canRetry()) {
        if (failure.error.retryable && attempts > 1) {
          throw new PolicyError(`${failure.error.message} (after ${attempts} attempts)`, true, failure.error.status);
        }
        throw failure.error;
      }
      // The client's schedule: 0.5 s doubling to 8 s, less up to a quarter of jitter.
      await sleep(Math.min(8000, 500 * 2 ** (attempts - 1)) * (1 - Math.random() * 0.25), signal);
    }
  }

  #body(model: string, req: PolicyRequest, stream: boolean): Json {
    const o = this.#opts;
    const body: Json = {
      model,
      messages: req.messages.map(toApiMessage),
      temperature: req.temperature ?? o.temperature ?? 1.0,
      top_p: req.topP ?? o.topP ?? 0.95,
      stream,
    };
    const maxTokens = req.maxTokens ?? o.maxTokens;
    if (maxTokens !== undefined) body[this.#renameMaxTokens ? 'max_completion_tokens' : 'max_tokens'] = maxTokens;
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
    for (const p of this.#dropped) delete body[p];
    if (this.#dropped.has('logprobs')) delete body.top_logprobs;
    return body;
  }

  /** The served model (or adapter) name requests go to, once known. */
  get model(): string | undefined {
    return this.#model;
  }

  /** Sends the following requests to `name` (e.g. a LoRA adapter loaded with loadLoraAdapter). */
  useModel(name: string): void {
    this.#model = name;
    this.info.model = name;
  }

  /**
   * vLLM's runtime LoRA loading: POST {baseUrl}/load_lora_adapter with `{lora_name, lora_path}`
   * (the server must run with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True and --enable-lora). `lora_path`
   * is a folder the server can read. Resolves with the server's answer text.
   */
  async loadLoraAdapter(name: string, lora: string, signal?: AbortSignal): Promise<string> {
    const where = `${this.#displayUrl}/load_lora_adapter`;
    try {
      return await this.#send(where, signal, (c, o) => c.post('/load_lora_adapter', { ...o, body: { lora_name: name, lora_path: lora } }), (res) => res.text());
    } catch (err) {
      if (err instanceof PolicyError && err.status === 404) {
        throw new PolicyError(`${err.message} (start vLLM with --enable-lora and VLLM_ALLOW_RUNTIME_LORA_UPDATING=True)`, err.retryable, 404);
      }
      throw err;
    }
  }

  /** vLLM: POST {baseUrl}/unload_lora_adapter `{lora_name}` (frees the adapter's slot). */
  async unloadLoraAdapter(name: string, signal?: AbortSignal): Promise<void> {
    const where = `${this.#displayUrl}/unload_lora_adapter`;
    await this.#send(where, signal, (c, o) => c.post('/unload_lora_adapter', { ...o, body: { lora_name: name } }), (res) => res.text());
  }

  async complete(req: PolicyRequest): Promise<OpenAIPolicyResponse> {
    if (req.signal?.aborted) throw new CancelledError();
    const model = await this.#resolveModel(req.signal);
    const stream = this.#opts.stream ?? !!req.onToken;
    const where = `${this.#displayUrl}/chat/completions`;
    const stops = (req.stop ?? this.#opts.stop ?? []).filter((s) => s.length > 0);
    let emittedAny = false;
    const emit = (t: string): void => {
      if (!req.onToken) return;
      emittedAny = true;
      try {
        req.onToken(t);
      } catch (err) {
        throw new Passthrough(err);
      }
    };
    const raw = await this.#send(
      where,
      req.signal,
      // The body carries fields the client's types do not know (token ids); it sends them as they are.
      (c, o) =>
        c.chat.completions.create(this.#body(model, req, stream) as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming, {
          ...o,
          headers: { accept: stream ? 'text/event-stream' : 'application/json' },
        }),
      async (res, ctrl) => {
        if (stream && (res.headers.get('content-type') ?? '').includes('text/event-stream')) return this.#readStream(res, ctrl, where, emit);
        // Non-streaming, or a server that ignored stream: true.
        const parsed = this.#parseCompletion(await this.#readJson(res, where), where);
        if (parsed.text) emit(parsed.text);
        return parsed;
      },
      () => !emittedAny,
    );
    return this.#finish(raw, stops, req);
  }

  #finish(r: Parsed, stops: string[], req: PolicyRequest): OpenAIPolicyResponse {
    let text = r.text;
    let stopSequence: string | undefined;
    const finishReason = r.finishReason ?? (r.toolCalls?.length ? 'tool_calls' : 'stop');
    if (finishReason === 'stop' && stops.length) {
      const ended = stops.find((s) => text.endsWith(s));
      if (typeof r.stopReason === 'string' && stops.includes(r.stopReason)) stopSequence = r.stopReason;
      else if (ended) stopSequence = ended;
      if (stopSequence) {
        const has = text.endsWith(stopSequence);
        if (this.#opts.includeStopInText && !has) {
          text += stopSequence;
          req.onToken?.(stopSequence);
        } else if (!this.#opts.includeStopInText && has) {
          text = text.slice(0, text.length - stopSequence.length);
        }
      }
    }
    const out: OpenAIPolicyResponse = { text, finishReason };
    if (r.toolCalls?.length) out.toolCalls = r.toolCalls;
    if (r.logprobs && r.logprobs.length) {
      out.logprobs = r.logprobs;
      const t = req.temperature ?? this.#opts.temperature ?? 1.0;
      out.logprobTemperature = this.#opts.logprobsMode === 'processed' && t > 0 ? t : 1;
    }
    if (r.tokenIds && r.tokenIds.length) out.tokenIds = r.tokenIds;
    if (r.promptTokenIds && r.promptTokenIds.length) out.promptTokenIds = r.promptTokenIds;
    if (r.usage) out.usage = r.usage;
    if (stopSequence) out.stopSequence = stopSequence;
    return out;
  }

  #parseCompletion(json: unknown, where: string): Parsed {
    if (!isObj(json)) throw new Attempt(this.#fail(`invalid response from ${where}: expected a JSON object`), false);
    if (json.error !== undefined && json.choices === undefined) {
      const e = json.error;
      const msg = isObj(e) && typeof e.message === 'string' ? e.message : JSON.stringify(e);
      throw new Attempt(this.#fail(`${where}: the server returned an error: ${msg.slice(0, 400)}`, true), true);
    }
    const choices = json.choices;
    if (!Array.isArray(choices) || choices.length === 0 || !isObj(choices[0])) {
      throw new Attempt(this.#fail(`invalid response from ${where}: no choices[0] in ${JSON.stringify(json).slice(0, 160)}`), false);
    }
    const c = choices[0];
    const msg = c.message;
    if (!isObj(msg)) throw new Attempt(this.#fail(`invalid response from ${where}: choices[0].message missing`), false);
    if (msg.content !== null && msg.content !== undefined && typeof msg.content !== 'string') {
      throw new Attempt(this.#fail(`invalid response from ${where}: choices[0].message.content is not a string`), false);
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
    if (Array.isArray(c.token_ids) && c.token_ids.every((x) => Number.isInteger(x))) p.tokenIds = c.token_ids as number[];
    const pti = json.prompt_token_ids ?? c.prompt_token_ids;
    if (Array.isArray(pti) && pti.every((x) => Number.isInteger(x))) p.promptTokenIds = pti as number[];
    p.usage = parseUsage(json.usage);
    return p;
  }

  async #readStream(res: Response, ctrl: AbortController, where: string, emit: (t: string) => void): Promise<Parsed> {
    const p: Parsed = { text: '' };
    const lps: number[] = [];
    const lpIds: Array<number | undefined> = [];
    let lpSeen = false;
    const ids: number[] = [];
    const tools = new Map<number, ToolCallAcc>();
    let sawChunk = false;
    try {
      for await (const chunk of Stream.fromSSEResponse<unknown>(res, ctrl, this.#client)) {
        if (!isObj(chunk)) throw new Attempt(this.#fail(`invalid stream from ${where}: an event is not a JSON object`), false);
        sawChunk = true;
        const pti = chunk.prompt_token_ids;
        if (Array.isArray(pti) && pti.every((x) => Number.isInteger(x))) p.promptTokenIds = pti as number[];
        const usage = parseUsage(chunk.usage);
        if (usage) p.usage = usage;
        const choices = chunk.choices;
        if (!Array.isArray(choices) || choices.length === 0) continue;
        const c = choices[0];
        if (!isObj(c)) continue;
        const delta = isObj(c.delta) ? c.delta : isObj(c.message) ? c.message : {};
        if (typeof delta.content === 'string' && delta.content) {
          p.text += delta.content;
          emit(delta.content);
        }
        if (Array.isArray(delta.tool_calls)) {
          for (const tc of delta.tool_calls) {
            if (!isObj(tc)) continue;
            const idx = typeof tc.index === 'number' ? tc.index : tools.size;
            const acc = tools.get(idx) ?? { name: '', arguments: '' };
            if (typeof tc.id === 'string') acc.id = tc.id;
            const fn = isObj(tc.function) ? tc.function : {};
            if (typeof fn.name === 'string') acc.name += fn.name;
            if (typeof fn.arguments === 'string') acc.arguments += fn.arguments;
            tools.set(idx, acc);
          }
        }
        const lp = parseLogprobs(c.logprobs);
        if (lp) {
          lpSeen = true;
          lps.push(...lp.logprobs);
          lpIds.push(...(lp.tokenIds ?? lp.logprobs.map(() => undefined)));
        }
        if (Array.isArray(c.token_ids)) for (const x of c.token_ids) if (Number.isInteger(x)) ids.push(x as number);
        if (typeof c.finish_reason === 'string') p.finishReason = c.finish_reason;
        if (typeof c.stop_reason === 'string' || typeof c.stop_reason === 'number') p.stopReason = c.stop_reason;
      }
    } catch (err) {
      if (err instanceof SyntaxError) throw new Attempt(this.#fail(`invalid stream from ${where}: an event is not JSON (${err.message})`), false);
      if (err instanceof APIError && err.status === undefined) {
        // An `error` event (the client throws it with the event's `error` field).
        const e = err.error;
        const msg = isObj(e) && typeof e.message === 'string' ? e.message : err.message;
        throw new Attempt(this.#fail(`${where}: the server reported an error mid-stream: ${msg.slice(0, 400)}`, true), true);
      }
      throw err;
    }
    // The client ends the iteration quietly when the request is aborted (cancelled, or silent for too long).
    if (ctrl.signal.aborted) throw new CancelledError();
    if (!sawChunk) throw new Attempt(this.#fail(`invalid stream from ${where}: no events`), true);
    if (!p.finishReason) throw new Attempt(this.#fail(`the stream from ${where} ended before the completion finished`, true), true);
    if (tools.size) {
      p.toolCalls = [...tools.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([i, t]) => ({ id: t.id ?? `call_${i}`, type: 'function' as const, function: { name: t.name, arguments: t.arguments } }));
    }
    if (lpSeen) {
      p.logprobs = lps;
      if (lpIds.length && lpIds.every((x) => x !== undefined)) p.tokenIds = lpIds as number[];
    }
    if (ids.length) p.tokenIds = ids;
    return p;
  }
}

