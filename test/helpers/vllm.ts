/**
 * A local HTTP server that answers the way vLLM's OpenAI-compatible server
 * does (as its documentation describes it), serving the project's tiny model:
 *
 *   GET  /v1/models                   the base model and the LoRA adapters loaded so far
 *   POST /v1/chat/completions         non-streaming; `logprobs: true` gives
 *                                     choices[0].logprobs.content[{token, logprob, bytes, top_logprobs}];
 *                                     `stop` cuts the text before the stop string
 *                                     (finish_reason "stop", stop_reason the string);
 *                                     with `idsMode: true` (a vLLM that knows them):
 *                                     `return_token_ids` adds top-level prompt_token_ids
 *                                     and choices[0].token_ids, `return_tokens_as_token_ids`
 *                                     writes tokens as "token_id:N"; with `idsMode: false`
 *                                     both are ignored (log-probs without ids)
 *   POST /v1/load_lora_adapter        {lora_name, lora_path}: 200 "Success: LoRA adapter 'NAME'
 *                                     added successfully."; 400 when already loaded or a field is missing
 *   POST /v1/unload_lora_adapter      {lora_name}: 200 "Success: ..."; 404 when unknown
 *   a request naming an unknown model: 404 {"object":"error", "message":"The model `X` does not exist.", ...}
 *
 * What the model "says" comes from `script` (the test decides the agent's
 * actions); the token ids are the tiny model's tokenizer's, and the
 * log-probs are the tiny ONNX model's own scores of those tokens at T = 1
 * (vLLM's default raw_logprobs), so the trainer sees what it would see from
 * vLLM serving this model.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { OnnxPolicy } from '../../src/core/policy/onnx';
import type { ChatMessage } from '../../src/core/base/trajectory';

export interface ChatRequestBody {
  model: string;
  messages: ChatMessage[];
  stop?: string[];
  logprobs?: boolean;
  temperature?: number;
  return_token_ids?: boolean;
  return_tokens_as_token_ids?: boolean;
  [k: string]: unknown;
}

export interface VllmServer {
  base: string;
  /** Every chat request body, in order. */
  chats: ChatRequestBody[];
  /** Every LoRA load request body, in order. */
  loads: Array<{ lora_name?: string; lora_path?: string }>;
  adapters: Map<string, string>;
  close(): Promise<void>;
}

export async function startVllm(opts: {
  modelDir: string;
  served: string;
  idsMode: boolean;
  script: (body: ChatRequestBody) => string;
  /** Context the log-probs are scored with (default 1024 tokens). */
  window?: number;
}): Promise<VllmServer> {
  const engine = await OnnxPolicy.create({ model: opts.modelDir, temperature: 1 });
  const chats: ChatRequestBody[] = [];
  const loads: VllmServer['loads'] = [];
  const adapters = new Map<string, string>();
  const error = (res: http.ServerResponse, code: number, type: string, message: string) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ object: 'error', message, type, param: null, code }));
  };
  const handle = async (req: http.IncomingMessage, body: string, res: http.ServerResponse) => {
    const url = req.url ?? '';
    if (req.method === 'GET' && url === '/v1/models') {
      const data: Array<Record<string, unknown>> = [{ id: opts.served, object: 'model', owned_by: 'vllm', root: opts.modelDir, parent: null }];
      for (const [name, p] of adapters) data.push({ id: name, object: 'model', owned_by: 'vllm', root: p, parent: opts.served });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data }));
      return;
    }
    if (req.method === 'POST' && url === '/v1/load_lora_adapter') {
      const b = JSON.parse(body) as { lora_name?: string; lora_path?: string };
      loads.push(b);
      if (!b.lora_name || !b.lora_path) return error(res, 400, 'BadRequestError', "Both 'lora_name' and 'lora_path' must be provided.");
      if (adapters.has(b.lora_name)) return error(res, 400, 'InvalidUserInput', `The lora adapter '${b.lora_name}' has already been loaded.`);
      if (!fs.existsSync(`${b.lora_path}/adapter_config.json`)) return error(res, 400, 'BadRequestError', `Loading lora ${b.lora_name} failed: No adapter found for ${b.lora_path}`);
      adapters.set(b.lora_name, b.lora_path);
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`Success: LoRA adapter '${b.lora_name}' added successfully.`);
      return;
    }
    if (req.method === 'POST' && url === '/v1/unload_lora_adapter') {
      const b = JSON.parse(body) as { lora_name?: string };
      if (!b.lora_name || !adapters.has(b.lora_name)) return error(res, 404, 'NotFoundError', `The lora adapter '${b.lora_name}' cannot be found.`);
      adapters.delete(b.lora_name);
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`Success: LoRA adapter '${b.lora_name}' removed successfully.`);
      return;
    }
    if (req.method === 'POST' && url === '/v1/chat/completions') {
      const b = JSON.parse(body) as ChatRequestBody;
      chats.push(b);
      if (b.model !== opts.served && !adapters.has(b.model)) return error(res, 404, 'NotFoundError', `The model \`${b.model}\` does not exist.`);
      let text = opts.script(b);
      let stopReason: string | null = null;
      for (const s of b.stop ?? []) {
        const at = text.indexOf(s);
        if (at >= 0) {
          text = text.slice(0, at);
          stopReason = s;
          break;
        }
      }
      const promptIds = engine.encodeChat(b.messages);
      const ids = engine.encodeText(text);
      // Scored with at most the last `window` prompt tokens as context (a long agent conversation
      // scored in full would need GBs of attention memory in this test process).
      const ctx = promptIds.slice(-(opts.window ?? 1024));
      const lps = ids.length ? await engine.logprobsOf(ctx, ids, 1) : [];
      const withIds = opts.idsMode && b.return_tokens_as_token_ids;
      const choice: Record<string, unknown> = {
        index: 0,
        message: { role: 'assistant', content: text, reasoning_content: null, tool_calls: [] },
        logprobs: b.logprobs
          ? {
              content: ids.map((id, i) => {
                const tok = withIds ? `token_id:${id}` : engine.decode([id]);
                return { token: tok, logprob: lps[i], bytes: [...Buffer.from(engine.decode([id]))], top_logprobs: [] };
              }),
            }
          : null,
        finish_reason: 'stop',
        stop_reason: stopReason,
      };
      const out: Record<string, unknown> = {
        id: `chatcmpl-${chats.length}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: b.model,
        choices: [choice],
        usage: { prompt_tokens: promptIds.length, total_tokens: promptIds.length + ids.length, completion_tokens: ids.length },
        prompt_logprobs: null,
      };
      if (opts.idsMode && b.return_token_ids) {
        out.prompt_token_ids = promptIds;
        choice.token_ids = ids;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(out));
      return;
    }
    error(res, 404, 'NotFoundError', 'Not Found');
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, Buffer.concat(chunks).toString('utf8'), res).catch((err: Error) => error(res, 500, 'InternalServerError', err.message));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    base: `http://127.0.0.1:${port}/v1`,
    chats,
    loads,
    adapters,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await engine.dispose();
    },
  };
}
