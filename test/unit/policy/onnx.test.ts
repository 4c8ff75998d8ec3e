import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { OnnxPolicy } from '../../../src/core/policy/onnx';
import { createPolicy } from '../../../src/core/policy';
import { PolicyError } from '../../../src/core/policy/types';
import { CancelledError } from '../../../src/core/base/errors';
import type { ChatMessage } from '../../../src/core/base/trajectory';
import { ensureTinyModel, runPython } from './tinyModel';

const MESSAGES: ChatMessage[] = [
  { role: 'system', content: 'You are a helpful software engineer.' },
  { role: 'user', content: 'Run the tests.' },
];
/** A prompt the tiny model has not memorised: sampling there has real entropy. */
const OPEN_MESSAGES: ChatMessage[] = [{ role: 'user', content: 'Tell me something about stacks and queues, please.' }];

interface Cfg {
  num_hidden_layers: number;
  num_key_value_heads: number;
  head_dim: number;
  vocab_size: number;
}

function logSoftmaxAt(row: Float32Array, token: number, temperature: number): number {
  const inv = temperature > 0 ? 1 / temperature : 1;
  let max = -Infinity;
  for (const x of row) max = Math.max(max, x * inv);
  let sum = 0;
  for (const x of row) sum += Math.exp(x * inv - max);
  return row[token] * inv - max - Math.log(sum);
}

describe('onnx policy (tiny Llama through transformers.js + onnxruntime-node)', function () {
  this.timeout(120_000);
  let dir: string;
  let cfg: Cfg;
  let session: ort.InferenceSession;

  before(function () {
    this.timeout(180_000);
    const built = ensureTinyModel();
    if (!built.dir) {
      console.warn(`skipping onnx policy tests: ${built.reason}`);
      this.skip();
    }
    dir = built.dir!;
    cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Cfg;
  });

  before(async function () {
    if (!dir) this.skip();
    session = await ort.InferenceSession.create(path.join(dir, 'onnx', 'model.onnx'));
  });

  after(async () => {
    await session?.release();
  });

  /** Raw onnxruntime-node run (independent of the policy's code path). */
  async function run(
    rows: number[][],
    opts: { pastLen?: number; past?: ort.InferenceSession.OnnxValueMapType; mask?: number[][]; pos?: number[][] } = {},
  ) {
    const b = rows.length;
    const n = rows[0].length;
    const pastLen = opts.pastLen ?? 0;
    const mask = opts.mask ?? rows.map(() => new Array(pastLen + n).fill(1));
    const pos = opts.pos ?? rows.map(() => Array.from({ length: n }, (_, i) => pastLen + i));
    const i64 = (m: number[][]) => new ort.Tensor('int64', BigInt64Array.from(m.flat().map(BigInt)), [m.length, m[0].length]);
    const feeds: Record<string, ort.Tensor> = { input_ids: i64(rows), attention_mask: i64(mask), position_ids: i64(pos) };
    for (let l = 0; l < cfg.num_hidden_layers; l++) {
      for (const kv of ['key', 'value']) {
        feeds[`past_key_values.${l}.${kv}`] = opts.past
          ? (opts.past[`present.${l}.${kv}`] as ort.Tensor)
          : new ort.Tensor('float32', new Float32Array(0), [b, cfg.num_key_value_heads, 0, cfg.head_dim]);
      }
    }
    return session.run(feeds);
  }

  describe('export', () => {
    it('has the Optimum decoder-with-past inputs and outputs', () => {
      const inputs = ['input_ids', 'attention_mask', 'position_ids'];
      const outputs = ['logits'];
      for (let l = 0; l < cfg.num_hidden_layers; l++) {
        inputs.push(`past_key_values.${l}.key`, `past_key_values.${l}.value`);
        outputs.push(`present.${l}.key`, `present.${l}.value`);
      }
      assert.deepEqual([...session.inputNames], inputs);
      assert.deepEqual([...session.outputNames], outputs);
      for (const f of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'pytorch_model.bin']) {
        assert.ok(fs.existsSync(path.join(dir, f)), f);
      }
      const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
      assert.equal(config.model_type, 'llama');
      assert.deepEqual(config.architectures, ['LlamaForCausalLM']);
      const tc = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
      assert.match(tc.chat_template, /<\|im_start\|>/);
      assert.equal(tc.eos_token, '<|im_end|>');
    });

    it('ONNX logits match PyTorch, with and without the KV cache, and with left padding', async () => {
      const ids = [510, 300, 301, 302, 40, 41, 100, 200, 33, 7, 120, 121];
      const ref = (JSON.parse(runPython(['-m', 'ssr_runtime.tiny_model', 'logits', '--model', dir, '--ids', ids.join(',')])) as {
        logits: number[][];
      }).logits;
      const V = cfg.vocab_size;
      const maxDiff = (data: Float32Array, rowOffset: number, count: number, refStart: number) => {
        let d = 0;
        for (let t = 0; t < count; t++) for (let v = 0; v < V; v++) d = Math.max(d, Math.abs(data[(rowOffset + t) * V + v] - ref[refStart + t][v]));
        return d;
      };
      const full = await run([ids]);
      assert.deepEqual(full.logits.dims, [1, ids.length, V]);
      assert.ok(maxDiff(full.logits.data as Float32Array, 0, ids.length, 0) < 1e-4, 'full forward');

      // Chunks 5 + 1 + rest through the KV cache.
      let past: ort.InferenceSession.OnnxValueMapType | undefined;
      let pos = 0;
      for (const chunk of [ids.slice(0, 5), ids.slice(5, 6), ids.slice(6)]) {
        const out = await run([chunk], { pastLen: pos, past });
        assert.deepEqual(out['present.0.key'].dims, [1, cfg.num_key_value_heads, pos + chunk.length, cfg.head_dim]);
        assert.ok(maxDiff(out.logits.data as Float32Array, 0, chunk.length, pos) < 1e-4, `kv chunk at ${pos}`);
        past = out;
        pos += chunk.length;
      }

      // Batch of 2: row 1 left-padded by 3; its real positions must match the unpadded run.
      const pad = 3;
      const short = ids.slice(0, ids.length - pad);
      const rows = [ids, [509, 509, 509, ...short]];
      const mask = [ids.map(() => 1), [0, 0, 0, ...short.map(() => 1)]];
      const posIds = [ids.map((_, i) => i), [0, 0, 0, ...short.map((_, i) => i)]];
      const batch = await run(rows, { mask, pos: posIds });
      const data = batch.logits.data as Float32Array;
      assert.ok(maxDiff(data, 0, ids.length, 0) < 1e-4, 'row 0');
      assert.ok(maxDiff(data, ids.length + pad, short.length, 0) < 1e-4, 'row 1 (padded)');
    });

    it('the transformers.js tokenizer agrees with the Python tokenizer on any text', async () => {
      const texts = [
        'def add(a, b):\n    return a + b  <|im_end|> héllo 😀\t\r\n  x',
        'Hello   world!!\n\n\tfoo123456 bar',
        '<tool: bash>\nls -la\n</tool>',
        '   ',
        'é\u00a0x\u2003y 日本語 \u0000\u001f',
        '<|im_start|>user\nhi<|im_end|>\n',
      ];
      const py = JSON.parse(runPython(['-m', 'ssr_runtime.tiny_model', 'encode', '--model', dir], JSON.stringify(texts))) as number[][];
      const policy = await OnnxPolicy.create({ model: dir, seed: 1 });
      try {
        const tok = (policy as unknown as { tokenizer: { encode(t: string, o: object): number[] } }).tokenizer;
        for (let i = 0; i < texts.length; i++) {
          assert.deepEqual(tok.encode(texts[i], { add_special_tokens: false }), py[i], JSON.stringify(texts[i]));
        }
        assert.equal(policy.decode(py[0]), texts[0].replace('<|im_end|>', ''));
      } finally {
        await policy.dispose();
      }
    });

    it('Python save_model/load_model round-trips and the model trains (labels -> loss)', () => {
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-tiny-save-'));
      try {
        const script = `
import json, sys, torch
from ssr_runtime.tiny_model import load_model, save_model
m, tok = load_model(sys.argv[1])
ids = torch.tensor([tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=True)])
with torch.no_grad():
    a = m(ids).logits
save_model(m, tok, sys.argv[2])
m2, tok2 = load_model(sys.argv[2])
with torch.no_grad():
    b = m2(ids).logits
save_model(m2, tok2, sys.argv[2], weights_format="safetensors")
m3, _ = load_model(sys.argv[2])
with torch.no_grad():
    c = m3(ids).logits
m2.train()
out = m2(ids, labels=ids)
out.loss.backward()
g = sum(float(p.grad.abs().sum()) for p in m2.parameters() if p.grad is not None)
print(json.dumps({"diff": float((a - b).abs().max()), "diff_st": float((a - c).abs().max()), "loss": float(out.loss), "grad": g,
                  "eos": tok2.eos_token_id, "pad": tok2.pad_token_id, "same_vocab": tok.vocab == tok2.vocab}))
`;
        const r = JSON.parse(runPython(['-c', script, dir, tmp]));
        assert.equal(r.diff, 0);
        assert.equal(r.diff_st, 0);
        assert.ok(Number.isFinite(r.loss) && r.loss > 0);
        assert.ok(r.grad > 0);
        assert.equal(r.same_vocab, true);
        assert.equal(typeof r.eos, 'number');
        assert.equal(typeof r.pad, 'number');
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    });
  });

  describe('generation', () => {
    let policy: OnnxPolicy;
    before(async () => {
      policy = await OnnxPolicy.create({ model: dir, seed: 7 });
    });
    after(async () => {
      await policy?.dispose();
    });

    it('really generates tokens through onnxruntime-node', async () => {
      const r = await policy.complete({ messages: MESSAGES, maxTokens: 40 });
      assert.ok(r.tokenIds && r.tokenIds.length > 0);
      assert.equal(r.logprobs?.length, r.tokenIds.length);
      assert.ok(r.logprobs!.every((x) => Number.isFinite(x) && x <= 0));
      assert.deepEqual(r.promptTokenIds, policy.encodeChat(MESSAGES));
      assert.deepEqual(r.usage, { promptTokens: r.promptTokenIds!.length, completionTokens: r.tokenIds.length });
      assert.ok(['stop', 'length'].includes(r.finishReason!));
      assert.ok(r.text.length > 0);
      assert.equal(policy.info.kind, 'onnx');
      assert.equal(policy.info.model, dir);
      assert.equal(policy.info.temperature, 1);
      assert.equal(policy.info.topP, 0.95);
    });

    it('stops at a stop string (text cut before it; tokens keep it) and streams without it', async () => {
      // The tiny model was warmed up on agent turns: it writes `<tool: bash>...</tool>`.
      let streamed = '';
      const r = await policy.complete({ messages: MESSAGES, temperature: 0, maxTokens: 60, stop: ['</tool>'], onToken: (t) => (streamed += t) });
      assert.equal(r.finishReason, 'stop');
      assert.equal(r.stopSequence, '</tool>');
      assert.ok(r.text.startsWith('<tool: bash>'), r.text);
      assert.ok(!r.text.includes('</tool>'));
      assert.equal(streamed, r.text);
      assert.ok(policy.decode(r.tokenIds!).includes('</tool>'));

      const inc = await OnnxPolicy.create({ model: dir, seed: 7, includeStopInText: true });
      try {
        const r2 = await inc.complete({ messages: MESSAGES, temperature: 0, maxTokens: 60, stop: ['</tool>'] });
        assert.equal(r2.text, `${r.text}</tool>`);
      } finally {
        await inc.dispose();
      }
    });

    it('stop strings cut sampled text exactly where they first occur', async () => {
      const a = await OnnxPolicy.create({ model: dir, seed: 11 });
      const b = await OnnxPolicy.create({ model: dir, seed: 11 });
      try {
        const free = await a.complete({ messages: OPEN_MESSAGES, temperature: 1.5, maxTokens: 40 });
        assert.ok(free.text.length >= 8, `need some text, got ${JSON.stringify(free.text)}`);
        const stop = free.text.slice(5, 8);
        const idx = free.text.indexOf(stop);
        const r = await b.complete({ messages: OPEN_MESSAGES, temperature: 1.5, maxTokens: 40, stop: ['never-there', stop] });
        assert.equal(r.finishReason, 'stop');
        assert.equal(r.stopSequence, stop);
        assert.equal(r.text, free.text.slice(0, idx));
        assert.deepEqual(r.tokenIds, free.tokenIds!.slice(0, r.tokenIds!.length));
      } finally {
        await a.dispose();
        await b.dispose();
      }
    });

    it('sampling with a seed is reproducible; another seed differs', async () => {
      const gen = async (seed: number) => {
        const p = await OnnxPolicy.create({ model: dir, seed });
        try {
          const out = [];
          for (let i = 0; i < 2; i++) out.push(await p.complete({ messages: OPEN_MESSAGES, temperature: 1.2, maxTokens: 24 }));
          return out;
        } finally {
          await p.dispose();
        }
      };
      const [a, b, c] = [await gen(123), await gen(123), await gen(124)];
      assert.deepEqual(a.map((r) => r.tokenIds), b.map((r) => r.tokenIds));
      assert.deepEqual(a.map((r) => r.logprobs), b.map((r) => r.logprobs));
      assert.notDeepEqual(a.map((r) => r.tokenIds), c.map((r) => r.tokenIds));
      // Successive calls advance the RNG.
      assert.notDeepEqual(a[0].tokenIds, a[1].tokenIds);
    });

    it('logprobs equal log_softmax(logits / T) recomputed without cache, before top-p', async () => {
      for (const [temperature, topP] of [
        [0.7, 0.9],
        [1.0, 0.95],
        [1.3, 1.0],
      ] as const) {
        const r = await policy.complete({ messages: OPEN_MESSAGES, temperature, topP, maxTokens: 30 });
        const prompt = r.promptTokenIds!;
        const all = [...prompt, ...r.tokenIds!];
        const out = await run([all]);
        const V = cfg.vocab_size;
        const data = out.logits.data as Float32Array;
        let worst = 0;
        r.tokenIds!.forEach((tok, j) => {
          const row = data.subarray((prompt.length - 1 + j) * V, (prompt.length + j) * V);
          worst = Math.max(worst, Math.abs(logSoftmaxAt(row, tok, temperature) - r.logprobs![j]));
        });
        assert.ok(worst < 1e-3, `T=${temperature} top_p=${topP}: max |diff| ${worst}`);
        const again = await policy.logprobsOf(prompt, r.tokenIds!, temperature);
        again.forEach((x, j) => assert.ok(Math.abs(x - r.logprobs![j]) < 1e-3));
      }
    });

    it('the KV-cache path and a full recompute give the same greedy tokens', async () => {
      const noCache = await OnnxPolicy.create({ model: dir, kvCache: false });
      try {
        for (const messages of [MESSAGES, OPEN_MESSAGES]) {
          const a = await policy.complete({ messages, temperature: 0, maxTokens: 30 });
          const b = await noCache.complete({ messages, temperature: 0, maxTokens: 30 });
          assert.deepEqual(a.tokenIds, b.tokenIds);
          a.logprobs!.forEach((x, i) => assert.ok(Math.abs(x - b.logprobs![i]) < 1e-4));
        }
      } finally {
        await noCache.dispose();
      }
    });

    it('chunked prefill (prompt longer than a chunk) gives the same tokens and log-probs as a full recompute', async () => {
      const chunked = await OnnxPolicy.create({ model: dir, prefillChunk: 7 });
      const noCache = await OnnxPolicy.create({ model: dir, kvCache: false });
      try {
        const long = [...MESSAGES, { role: 'user' as const, content: 'More context: ' + 'the ledger balances. '.repeat(12) }];
        assert.ok(chunked.encodeChat(long).length > 7 * 5);
        const a = await chunked.complete({ messages: long, temperature: 0, maxTokens: 20 });
        const b = await noCache.complete({ messages: long, temperature: 0, maxTokens: 20 });
        assert.deepEqual(a.tokenIds, b.tokenIds);
        a.logprobs!.forEach((x, i) => assert.ok(Math.abs(x - b.logprobs![i]) < 1e-4));
      } finally {
        await chunked.dispose();
        await noCache.dispose();
      }
    });

    it('a tiny top_p is greedy; max tokens ends with finishReason length', async () => {
      const greedy = await policy.complete({ messages: OPEN_MESSAGES, temperature: 0, maxTokens: 12 });
      const nucleus = await policy.complete({ messages: OPEN_MESSAGES, temperature: 1.0, topP: 1e-9, maxTokens: 12 });
      assert.deepEqual(nucleus.tokenIds, greedy.tokenIds);
      const short = await policy.complete({ messages: OPEN_MESSAGES, temperature: 1.5, maxTokens: 3 });
      if (short.finishReason === 'length') assert.equal(short.tokenIds!.length, 3);
      else assert.ok(short.tokenIds!.length <= 3);
    });

    it('cancellation and bad input give clear errors', async () => {
      const ctrl = new AbortController();
      ctrl.abort();
      await assert.rejects(policy.complete({ messages: MESSAGES, signal: ctrl.signal }), CancelledError);
      const ctrl2 = new AbortController();
      let n = 0;
      await assert.rejects(
        policy.complete({
          messages: OPEN_MESSAGES,
          temperature: 1.5,
          maxTokens: 200,
          onToken: () => {
            if (++n === 2) ctrl2.abort();
          },
          signal: ctrl2.signal,
        }),
        CancelledError,
      );
      await assert.rejects(policy.complete({ messages: MESSAGES, topP: 0 }), PolicyError);
      await assert.rejects(OnnxPolicy.create({ model: path.join(os.tmpdir(), 'definitely-missing-model-dir') }), /does not exist/);
      const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-empty-model-'));
      try {
        fs.writeFileSync(path.join(empty, 'config.json'), '{"model_type":"llama"}');
        await assert.rejects(OnnxPolicy.create({ model: empty }), /no onnx\/model\*\.onnx; export it first/);
      } finally {
        fs.rmSync(empty, { recursive: true, force: true });
      }
    });

    it('createPolicy builds it from a spec', async () => {
      const p = await createPolicy({ kind: 'onnx', model: dir, seed: 3, temperature: 0.5, topP: 0.9 });
      try {
        assert.deepEqual(p.info, { kind: 'onnx', model: dir, temperature: 0.5, topP: 0.9 });
        const r = await p.complete({ messages: MESSAGES, maxTokens: 5 });
        assert.ok(r.tokenIds!.length > 0);
      } finally {
        await p.dispose?.();
      }
    });
  });
});
