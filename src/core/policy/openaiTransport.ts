/**
 * The transport around the `openai` policy's requests, in words people can
 * act on: a URL without its credentials, durations, waits that a cancel
 * ends, Retry-After, network errors and error bodies as one short reason;
 * and how one attempt failed (`Attempt`: send again, drop a parameter, or
 * give up).
 */
import { CancelledError } from '../base/errors';
import type { PolicyError } from './types';

type Json = Record<string, unknown>;

/** How one attempt failed. */
export class Attempt {
  constructor(
    readonly error: PolicyError,
    /** Send again (within the budget): failures after the response headers, which the client does not retry. */
    readonly again: boolean,
    /** A 400 that named an optional parameter: drop it and resend. */
    readonly dropParam?: string,
  ) {}
}

/** An error from the caller's own callback (onToken): rethrown untouched, never retried. */
export class Passthrough {
  constructor(readonly err: unknown) {}
}

/** Makes a PolicyError whose message carries no secret (the policy's key and URL credentials scrubbed). */
export type Fail = (message: string, retryable?: boolean, status?: number) => PolicyError;

export function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function sanitizeUrl(raw: string): string {
  try {
    const u = new URL(raw);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/+$/, '');
  } catch {
    return raw.replace(/\/\/[^/@]*@/, '//').replace(/\/+$/, '');
  }
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError());
    const onAbort = () => {
      clearTimeout(timer);
      reject(new CancelledError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Settles with `p`, or rejects with CancelledError as soon as `signal` aborts (`p` is then left to fail quietly). */
export function untilAborted<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  p.catch(() => undefined);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new CancelledError());
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(parseFloat(v) * 1000);
  const t = Date.parse(v);
  if (!Number.isNaN(t)) return Math.max(0, t - now);
  return undefined;
}

export function networkReason(err: unknown): string {
  // The client's APIConnectionError wraps fetch's TypeError, which wraps the system error.
  let e = err as { cause?: unknown; code?: string; message?: string } | undefined;
  while (e && !e.code && e.cause && typeof e.cause === 'object') e = e.cause as typeof e;
  const code = e?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused; is the server running? set --base-url';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found; check --base-url';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return 'the connection was reset by the server';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connection timed out; is the host reachable? check --base-url';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable; check --base-url and the network';
    case 'CERT_HAS_EXPIRED':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
      return `TLS certificate problem (${code})`;
    default:
      return e?.message ?? String(err);
  }
}

/** The useful part of an error body (OpenAI `{error: {message}}`, vLLM `{message}`, FastAPI `{detail}`, or text). */
export function errorDetail(body: unknown): string {
  let detail = '';
  if (typeof body === 'string') detail = body;
  else if (isObj(body)) {
    const e = body.error;
    detail =
      (isObj(e) && typeof e.message === 'string' && e.message) ||
      (typeof e === 'string' && e) ||
      (typeof body.message === 'string' && body.message) ||
      (typeof body.detail === 'string' && body.detail) ||
      (body.detail !== undefined ? JSON.stringify(body.detail) : '') ||
      JSON.stringify(body);
  } else if (body !== undefined && body !== null) detail = JSON.stringify(body);
  return detail.replace(/\s+/g, ' ').trim().slice(0, 400);
}

