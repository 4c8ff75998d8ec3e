/**
 * Sending the `openai` policy's requests: the `openai` client (which retries
 * failed responses and connections with backoff), then the body read under
 * an idle timeout; resends after a dropped optional parameter and after a
 * body-side failure; every failure classified into an error that says what
 * to do (and never carries the key). All attempts of one call share the
 * `retries` budget.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError, type APIPromise } from 'openai';
import { CancelledError } from '../base/errors';
import { PolicyError } from './types';
import { Attempt, errorDetail, formatMs, networkReason, parseRetryAfter, Passthrough, sleep, untilAborted, type Fail } from './openaiTransport';
import { dropParam, OPTIONAL_PARAMS, paramToDrop, type OpenAIPolicyOptions, type ParamState } from './openaiRequest';

export type RequestOptions = Exclude<NonNullable<Parameters<OpenAI['post']>[1]>, PromiseLike<unknown>>;

/** A failed response's whole body: the client keeps only its `error` field, and vLLM's `{message}` or FastAPI's `{detail}` sit elsewhere. */
const errorBodies = new WeakMap<object, unknown>();

/** The `openai` client, keeping each failed response's whole body. */
export class Client extends OpenAI {
  protected override makeStatusError(status: number, error: object, message: string | undefined, headers: Headers): APIError {
    const err = super.makeStatusError(status, error, message, headers);
    errorBodies.set(err, error ?? message);
    return err;
  }
}

/** What sending needs from the policy. */
export interface Transport {
  readonly client: Client;
  readonly opts: OpenAIPolicyOptions;
  /** The base URL without credentials, for messages. */
  readonly displayUrl: string;
  readonly params: ParamState;
  readonly fail: Fail;
}

export type Request = (client: OpenAI, o: RequestOptions) => APIPromise<unknown>;
export type Read<T> = (res: Response, ctrl: AbortController) => Promise<T>;

export function timeoutMs(opts: OpenAIPolicyOptions): number {
  return Math.max(1, Math.round(opts.timeoutMs ?? 600_000));
}

/**
 * One call: `request` through the client (which retries failed responses and connections),
 * then `read` of the body under an idle timeout. Resends after a dropped optional parameter,
 * and after a body-side failure while `canRetry()`; all attempts share the `retries` budget.
 */
export async function send<T>(
  t: Transport,
  where: string,
  signal: AbortSignal | undefined,
  request: Request,
  read: Read<T>,
  canRetry: () => boolean = () => true,
): Promise<T> {
  const retries = Math.max(0, Math.floor(t.opts.retries ?? 4));
  const count = { attempts: 0 };
  let dropRounds = 0;
  for (;;) {
    if (signal?.aborted) throw new CancelledError();
    const r = await attempt(t, where, signal, request, read, retries, count);
    if (r.ok) return r.value;
    const failure = r.failure;
    if (failure.dropParam && dropRounds < OPTIONAL_PARAMS.length + 1) {
      dropParam(t.params, failure.dropParam);
      dropRounds++;
      count.attempts--;
      continue;
    }
    if (!failure.again || count.attempts > retries || !canRetry()) {
      if (failure.error.retryable && count.attempts > 1) {
        throw new PolicyError(`${failure.error.message} (after ${count.attempts} attempts)`, true, failure.error.status);
      }
      throw failure.error;
    }
    // The client's schedule: 0.5 s doubling to 8 s, less up to a quarter of jitter.
    await sleep(Math.min(8000, 500 * 2 ** (count.attempts - 1)) * (1 - Math.random() * 0.25), signal);
  }
}

type Outcome<T> = { ok: true; value: T } | { ok: false; failure: Attempt };

/** One request through the client (its own retries count in `count.attempts`) and the read of its body. */
async function attempt<T>(
  t: Transport,
  where: string,
  signal: AbortSignal | undefined,
  request: Request,
  read: Read<T>,
  retries: number,
  count: { attempts: number },
): Promise<Outcome<T>> {
  const ctrl = new AbortController();
  const onAbort = () => ctrl.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const idle = idleTimer(timeoutMs(t.opts), ctrl);
  const client = t.client.withOptions({
    fetch: async (url, init) => {
      count.attempts++;
      return capRetryAfter(await fetch(url, init), t.opts.maxRetryAfterMs);
    },
  });
  try {
    const res = await untilAborted(request(client, { signal: ctrl.signal, maxRetries: retries - count.attempts }).asResponse(), signal);
    idle.touch();
    return { ok: true, value: await read(watched(res, idle.touch), ctrl) };
  } catch (err) {
    if (err instanceof Passthrough) throw err.err;
    if (signal?.aborted) throw new CancelledError();
    return { ok: false, failure: classify(t, err, idle.timedOut(), where) };
  } finally {
    idle.clear();
    signal?.removeEventListener('abort', onAbort);
    ctrl.abort(); // a body left unread (an error, a callback that threw) releases its connection
  }
}

/** Aborts `ctrl` when `touch` has not been called for `ms`. */
function idleTimer(ms: number, ctrl: AbortController): { touch: () => void; clear: () => void; timedOut: () => boolean } {
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  return {
    touch: () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        ctrl.abort();
      }, ms);
    },
    clear: () => clearTimeout(timer),
    timedOut: () => timedOut,
  };
}

/** The response with a body that calls `touch` at each chunk. */
function watched(res: Response, touch: () => void): Response {
  const body = res.body?.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, out) {
        touch();
        out.enqueue(chunk);
      },
    }),
  );
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}

/** The server's Retry-After, capped at maxRetryAfterMs, as the `retry-after-ms` the client reads first. */
function capRetryAfter(res: Response, maxRetryAfterMs: number | undefined): Response {
  if (res.ok) return res;
  const ms = parseFloat(res.headers.get('retry-after-ms') ?? '');
  const wait = Number.isFinite(ms) ? ms : parseRetryAfter(res.headers.get('retry-after'));
  if (wait === undefined) return res;
  const headers = new Headers(res.headers);
  headers.set('retry-after-ms', String(Math.min(Math.max(wait, 0), Math.max(0, maxRetryAfterMs ?? 60_000))));
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

function classify(t: Transport, err: unknown, timedOut: boolean, where: string): Attempt {
  if (err instanceof Attempt) return err;
  if (err instanceof PolicyError) return new Attempt(err, false);
  const timeout = () =>
    t.fail(`request to ${t.displayUrl} timed out after ${formatMs(timeoutMs(t.opts))}; is the server overloaded? raise the timeout`, true);
  // The body went silent: the client does not retry that, we may.
  if (timedOut) return new Attempt(timeout(), true);
  if (err instanceof APIConnectionTimeoutError) return new Attempt(timeout(), false);
  if (err instanceof APIConnectionError) return new Attempt(t.fail(`cannot reach ${t.displayUrl}: ${networkReason(err.cause)}`, true), false);
  if (err instanceof APIError && err.status !== undefined) return httpError(t, err, where);
  if (err instanceof CancelledError || err instanceof APIUserAbortError) throw new CancelledError();
  const message = err instanceof Error ? err.message : String(err);
  return new Attempt(t.fail(`request to ${t.displayUrl} failed: ${message}`), false);
}

/** A failed response (after the client's retries) as a PolicyError that says what to do. */
function httpError(t: Transport, err: APIError, where: string): Attempt {
  const status = err.status as number;
  const detail = errorDetail(errorBodies.get(err) ?? err.error);
  const suffix = detail ? `: ${detail}` : '';
  if (status === 401 || status === 403) {
    return new Attempt(t.fail(`${where}: authentication failed (HTTP ${status}${suffix}); set SSR_API_KEY or OPENAI_API_KEY`, false, status), false);
  }
  if (status === 404) {
    return new Attempt(t.fail(`${where}: not found (HTTP 404${suffix}); check --base-url (it usually ends in /v1) and --model`, false, status), false);
  }
  if (status === 429) return new Attempt(t.fail(`${where}: rate limited (HTTP 429${suffix})`, true, status), false);
  if (status >= 500) return new Attempt(t.fail(`${where}: server error (HTTP ${status}${suffix})`, true, status), false);
  if (status === 400 || status === 422) {
    return new Attempt(t.fail(`${where}: the server rejected the request (HTTP ${status}${suffix})`, false, status), false, paramToDrop(detail, t.params));
  }
  return new Attempt(t.fail(`${where}: HTTP ${status}${suffix}`, status === 408 || status === 409, status), false);
}
