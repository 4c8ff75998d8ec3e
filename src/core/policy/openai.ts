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
 *   the errors say what to do and never carry the key (openaiSend.ts).
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
 *   policy remembers what it dropped (openaiRequest.ts).
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
import type OpenAI from 'openai';
import type { PolicyInfo } from '../base/trajectory';
import { CancelledError } from '../base/errors';
import { PolicyError, type Policy, type PolicyRequest } from './types';
import { isObj, Passthrough, sanitizeUrl } from './openaiTransport';
import { requestBody, type OpenAIPolicyOptions } from './openaiRequest';
import { Client, send, timeoutMs, type Read, type Request, type Transport } from './openaiSend';
import { finishTurn, parseCompletion, readJson, readStream, type OpenAIPolicyResponse } from './openaiResponse';

export { parseLogprobs } from './openaiParse';
export { parseRetryAfter } from './openaiTransport';
export type { OpenAIPolicyOptions, OpenAITool } from './openaiRequest';
export type { OpenAIPolicyResponse } from './openaiResponse';

export const DEFAULT_OPENAI_BASE_URL = 'http://127.0.0.1:8000/v1';

type Json = Record<string, unknown>;

/** A base URL's user:pass, which fetch refuses: as a Basic credential, and the secrets to scrub from messages. */
function urlCredentials(base: string): { basicAuth?: string; secrets: string[] } {
  const parsed = new URL(base);
  if (!parsed.username && !parsed.password) return { secrets: [] };
  const user = decodeURIComponent(parsed.username);
  const pass = decodeURIComponent(parsed.password);
  const basicAuth = Buffer.from(`${user}:${pass}`).toString('base64');
  return { basicAuth, secrets: [pass, parsed.password, basicAuth].filter((x) => x.length >= 3) };
}

export class OpenAIPolicy implements Policy {
  readonly info: PolicyInfo;
  readonly #apiKey: string | undefined;
  readonly #opts: OpenAIPolicyOptions;
  readonly #displayUrl: string;
  readonly #t: Transport;
  #secrets: string[] = [];
  #model: string | undefined;

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
    const { basicAuth, secrets } = urlCredentials(base);
    this.#secrets = secrets;
    this.#displayUrl = sanitizeUrl(base);
    this.#model = opts.model;
    const temperature = opts.temperature ?? 1.0;
    const topP = opts.topP ?? 0.95;
    this.info = { kind: 'openai', model: opts.model, temperature, topP, baseUrl: this.#displayUrl };
    this.#t = {
      client: this.#makeClient(basicAuth),
      opts: this.#opts,
      displayUrl: this.#displayUrl,
      params: { dropped: new Set<string>(), renameMaxTokens: false },
      fail: (message, retryable = false, status) => new PolicyError(this.#redact(message), retryable, status),
    };
  }

  #makeClient(basicAuth: string | undefined): Client {
    // Without a key the client still wants one: a placeholder, and the header it would make is
    // removed (null) or replaced by the URL's Basic credentials.
    const headers: Record<string, string | null> = { ...(this.#opts.headers ?? {}) };
    const userAuth = Object.keys(headers).some((h) => h.toLowerCase() === 'authorization');
    if (!this.#apiKey && basicAuth) headers.authorization = `Basic ${basicAuth}`;
    else if (!this.#apiKey && !userAuth) headers.authorization = null;
    const log = (level: string) => (...args: unknown[]) => {
      process.stderr.write(`[openai ${level}] ${this.#redact(format(...args))}\n`);
    };
    return new Client({
      baseURL: this.#displayUrl,
      apiKey: this.#apiKey ?? 'no-key',
      // Environment defaults the client would read on its own: SSR talks to the server it was given, as configured.
      organization: null,
      project: null,
      adminAPIKey: null,
      defaultHeaders: headers,
      timeout: timeoutMs(this.#opts),
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

  #send<T>(where: string, signal: AbortSignal | undefined, request: Request, read: Read<T>, canRetry?: () => boolean): Promise<T> {
    return send(this.#t, where, signal, request, read, canRetry);
  }

  async #resolveModel(signal?: AbortSignal): Promise<string> {
    if (this.#model) return this.#model;
    const where = `${this.#displayUrl}/models`;
    const body = await this.#send(where, signal, (c, o) => c.get('/models', o), (res) => readJson(res, where, this.#t.fail));
    const data = isObj(body) && Array.isArray(body.data) ? body.data : [];
    const first = data.find((m): m is Json => isObj(m) && typeof m.id === 'string');
    if (!first) throw this.#t.fail(`no --model given and ${this.#displayUrl}/models lists no models; set --model`);
    this.#model = first.id as string;
    this.info.model = this.#model;
    return this.#model;
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
    const fail = this.#t.fail;
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
        c.chat.completions.create(requestBody(this.#opts, this.#t.params, model, req, stream) as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming, {
          ...o,
          headers: { accept: stream ? 'text/event-stream' : 'application/json' },
        }),
      async (res, ctrl) => {
        if (stream && (res.headers.get('content-type') ?? '').includes('text/event-stream')) return readStream(this.#t.client, res, ctrl, where, emit, fail);
        // Non-streaming, or a server that ignored stream: true.
        const parsed = parseCompletion(await readJson(res, where, fail), where, fail);
        if (parsed.text) emit(parsed.text);
        return parsed;
      },
      () => !emittedAny,
    );
    return finishTurn(raw, stops, req, this.#opts);
  }
}
