import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { OpenAIPolicy, parseRetryAfter } from '../../../src/core/policy/openai';
import { createPolicy, describePolicy } from '../../../src/core/policy';
import { PolicyError } from '../../../src/core/policy/types';
import { CancelledError } from '../../../src/core/base/errors';
import type { ChatMessage } from '../../../src/core/base/trajectory';

const KEY = 'sk-test-SECRET-0123456789abcdef';
const MESSAGES: ChatMessage[] = [
  { role: 'system', content: 'You are an agent.' },
  { role: 'user', content: 'Fix the bug.' },
];

interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown> | undefined;
  at: number;
}

type Handler = (req: Recorded, res: http.ServerResponse, n: number) => void | Promise<void>;

/** A real HTTP server on 127.0.0.1 (random port) answering with `handler`. */
async function serve(handler: Handler): Promise<{ base: string; requests: Recorded[]; close: () => Promise<void>; closed: Promise<void>[] }> {
  const requests: Recorded[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const closed: Promise<void>[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const rec: Recorded = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
        at: Date.now(),
      };
      requests.push(rec);
      closed.push(new Promise((resolve) => res.on('close', () => resolve())));
      void handler(rec, res, requests.length);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    base: `http://127.0.0.1:${port}/v1`,
    requests,
    closed,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

function completion(content: string | null, extra: Record<string, unknown> = {}, choiceExtra: Record<string, unknown> = {}) {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop', ...choiceExtra }],
    usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 },
    ...extra,
  };
}

function sse(res: http.ServerResponse): (data: unknown) => void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  return (data) => res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
}

function chunk(delta: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: null, ...extra }] };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('openai policy (against a local HTTP server)', function () {
  this.timeout(20_000);
  const servers: Array<{ close: () => Promise<void> }> = [];
  const savedEnv = { SSR_API_KEY: process.env.SSR_API_KEY, OPENAI_API_KEY: process.env.OPENAI_API_KEY };

  beforeEach(() => {
    delete process.env.SSR_API_KEY;
    delete process.env.OPENAI_API_KEY;
  });
  afterEach(async () => {
    while (servers.length) await servers.pop()!.close();
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  async function start(handler: Handler) {
    const s = await serve(handler);
    servers.push(s);
    return s;
  }

  it('non-streaming: sends the request, parses text, usage and logprobs; key only in the Bearer header', async () => {
    const s = await start((_req, res) =>
      json(
        res,
        200,
        completion('<tool: bash>\nls\n', {}, {
          logprobs: { content: [{ token: '<tool', logprob: -0.5 }, { token: ':', logprob: -0.25 }, { token: ' bash', logprob: -1 }] },
        }),
      ),
    );
    const p = new OpenAIPolicy({ baseUrl: s.base, model: 'qwen', apiKey: KEY, maxTokens: 256, stop: ['</tool>'] });
    const r = await p.complete({ messages: MESSAGES });
    assert.equal(r.text, '<tool: bash>\nls\n');
    assert.equal(r.finishReason, 'stop');
    assert.deepEqual(r.logprobs, [-0.5, -0.25, -1]);
    assert.equal(r.tokenIds, undefined);
    assert.deepEqual(r.usage, { promptTokens: 12, completionTokens: 3 });

    const req = s.requests[0];
    assert.equal(req.method, 'POST');
    assert.equal(req.url, '/v1/chat/completions');
    assert.equal(req.headers.authorization, `Bearer ${KEY}`);
    assert.deepEqual(req.body?.messages, MESSAGES.map((m) => ({ role: m.role, content: m.content })));
    assert.equal(req.body?.model, 'qwen');
    assert.equal(req.body?.temperature, 1);
    assert.equal(req.body?.top_p, 0.95);
    assert.equal(req.body?.max_tokens, 256);
    assert.deepEqual(req.body?.stop, ['</tool>']);
    assert.equal(req.body?.logprobs, true);
    assert.equal(req.body?.stream, false);

    // The key never shows in info, JSON or inspect output.
    assert.deepEqual(p.info, { kind: 'openai', model: 'qwen', temperature: 1, topP: 0.95, baseUrl: s.base });
    for (const text of [JSON.stringify(p.info), JSON.stringify(p), inspect(p, { depth: 5, showHidden: true }), describePolicy(p)]) {
      assert.ok(!text.includes(KEY), text);
      assert.ok(!text.includes('SECRET'), text);
    }
  });

  it('reads the key from SSR_API_KEY (then OPENAI_API_KEY) and sends no header without one', async () => {
    const s = await start((_req, res) => json(res, 200, completion('ok')));
    process.env.OPENAI_API_KEY = 'sk-openai-env';
    await new OpenAIPolicy({ baseUrl: s.base, model: 'm' }).complete({ messages: MESSAGES });
    process.env.SSR_API_KEY = 'sk-ssr-env';
    await new OpenAIPolicy({ baseUrl: s.base, model: 'm' }).complete({ messages: MESSAGES });
    delete process.env.SSR_API_KEY;
    delete process.env.OPENAI_API_KEY;
    await new OpenAIPolicy({ baseUrl: s.base, model: 'm' }).complete({ messages: MESSAGES });
    assert.equal(s.requests[0].headers.authorization, 'Bearer sk-openai-env');
    assert.equal(s.requests[1].headers.authorization, 'Bearer sk-ssr-env');
    assert.equal(s.requests[2].headers.authorization, undefined);
  });

  it('streaming SSE: onToken per delta, split network writes, usage and logprobs across chunks', async () => {
    const s = await start(async (_req, res) => {
      const send = sse(res);
      send(chunk({ role: 'assistant', content: '' }));
      // One event split across writes, and a keep-alive comment.
      const ev = JSON.stringify(chunk({ content: 'Hel' }, { logprobs: { content: [{ token: 'Hel', logprob: -0.1 }] } }));
      res.write(`data: ${ev.slice(0, 10)}`);
      await sleep(20);
      res.write(`${ev.slice(10)}\n\n: keep-alive\n\n`);
      await sleep(10);
      send(chunk({ content: 'lo ' }, { logprobs: { content: [{ token: 'lo', logprob: -0.2 }, { token: ' ', logprob: -0.3 }] } }));
      send(chunk({ content: 'world' }, { logprobs: { content: [{ token: 'world', logprob: -0.4 }] } }));
      send(chunk({}, { finish_reason: 'length' }));
      send({ id: 'c', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 9, completion_tokens: 4 } });
      send('[DONE]');
      res.end();
    });
    const p = new OpenAIPolicy({ baseUrl: s.base, model: 'm' });
    const deltas: string[] = [];
    const r = await p.complete({ messages: MESSAGES, onToken: (t) => deltas.push(t) });
    assert.deepEqual(deltas, ['Hel', 'lo ', 'world']);
    assert.equal(r.text, 'Hello world');
    assert.equal(r.finishReason, 'length');
    assert.deepEqual(r.logprobs, [-0.1, -0.2, -0.3, -0.4]);
    assert.deepEqual(r.usage, { promptTokens: 9, completionTokens: 4 });
    assert.equal(s.requests[0].body?.stream, true);
    assert.deepEqual(s.requests[0].body?.stream_options, { include_usage: true });
    assert.equal(s.requests[0].headers.accept, 'text/event-stream');
  });

  it('429 then success: retries, honours Retry-After', async () => {
    const s = await start((_req, res, n) => {
      if (n === 1) json(res, 429, { error: { message: 'slow down' } }, { 'retry-after': '1' });
      else json(res, 200, completion('done'));
    });
    const p = new OpenAIPolicy({ baseUrl: s.base, model: 'm' });
    const r = await p.complete({ messages: MESSAGES });
    assert.equal(r.text, 'done');
    assert.equal(s.requests.length, 2);
    const gap = s.requests[1].at - s.requests[0].at;
    assert.ok(gap >= 950, `waited ${gap} ms, Retry-After said 1 s`);
  });

  it('Retry-After is bounded by maxRetryAfterMs, and retries are bounded', async () => {
    const s = await start((_req, res, n) => {
      if (n < 3) json(res, 429, 'busy', { 'retry-after': '3600' });
      else json(res, 200, completion('finally'));
    });
    const t0 = Date.now();
    const r = await new OpenAIPolicy({ baseUrl: s.base, model: 'm', maxRetryAfterMs: 30 }).complete({ messages: MESSAGES });
    assert.equal(r.text, 'finally');
    assert.ok(Date.now() - t0 < 2000);

    const s2 = await start((_req, res) => json(res, 429, { error: { message: 'quota' } }, { 'retry-after': '0' }));
    const err = await new OpenAIPolicy({ baseUrl: s2.base, model: 'm', retries: 2 }).complete({ messages: MESSAGES }).catch((e) => e);
    assert.ok(err instanceof PolicyError);
    assert.equal(s2.requests.length, 3);
    assert.equal(err.status, 429);
    assert.equal(err.retryable, true);
    assert.match(err.message, /rate limited \(HTTP 429: quota\) \(after 3 attempts\)/);
  });

  it('500 then success; persistent 5xx fails with the status after the retries', async () => {
    const s = await start((_req, res, n) => {
      if (n === 1) json(res, 500, { error: { message: 'CUDA out of memory' } });
      else json(res, 200, completion('recovered'));
    });
    const r = await new OpenAIPolicy({ baseUrl: s.base, model: 'm' }).complete({ messages: MESSAGES });
    assert.equal(r.text, 'recovered');
    assert.equal(s.requests.length, 2);

    const s2 = await start((_req, res) => json(res, 503, 'unavailable'));
    const err = await new OpenAIPolicy({ baseUrl: s2.base, model: 'm', retries: 1 }).complete({ messages: MESSAGES }).catch((e) => e);
    assert.ok(err instanceof PolicyError);
    assert.match(err.message, /server error \(HTTP 503: unavailable\) \(after 2 attempts\)/);
    assert.equal(s2.requests.length, 2);
  });

  it('garbage bodies become PolicyErrors, never crashes', async () => {
    const bodies: Array<[string, RegExp]> = [
      ['<html>502 Bad Gateway</html>', /not JSON \(body starts with "<html>502 Bad Gateway<\/html>"\)/],
      ['{"object":"chat.completion"}', /no choices\[0\]/],
      ['{"choices":[{"message":{"content":42}}]}', /content is not a string/],
      ['[1,2,3]', /expected a JSON object/],
      ['', /not JSON/],
    ];
    for (const [body, re] of bodies) {
      const s = await start((_req, res) => json(res, 200, body));
      const err = await new OpenAIPolicy({ baseUrl: s.base, model: 'm', retries: 0 }).complete({ messages: MESSAGES }).catch((e) => e);
      assert.ok(err instanceof PolicyError, String(err));
      assert.match(err.message, re);
      assert.match(err.message, /invalid response from http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions/);
    }
    // Garbage inside an SSE stream.
    const s = await start((_req, res) => {
      const send = sse(res);
      send(chunk({ content: 'a' }));
      send('{not json');
      res.end();
    });
    const err = await new OpenAIPolicy({ baseUrl: s.base, model: 'm', retries: 0 }).complete({ messages: MESSAGES, onToken: () => undefined }).catch((e) => e);
    assert.ok(err instanceof PolicyError);
    assert.match(err.message, /invalid stream .*not JSON/);
    // A stream cut before finishing.
    const s3 = await start((_req, res) => {
      const send = sse(res);
      send(chunk({ content: 'partial' }));
      res.end();
    });
    const err3 = await new OpenAIPolicy({ baseUrl: s3.base, model: 'm', retries: 3, stream: true })
      .complete({ messages: MESSAGES })
      .catch((e) => e);
    assert.ok(err3 instanceof PolicyError);
    assert.match(err3.message, /ended before the completion finished \(after 4 attempts\)/);
    assert.equal(s3.requests.length, 4, 'nothing reached the caller, so it is retried');
    // With onToken, text already went out: no silent retry.
    const s4 = await start((_req, res) => {
      const send = sse(res);
      send(chunk({ content: 'partial' }));
      res.end();
    });
    const err4 = await new OpenAIPolicy({ baseUrl: s4.base, model: 'm', retries: 3 })
      .complete({ messages: MESSAGES, onToken: () => undefined })
      .catch((e) => e);
    assert.ok(err4 instanceof PolicyError);
    assert.equal(s4.requests.length, 1);
  });

  it('a down server gives "connection refused; is the server running? set --base-url"', async () => {
    const s = await serve((_req, res) => json(res, 200, completion('x')));
    const base = s.base;
    await s.close();
    const p = new OpenAIPolicy({ baseUrl: base, model: 'm', apiKey: KEY, retries: 2 });
    const err = await p.complete({ messages: MESSAGES }).catch((e) => e);
    assert.ok(err instanceof PolicyError);
    assert.equal(err.message, `cannot reach ${base}: connection refused; is the server running? set --base-url (after 3 attempts)`);
    assert.equal(err.retryable, true);
    assert.ok(!err.message.includes(KEY));
  });

  it('logprobs with vLLM token ids (return_tokens_as_token_ids, return_token_ids, prompt_token_ids)', async () => {
    const s = await start((_req, res, n) => {
      if (n === 1) {
        json(
          res,
          200,
          completion('ab', { prompt_token_ids: [1, 2, 3] }, {
            logprobs: { content: [{ token: 'token_id:97', logprob: -0.5, top_logprobs: [] }, { token: 'token_id:98', logprob: -1.5 }] },
          }),
        );
      } else {
        const send = sse(res);
        send({ ...chunk({ content: '' }), prompt_token_ids: [4, 5] });
        send(chunk({ content: 'x' }, { token_ids: [120], logprobs: { content: [{ token: 'token_id:120', logprob: -0.1 }] } }));
        send(chunk({ content: 'y' }, { token_ids: [121], logprobs: { content: [{ token: 'token_id:121', logprob: -0.2 }] } }));
        send(chunk({}, { finish_reason: 'stop', stop_reason: '</tool>' }));
        send('[DONE]');
        res.end();
      }
    });
    const p = new OpenAIPolicy({ baseUrl: s.base, model: 'm', returnTokenIds: true, includeStopInText: true });
    const r = await p.complete({ messages: MESSAGES });
    assert.deepEqual(r.tokenIds, [97, 98]);
    assert.deepEqual(r.logprobs, [-0.5, -1.5]);
    assert.deepEqual(r.promptTokenIds, [1, 2, 3]);
    assert.equal(s.requests[0].body?.return_tokens_as_token_ids, true);
    assert.equal(s.requests[0].body?.return_token_ids, true);
    const deltas: string[] = [];
    const r2 = await p.complete({ messages: MESSAGES, stop: ['</tool>'], onToken: (t) => deltas.push(t) });
    assert.deepEqual(r2.tokenIds, [120, 121]);
    assert.deepEqual(r2.logprobs, [-0.1, -0.2]);
    assert.deepEqual(r2.promptTokenIds, [4, 5]);
    assert.equal(r2.text, 'xy</tool>');
    assert.equal(r2.stopSequence, '</tool>');
    assert.deepEqual(deltas, ['x', 'y', '</tool>']);
  });

  it('SGLang token ids: return_prompt_token_ids (choices[0].prompt_token_ids) and logprobs.content[].token_id', async () => {
    const s = await start((_req, res) => {
      json(
        res,
        200,
        completion('ab', {}, {
          prompt_token_ids: [7, 8, 9],
          logprobs: { content: [{ token: 'a', token_id: 64, logprob: -0.25, top_logprobs: [] }, { token: 'b', token_id: 65, logprob: -0.75, top_logprobs: [] }] },
        }),
      );
    });
    const p = new OpenAIPolicy({ baseUrl: s.base, model: 'm' }); // ids are asked for by default
    const r = await p.complete({ messages: MESSAGES });
    assert.equal(s.requests[0].body?.return_prompt_token_ids, true);
    assert.deepEqual(r.tokenIds, [64, 65]);
    assert.deepEqual(r.logprobs, [-0.25, -0.75]);
    assert.deepEqual(r.promptTokenIds, [7, 8, 9]);
  });

  it('drops optional parameters a server rejects (HTTP 400 naming them) and resends', async () => {
    const s = await start((req, res) => {
      if (req.body && 'logprobs' in req.body) json(res, 400, { error: { message: "Unrecognized request argument supplied: logprobs" } });
      else json(res, 200, completion('fine'));
    });
    const p = new OpenAIPolicy({ baseUrl: s.base, model: 'm', retries: 0 });
    assert.equal((await p.complete({ messages: MESSAGES })).text, 'fine');
    assert.equal((await p.complete({ messages: MESSAGES })).text, 'fine');
    assert.equal(s.requests.length, 3, 'the dropped parameter is remembered');

    const s2 = await start((_req, res) => json(res, 400, { error: { message: 'This model maximum context length is 4096 tokens' } }));
    const err = await new OpenAIPolicy({ baseUrl: s2.base, model: 'm' }).complete({ messages: MESSAGES }).catch((e) => e);
    assert.ok(err instanceof PolicyError);
    assert.equal(err.status, 400);
    assert.equal(err.retryable, false);
    assert.match(err.message, /the server rejected the request \(HTTP 400: This model maximum context length is 4096 tokens\)/);
    assert.equal(s2.requests.length, 1);
  });

  it('cancellation mid-stream with an AbortSignal', async () => {
    const s = await start((_req, res) => {
      const send = sse(res);
      send(chunk({ content: 'first' }));
      const t = setInterval(() => send(chunk({ content: '.' })), 50);
      res.on('close', () => clearInterval(t));
      // never finishes on its own
    });
    const ctrl = new AbortController();
    const p = new OpenAIPolicy({ baseUrl: s.base, model: 'm' });
    const tokens: string[] = [];
    const t0 = Date.now();
    const err = await p
      .complete({
        messages: MESSAGES,
        signal: ctrl.signal,
        onToken: (t) => {
          tokens.push(t);
          if (tokens.length === 2) ctrl.abort();
        },
      })
      .catch((e) => e);
    assert.ok(err instanceof CancelledError, String(err));
    assert.deepEqual(tokens, ['first', '.']);
    assert.ok(Date.now() - t0 < 3000);
    await Promise.race([s.closed[0], sleep(2000).then(() => assert.fail('the connection was not closed'))]);
    assert.equal(s.requests.length, 1, 'a cancelled request is not retried');
    // Already aborted: nothing is sent.
    await assert.rejects(p.complete({ messages: MESSAGES, signal: AbortSignal.abort() }), CancelledError);
    assert.equal(s.requests.length, 1);
  });

  it('auth failures name the env vars and never echo the key', async () => {
    const s = await start((req, res) => json(res, 401, { error: { message: `Incorrect API key provided: ${String(req.headers.authorization)}` } }));
    const err = await new OpenAIPolicy({ baseUrl: s.base, model: 'm', apiKey: KEY }).complete({ messages: MESSAGES }).catch((e) => e);
    assert.ok(err instanceof PolicyError);
    assert.equal(err.status, 401);
    assert.match(err.message, /authentication failed \(HTTP 401: .*\); set SSR_API_KEY or OPENAI_API_KEY/);
    assert.ok(!err.message.includes(KEY), err.message);
    assert.ok(!err.message.includes('SECRET'), err.message);
    assert.ok(!(err.stack ?? '').includes(KEY));
    assert.equal(s.requests.length, 1, '401 is not retried');
  });

  it('404 says to check --base-url; user:pass in the URL is not shown', async () => {
    const s = await start((_req, res) => json(res, 404, { detail: 'Not Found' }));
    const base = s.base.replace('http://', 'http://user:pw@').replace('/v1', '');
    const p = new OpenAIPolicy({ baseUrl: base, model: 'm' });
    assert.ok(!p.info.baseUrl!.includes('pw'));
    const err = await p.complete({ messages: MESSAGES }).catch((e) => e);
    assert.match(err.message, /not found \(HTTP 404: Not Found\); check --base-url \(it usually ends in \/v1\) and --model/);
    assert.ok(!err.message.includes('pw'));
    assert.equal(s.requests[0].url, '/chat/completions');
    assert.equal(s.requests[0].headers.authorization, `Basic ${Buffer.from('user:pw').toString('base64')}`);
  });

  it('times out a silent server', async () => {
    const s = await start(() => undefined /* never answers */);
    const err = await new OpenAIPolicy({ baseUrl: s.base, model: 'm', timeoutMs: 150, retries: 1 })
      .complete({ messages: MESSAGES })
      .catch((e) => e);
    assert.ok(err instanceof PolicyError);
    assert.match(err.message, /timed out after 150 ms.*\(after 2 attempts\)/);
    assert.equal(s.requests.length, 2);
  });

  it('native tools mode: sends tools, returns toolCalls (plain and streamed)', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'bash', parameters: { type: 'object', properties: { cmd: { type: 'string' } } } } }];
    const s = await start((req, res) => {
      if (!req.body?.stream) {
        json(
          res,
          200,
          completion(null, {}, {
            finish_reason: 'tool_calls',
            message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'bash', arguments: '{"cmd":"ls"}' } }] },
          }),
        );
        return;
      }
      const send = sse(res);
      send(chunk({ tool_calls: [{ index: 0, id: 'call_9', type: 'function', function: { name: 'bash', arguments: '' } }] }));
      send(chunk({ tool_calls: [{ index: 0, function: { arguments: '{"cmd":' } }] }));
      send(chunk({ tool_calls: [{ index: 0, function: { arguments: '"pwd"}' } }] }));
      send(chunk({}, { finish_reason: 'tool_calls' }));
      send('[DONE]');
      res.end();
    });
    const p = new OpenAIPolicy({ baseUrl: s.base, model: 'm', tools, toolChoice: 'auto' });
    const history: ChatMessage[] = [
      ...MESSAGES,
      { role: 'assistant', content: '', tool_calls: [{ id: 'call_0', type: 'function', function: { name: 'bash', arguments: '{"cmd":"id"}' } }] },
      { role: 'tool', content: 'uid=0', tool_call_id: 'call_0' },
    ];
    const r = await p.complete({ messages: history });
    assert.equal(r.text, '');
    assert.equal(r.finishReason, 'tool_calls');
    assert.deepEqual(r.toolCalls, [{ id: 'call_1', type: 'function', function: { name: 'bash', arguments: '{"cmd":"ls"}' } }]);
    assert.deepEqual(s.requests[0].body?.tools, tools);
    assert.equal(s.requests[0].body?.tool_choice, 'auto');
    const sent = s.requests[0].body?.messages as ChatMessage[];
    assert.equal(sent[3].tool_call_id, 'call_0');
    assert.deepEqual(sent[2].tool_calls, history[2].tool_calls);
    const r2 = await p.complete({ messages: MESSAGES, onToken: () => undefined });
    assert.deepEqual(r2.toolCalls, [{ id: 'call_9', type: 'function', function: { name: 'bash', arguments: '{"cmd":"pwd"}' } }]);
    assert.equal(r2.finishReason, 'tool_calls');
  });

  it('finds the model from GET /models when none is given; createPolicy and describePolicy', async () => {
    const s = await start((req, res) => {
      if (req.url === '/v1/models') json(res, 200, { object: 'list', data: [{ id: 'Qwen/Qwen2.5-Coder-7B-Instruct', object: 'model' }] });
      else json(res, 200, completion(`model=${String(req.body?.model)}`));
    });
    const p = await createPolicy({ kind: 'openai', baseUrl: s.base, apiKey: KEY, temperature: 0.6 });
    const r = await p.complete({ messages: MESSAGES });
    assert.equal(r.text, 'model=Qwen/Qwen2.5-Coder-7B-Instruct');
    assert.equal(p.info.model, 'Qwen/Qwen2.5-Coder-7B-Instruct');
    assert.equal(describePolicy(p), `openai Qwen/Qwen2.5-Coder-7B-Instruct @ ${s.base} (temperature 0.6, top_p 0.95)`);
    assert.equal(describePolicy({ kind: 'openai', baseUrl: 'http://u:secret@h:1/v1', model: 'x', apiKey: KEY }), 'openai x @ http://h:1/v1 (temperature 1, top_p 0.95)');
    assert.equal(s.requests[1].headers.authorization, `Bearer ${KEY}`);
    assert.equal(s.requests[0].headers.authorization, `Bearer ${KEY}`);
  });

  it('rejects a malformed base URL with a clear message', () => {
    assert.throws(() => new OpenAIPolicy({ baseUrl: 'localhost:8000' }), /invalid --base-url/);
    assert.throws(() => new OpenAIPolicy({ baseUrl: 'ftp://x/v1' }), /invalid --base-url/);
  });

  it('Retry-After as an HTTP date is honoured, and on 5xx too', async () => {
    const s = await start((_req, res, n) => {
      // Second precision: the date is 1 to 2 s away.
      if (n === 1) json(res, 429, { error: { message: 'slow down' } }, { 'retry-after': new Date(Date.now() + 2000).toUTCString() });
      else if (n === 2) json(res, 503, { error: { message: 'loading' } }, { 'retry-after': '1' });
      else json(res, 200, completion('done'));
    });
    const r = await new OpenAIPolicy({ baseUrl: s.base, model: 'm' }).complete({ messages: MESSAGES });
    assert.equal(r.text, 'done');
    assert.equal(s.requests.length, 3);
    const gap1 = s.requests[1].at - s.requests[0].at;
    const gap2 = s.requests[2].at - s.requests[1].at;
    assert.ok(gap1 >= 900 && gap1 < 2500, `waited ${gap1} ms for an HTTP date 1-2 s away`);
    assert.ok(gap2 >= 950 && gap2 < 2000, `waited ${gap2} ms, Retry-After said 1 s`);
  });

  it('retries 408, 409, 429 and 5xx, and no other 4xx', async () => {
    for (const status of [408, 409, 429, 500, 502, 503, 504]) {
      const s = await start((_req, res, n) => {
        if (n === 1) json(res, status, { error: { message: `status ${status}` } }, { 'retry-after': '0' });
        else json(res, 200, completion('ok'));
      });
      const r = await new OpenAIPolicy({ baseUrl: s.base, model: 'm' }).complete({ messages: MESSAGES });
      assert.equal(r.text, 'ok');
      assert.equal(s.requests.length, 2, `HTTP ${status} is retried`);
    }
    for (const status of [400, 401, 403, 404, 405, 410, 413, 422]) {
      const s = await start((_req, res) => json(res, status, { error: { message: `status ${status}` } }, { 'retry-after': '0' }));
      const err = await new OpenAIPolicy({ baseUrl: s.base, model: 'm' }).complete({ messages: MESSAGES }).catch((e) => e);
      assert.ok(err instanceof PolicyError, String(err));
      assert.equal(err.status, status);
      assert.equal(err.retryable, false);
      assert.ok(!/after \d+ attempts/.test(err.message), err.message);
      assert.equal(s.requests.length, 1, `HTTP ${status} is not retried`);
    }
  });

  it('retries is the number of retries of the whole call', async () => {
    for (const retries of [0, 1, 3]) {
      const s = await start((_req, res) => json(res, 503, { error: { message: 'down' } }, { 'retry-after': '0' }));
      const err = await new OpenAIPolicy({ baseUrl: s.base, model: 'm', retries }).complete({ messages: MESSAGES }).catch((e) => e);
      assert.ok(err instanceof PolicyError);
      assert.equal(s.requests.length, retries + 1);
      assert.equal(err.message.endsWith(`(after ${retries + 1} attempts)`), retries > 0, err.message);
    }
    // A stream that breaks after a retried 503 spends the same budget.
    const s = await start((_req, res, n) => {
      if (n === 1) return json(res, 503, 'busy', { 'retry-after': '0' });
      const send = sse(res);
      send(chunk({ content: 'partial' }));
      res.end();
    });
    const err = await new OpenAIPolicy({ baseUrl: s.base, model: 'm', retries: 2, stream: true }).complete({ messages: MESSAGES }).catch((e) => e);
    assert.match(err.message, /ended before the completion finished \(after 3 attempts\)/);
    assert.equal(s.requests.length, 3);
  });

  it('a server that rejects the token-id parameters gets them dropped, once each, and the policy remembers', async () => {
    // An OpenAI-style 400 naming one parameter, then a FastAPI/pydantic 422 naming another.
    const s = await start((req, res) => {
      const b = req.body ?? {};
      if ('return_token_ids' in b) return json(res, 400, { error: { message: 'Unrecognized request argument supplied: return_token_ids', type: 'invalid_request_error' } });
      if ('return_prompt_token_ids' in b) {
        return json(res, 422, { detail: [{ type: 'extra_forbidden', loc: ['body', 'return_prompt_token_ids'], msg: 'Extra inputs are not permitted' }] });
      }
      json(res, 200, completion('fine', {}, { logprobs: { content: [{ token: 'token_id:7', logprob: -0.5 }] } }));
    });
    const p = new OpenAIPolicy({ baseUrl: s.base, model: 'm', retries: 0 });
    const r = await p.complete({ messages: MESSAGES });
    assert.equal(r.text, 'fine');
    assert.deepEqual(r.tokenIds, [7], 'the parameters the server knows still work');
    assert.equal(s.requests.length, 3);
    assert.equal(s.requests[0].body?.return_token_ids, true);
    assert.equal(s.requests[1].body?.return_token_ids, undefined);
    assert.equal(s.requests[1].body?.return_prompt_token_ids, true);
    assert.equal(s.requests[2].body?.return_prompt_token_ids, undefined);
    assert.equal(s.requests[2].body?.return_tokens_as_token_ids, true);
    assert.equal(s.requests[2].body?.logprobs, true);
    await p.complete({ messages: MESSAGES });
    assert.equal(s.requests.length, 4, 'remembered: one request');

    // A parameter is dropped once: a server that still says no after that gets its error through.
    const s2 = await start((_req, res) => json(res, 400, { error: { message: 'seed is not supported' } }));
    const err = await new OpenAIPolicy({ baseUrl: s2.base, model: 'm', seed: 1 }).complete({ messages: MESSAGES }).catch((e) => e);
    assert.ok(err instanceof PolicyError);
    assert.equal(err.status, 400);
    assert.equal(s2.requests.length, 2);
    assert.equal(s2.requests[0].body?.seed, 1);
    assert.equal(s2.requests[1].body?.seed, undefined);
  });

  it('the key never shows in errors or in the client log (OPENAI_LOG=debug)', async () => {
    const s = await start((req, res, n) => {
      const auth = String(req.headers.authorization);
      if (n === 1) {
        res.writeHead(500, { 'content-type': 'text/plain', 'retry-after': '0' });
        res.end(`upstream said no to ${auth}`);
      } else {
        res.writeHead(401, { 'content-type': 'text/plain' });
        res.end(`Incorrect API key provided: ${auth.slice(7)}`);
      }
    });
    const saved = { log: process.env.OPENAI_LOG, write: process.stderr.write };
    const logged: string[] = [];
    process.env.OPENAI_LOG = 'debug';
    process.stderr.write = ((text: string | Uint8Array) => {
      logged.push(String(text));
      return true;
    }) as typeof process.stderr.write;
    let err: unknown;
    try {
      err = await new OpenAIPolicy({ baseUrl: s.base, model: 'm', apiKey: KEY }).complete({ messages: MESSAGES }).catch((e) => e);
    } finally {
      process.stderr.write = saved.write;
      if (saved.log === undefined) delete process.env.OPENAI_LOG;
      else process.env.OPENAI_LOG = saved.log;
    }
    assert.ok(err instanceof PolicyError);
    assert.equal(err.status, 401);
    assert.equal(s.requests.length, 2);
    const log = logged.join('');
    assert.match(log, /\[openai debug\]/, 'the client logged');
    assert.match(log, /Incorrect API key provided/, 'error bodies are in the log');
    for (const text of [log, err.message, err.stack ?? '']) {
      assert.ok(!text.includes(KEY), text);
      assert.ok(!text.includes('SECRET'), text);
    }
  });

  it('cancellation during a Retry-After wait returns at once and sends nothing more', async () => {
    const s = await start((_req, res) => json(res, 429, { error: { message: 'busy' } }, { 'retry-after': '30' }));
    const ctrl = new AbortController();
    const p = new OpenAIPolicy({ baseUrl: s.base, model: 'm', maxRetryAfterMs: 600 });
    setTimeout(() => ctrl.abort(), 100);
    const t0 = Date.now();
    await assert.rejects(p.complete({ messages: MESSAGES, signal: ctrl.signal }), CancelledError);
    assert.ok(Date.now() - t0 < 500, `cancelled after ${Date.now() - t0} ms`);
    await sleep(800); // past the capped wait
    assert.equal(s.requests.length, 1);
  });

  it('a body that goes silent for timeoutMs is cut, and sent again while nothing reached onToken', async () => {
    const s = await start((_req, res) => {
      const send = sse(res);
      send(chunk({ content: 'thinking' }));
      // then nothing, connection open
    });
    const t0 = Date.now();
    const err = await new OpenAIPolicy({ baseUrl: s.base, model: 'm', timeoutMs: 200, retries: 1, stream: true })
      .complete({ messages: MESSAGES })
      .catch((e) => e);
    assert.ok(err instanceof PolicyError, String(err));
    assert.match(err.message, /timed out after 200 ms.*\(after 2 attempts\)/);
    assert.equal(s.requests.length, 2);
    assert.ok(Date.now() - t0 < 3000);
    await Promise.race([Promise.all(s.closed), sleep(2000).then(() => assert.fail('a silent connection was left open'))]);
    // With onToken, a token went out: no resend.
    const s2 = await start((_req, res) => {
      sse(res)(chunk({ content: 'thinking' }));
    });
    const tokens: string[] = [];
    const err2 = await new OpenAIPolicy({ baseUrl: s2.base, model: 'm', timeoutMs: 200, retries: 1 })
      .complete({ messages: MESSAGES, onToken: (t) => tokens.push(t) })
      .catch((e) => e);
    assert.match(err2.message, /timed out after 200 ms/);
    assert.deepEqual(tokens, ['thinking']);
    assert.equal(s2.requests.length, 1);
  });

  it('an error event mid-stream is a retryable PolicyError; a JSON answer to a streaming request is read', async () => {
    const s = await start((_req, res, n) => {
      if (n === 1) {
        const send = sse(res);
        send({ error: { message: 'engine died', type: 'InternalServerError' } });
        res.end();
        return;
      }
      json(res, 200, completion('plain json'));
    });
    const r = await new OpenAIPolicy({ baseUrl: s.base, model: 'm', stream: true }).complete({ messages: MESSAGES });
    assert.equal(r.text, 'plain json');
    assert.equal(s.requests.length, 2);
    const s2 = await start((_req, res) => {
      sse(res)({ error: { message: 'engine died' } });
      res.end();
    });
    const err = await new OpenAIPolicy({ baseUrl: s2.base, model: 'm', retries: 0 }).complete({ messages: MESSAGES, onToken: () => undefined }).catch((e) => e);
    assert.ok(err instanceof PolicyError);
    assert.equal(err.retryable, true);
    assert.match(err.message, /reported an error mid-stream: engine died/);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    assert.equal(parseRetryAfter('2'), 2000);
    assert.equal(parseRetryAfter('0.5'), 500);
    assert.equal(parseRetryAfter(null), undefined);
    assert.equal(parseRetryAfter('soon'), undefined);
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:03 GMT', now), 3000);
  });
});
