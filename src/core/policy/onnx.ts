/**
 * The `onnx` policy: a local decoder-only model run in-process with
 * onnxruntime-node, through transformers.js (`@huggingface/transformers`).
 *
 * transformers.js provides the model folder / Hugging Face hub resolution
 * (download + cache for ids, `local_files_only` for folders), the tokenizer,
 * the chat template and the ONNX session (created on the single
 * onnxruntime-node that the project depends on: transformers.js 4.3.1 pins
 * onnxruntime-node 1.30.0, which npm dedupes to our top-level install, so
 * only one native binary is ever loaded). The sampling loop is ours, over
 * `model.forward()` with the KV cache, because the library's `generate()`
 * does not expose per-token log-probabilities of the sampled tokens.
 *
 * Model folder layout (what `python3 -m ssr_runtime.export_onnx` writes, and
 * what Hugging Face Optimum / onnx-community repos hold): config.json,
 * generation_config.json, tokenizer.json, tokenizer_config.json (with a
 * chat_template) and onnx/model{,_fp16,_quantized,_q4,...}.onnx, a decoder
 * with inputs input_ids / attention_mask / position_ids /
 * past_key_values.{i}.key|value and outputs logits / present.{i}.key|value.
 *
 * Returned per turn:
 *   text          the decoded completion (special tokens skipped), cut before
 *                 the first stop string (OpenAI semantics) unless
 *                 `includeStopInText` is set; `stopSequence` names the stop
 *                 string that ended it.
 *   tokenIds      every sampled token, including the tokens that spelled the
 *                 stop string and a final EOS token when one was sampled.
 *   logprobs      log_softmax(logits / T)[token] over the full vocabulary,
 *                 before top-p truncation (T = 1 when greedy); see sampling.ts.
 *   promptTokenIds the chat-templated prompt (add_generation_prompt: true),
 *                 tokenized without extra special tokens.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomInt } from 'node:crypto';
import type { ChatMessage, PolicyInfo } from '../base/trajectory';
import { CancelledError } from '../base/errors';
import { PolicyError, type Policy, type PolicyRequest, type PolicyResponse } from './types';
import { createRng, findStop, halfToFloat32, logprobAt, sampleToken, streamableLength, type Rng } from './sampling';

type TransformersModule = typeof import('@huggingface/transformers', { with: { 'resolution-mode': 'import' } });
type Tensor = import('@huggingface/transformers', { with: { 'resolution-mode': 'import' } }).Tensor;

import { DEFAULT_ONNX_MODEL } from './defaults';

export { DEFAULT_ONNX_MODEL };

export type OnnxDevice = 'cpu' | 'cuda';
export type OnnxDtype = 'fp32' | 'fp16' | 'q8' | 'int8' | 'uint8' | 'q4' | 'q4f16' | 'bnb4';

export interface OnnxPolicyOptions {
  /** Local model folder, or a Hugging Face model id downloaded and cached by transformers.js. */
  model?: string;
  /** Execution provider: 'cpu' (default) or 'cuda' (needs onnxruntime-node's CUDA EP binaries). */
  device?: OnnxDevice;
  /**
   * Which ONNX weights to load (onnx/model.onnx is fp32, model_quantized.onnx q8, ...).
   * Default: for a folder, the first present of fp32, q8, fp16, q4, q4f16, int8, uint8, bnb4;
   * for a hub id, q8 on CPU and fp16 on CUDA.
   */
  dtype?: OnnxDtype;
  /** Where hub downloads are cached (transformers.js `cache_dir`). */
  cacheDir?: string;
  /** Allow downloads for hub ids (default true). Local folders never touch the network. */
  allowRemote?: boolean;
  revision?: string;
  temperature?: number; // default 1.0
  topP?: number; // default 0.95
  maxTokens?: number; // default 1024
  stop?: string[];
  /** Seed of the sampling RNG; the same seed and the same calls give the same tokens. Random when absent. */
  seed?: number;
  /** Keep the text of the stop string at the end of `text` (default false: cut before it, like OpenAI). */
  includeStopInText?: boolean;
  /** Use the KV cache (default true). false recomputes the whole sequence per token (slow; for checks). */
  kvCache?: boolean;
  /** Prompt tokens per forward pass when filling the KV cache (default 512): bounds a turn's peak memory. */
  prefillChunk?: number;
  /** onnxruntime's CPU memory arena (default off: memory a long prompt needed is returned after the turn). */
  memArena?: boolean;
  /** onnxruntime intra-op threads (default: onnxruntime's choice). */
  threads?: number;
}

export interface OnnxPolicyResponse extends PolicyResponse {
  /** The stop string that ended the turn, when one did. */
  stopSequence?: string;
}

let transformersPromise: Promise<TransformersModule> | undefined;

/** Loads transformers.js lazily: importing the policy module stays cheap. */
export function loadTransformers(): Promise<TransformersModule> {
  transformersPromise ??= import('@huggingface/transformers');
  return transformersPromise;
}

const DTYPE_FILES: Array<[OnnxDtype, string]> = [
  ['fp32', 'model.onnx'],
  ['q8', 'model_quantized.onnx'],
  ['fp16', 'model_fp16.onnx'],
  ['q4', 'model_q4.onnx'],
  ['q4f16', 'model_q4f16.onnx'],
  ['int8', 'model_int8.onnx'],
  ['uint8', 'model_uint8.onnx'],
  ['bnb4', 'model_bnb4.onnx'],
];

function looksLikePath(s: string): boolean {
  return s.startsWith('.') || s.startsWith('/') || s.startsWith('~') || /^[A-Za-z]:[\\/]/.test(s) || s.split('/').length > 2;
}

interface ResolvedModel {
  ref: string;
  local: boolean;
}

function resolveModel(model: string): ResolvedModel {
  const expanded = model.startsWith('~/') ? path.join(process.env.HOME ?? '', model.slice(2)) : model;
  if (fs.existsSync(expanded)) {
    const abs = path.resolve(expanded);
    if (!fs.statSync(abs).isDirectory()) throw new PolicyError(`--model ${model} is a file; pass the model folder (with config.json and onnx/)`);
    if (!fs.existsSync(path.join(abs, 'config.json'))) throw new PolicyError(`model folder ${abs} has no config.json; is it a Hugging Face model folder?`);
    const onnxDir = path.join(abs, 'onnx');
    if (!fs.existsSync(onnxDir) || !DTYPE_FILES.some(([, f]) => fs.existsSync(path.join(onnxDir, f)))) {
      throw new PolicyError(
        `model folder ${abs} has no onnx/model*.onnx; export it first: ` +
          `(cd runtime && python3 -m ssr_runtime.export_onnx --model ${abs} --out ${abs})`,
      );
    }
    return { ref: abs, local: true };
  }
  if (looksLikePath(model)) throw new PolicyError(`model folder ${model} does not exist; pass a folder or a Hugging Face model id with --model`);
  return { ref: model, local: false };
}

function pickDtype(resolved: ResolvedModel, device: OnnxDevice, dtype?: OnnxDtype): OnnxDtype {
  if (dtype) {
    if (resolved.local) {
      const file = DTYPE_FILES.find(([d]) => d === dtype)?.[1];
      if (file && !fs.existsSync(path.join(resolved.ref, 'onnx', file))) {
        throw new PolicyError(`dtype ${dtype} needs ${path.join(resolved.ref, 'onnx', file)}, which does not exist`);
      }
    }
    return dtype;
  }
  if (resolved.local) {
    for (const [d, f] of DTYPE_FILES) if (fs.existsSync(path.join(resolved.ref, 'onnx', f))) return d;
  }
  return device === 'cuda' ? 'fp16' : 'q8';
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

interface Settings {
  temperature: number;
  topP: number;
  maxTokens: number;
  stop: string[];
}

/** What the library objects look like to us (kept narrow on purpose). */
interface TokenizerLike {
  apply_chat_template(conversation: unknown[], options: Record<string, unknown>): unknown;
  encode(text: string, options?: { add_special_tokens?: boolean }): number[];
  decode(ids: number[], options?: { skip_special_tokens?: boolean; clean_up_tokenization_spaces?: boolean }): string;
  eos_token_id?: number | null;
}
interface ModelLike {
  forward(inputs: Record<string, unknown>): Promise<Record<string, Tensor>>;
  dispose(): Promise<unknown>;
  config: Record<string, unknown>;
  generation_config?: Record<string, unknown> | null;
  sessions: Record<string, { inputNames: string[]; outputNames: string[] }>;
}

export class OnnxPolicy implements Policy {
  readonly info: PolicyInfo;
  private readonly opts: Required<Pick<OnnxPolicyOptions, 'temperature' | 'topP' | 'maxTokens' | 'kvCache'>> & OnnxPolicyOptions;
  private tjs!: TransformersModule;
  private tokenizer!: TokenizerLike;
  private model!: ModelLike;
  private eosIds = new Set<number>();
  private maxPositions = Infinity;
  private rng: Rng;
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;
  /** The resolved model reference (absolute folder or hub id) and dtype. */
  modelRef = '';
  dtype: OnnxDtype = 'fp32';

  private constructor(opts: OnnxPolicyOptions) {
    this.opts = {
      ...opts,
      temperature: opts.temperature ?? 1.0,
      topP: opts.topP ?? 0.95,
      maxTokens: opts.maxTokens ?? 1024,
      kvCache: opts.kvCache ?? true,
    };
    if (!(this.opts.temperature >= 0)) throw new PolicyError(`temperature must be >= 0 (got ${opts.temperature})`);
    if (!(this.opts.topP > 0 && this.opts.topP <= 1)) throw new PolicyError(`top_p must be in (0, 1] (got ${opts.topP})`);
    if (!(this.opts.maxTokens >= 1)) throw new PolicyError(`max tokens must be >= 1 (got ${opts.maxTokens})`);
    this.rng = createRng(opts.seed ?? randomInt(0, 2 ** 32));
    this.info = { kind: 'onnx', model: opts.model ?? DEFAULT_ONNX_MODEL, temperature: this.opts.temperature, topP: this.opts.topP };
  }

  /** Loads the tokenizer and the ONNX session; throws PolicyError with a fix when it cannot. */
  static async create(opts: OnnxPolicyOptions = {}): Promise<OnnxPolicy> {
    const policy = new OnnxPolicy(opts);
    await policy.load();
    return policy;
  }

  private async load(): Promise<void> {
    const modelName = this.opts.model ?? DEFAULT_ONNX_MODEL;
    const resolved = resolveModel(modelName);
    const device: OnnxDevice = this.opts.device ?? 'cpu';
    if (device !== 'cpu' && device !== 'cuda') throw new PolicyError(`unknown device ${String(device)}; use cpu or cuda`);
    this.dtype = pickDtype(resolved, device, this.opts.dtype);
    this.modelRef = resolved.ref;
    this.info.model = resolved.ref;
    this.tjs = await loadTransformers();
    const common = {
      local_files_only: resolved.local || this.opts.allowRemote === false,
      ...(this.opts.cacheDir ? { cache_dir: this.opts.cacheDir } : {}),
      ...(this.opts.revision ? { revision: this.opts.revision } : {}),
    };
    const where = resolved.local ? `model folder ${resolved.ref}` : `model ${resolved.ref}`;
    const hubHint = resolved.local
      ? ''
      : this.opts.allowRemote === false
        ? ' (downloads are disabled: it must already be in the cache; pass a local folder with --model)'
        : ' (is the Hugging Face hub reachable? HF_ENDPOINT/HF_TOKEN may help; or pass a local folder with --model)';
    // transformers.js 4.3 does not forward `local_files_only` / `cache_dir` to
    // every file lookup (get_tokenizer_files probes the hub regardless), so the
    // global switches are set too while loading, and restored afterwards.
    const env = this.tjs.env;
    const saved = { allowRemoteModels: env.allowRemoteModels, cacheDir: env.cacheDir };
    if (common.local_files_only) env.allowRemoteModels = false;
    if (this.opts.cacheDir) env.cacheDir = this.opts.cacheDir;
    try {
      await this.loadObjects(resolved, common, device, where, hubHint);
    } finally {
      env.allowRemoteModels = saved.allowRemoteModels;
      env.cacheDir = saved.cacheDir;
    }
    if (!this.model.sessions?.model) {
      await this.model.dispose().catch(() => undefined);
      throw new PolicyError(`${where} is not a decoder-only causal LM that transformers.js can run (no 'model' session)`);
    }
    const eos = this.model.generation_config?.eos_token_id ?? this.model.config.eos_token_id;
    for (const id of Array.isArray(eos) ? eos : [eos]) if (typeof id === 'number') this.eosIds.add(id);
    if (typeof this.tokenizer.eos_token_id === 'number') this.eosIds.add(this.tokenizer.eos_token_id);
    const maxPos = this.model.config.max_position_embeddings;
    if (typeof maxPos === 'number' && maxPos > 0) this.maxPositions = maxPos;
  }

  private async loadObjects(
    resolved: ResolvedModel,
    common: Record<string, unknown>,
    device: OnnxDevice,
    where: string,
    hubHint: string,
  ): Promise<void> {
    try {
      this.tokenizer = (await this.tjs.AutoTokenizer.from_pretrained(resolved.ref, common)) as unknown as TokenizerLike;
    } catch (err) {
      throw new PolicyError(`cannot load the tokenizer of ${where}: ${errText(err)}${hubHint}`);
    }
    try {
      const sessionOptions: Record<string, unknown> = { enableCpuMemArena: this.opts.memArena ?? false };
      if (this.opts.threads) sessionOptions.intraOpNumThreads = this.opts.threads;
      this.model = (await this.tjs.AutoModelForCausalLM.from_pretrained(resolved.ref, {
        ...common,
        device,
        dtype: this.dtype,
        session_options: sessionOptions,
      })) as unknown as ModelLike;
    } catch (err) {
      const msg = errText(err);
      if (device === 'cuda') {
        throw new PolicyError(
          `cannot run ${where} on CUDA: ${msg}. onnxruntime-node ships CPU binaries by default; install its CUDA 12 ` +
            `execution provider (ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node) with CUDA 12 and cuDNN 9, or use --device cpu`,
        );
      }
      throw new PolicyError(`cannot load ${where} (dtype ${this.dtype}): ${msg}${hubHint}`);
    }
  }

  /** Chat-templated prompt token ids for `messages` (add_generation_prompt: true). */
  encodeChat(messages: ChatMessage[]): number[] {
    const conversation = messages.map((m) => {
      const out: Record<string, unknown> = { role: m.role, content: m.content ?? '' };
      if (m.tool_calls) out.tool_calls = m.tool_calls;
      if (m.tool_call_id) out.tool_call_id = m.tool_call_id;
      return out;
    });
    let prompt: unknown;
    try {
      prompt = this.tokenizer.apply_chat_template(conversation, { tokenize: false, add_generation_prompt: true });
    } catch (err) {
      throw new PolicyError(`the model's chat template failed: ${errText(err)}`);
    }
    if (typeof prompt !== 'string') throw new PolicyError('the model has no usable chat_template in tokenizer_config.json');
    return this.tokenizer.encode(prompt, { add_special_tokens: false });
  }

  /** Token ids of plain text (no special tokens added). */
  encodeText(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false });
  }

  decode(ids: number[]): string {
    if (ids.length === 0) return '';
    return this.tokenizer.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false });
  }

  complete(req: PolicyRequest): Promise<OnnxPolicyResponse> {
    const run = this.queue.then(() => this.completeNow(req));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async completeNow(req: PolicyRequest): Promise<OnnxPolicyResponse> {
    if (this.disposed) throw new PolicyError('the onnx policy was disposed');
    if (req.signal?.aborted) throw new CancelledError();
    const s: Settings = {
      temperature: req.temperature ?? this.opts.temperature,
      topP: req.topP ?? this.opts.topP,
      maxTokens: req.maxTokens ?? this.opts.maxTokens,
      stop: (req.stop ?? this.opts.stop ?? []).filter((x) => x.length > 0),
    };
    if (!(s.temperature >= 0)) throw new PolicyError(`temperature must be >= 0 (got ${s.temperature})`);
    if (!(s.topP > 0 && s.topP <= 1)) throw new PolicyError(`top_p must be in (0, 1] (got ${s.topP})`);
    const promptIds = this.encodeChat(req.messages);
    if (promptIds.length === 0) throw new PolicyError('the prompt is empty: no messages to complete');
    if (promptIds.length >= this.maxPositions) {
      throw new PolicyError(`the prompt has ${promptIds.length} tokens; the model's context is ${this.maxPositions} tokens`);
    }
    const maxNew = Math.max(0, Math.min(s.maxTokens, this.maxPositions - promptIds.length));
    return this.generate(promptIds, s, maxNew, req);
  }

  private async generate(promptIds: number[], s: Settings, maxNew: number, req: PolicyRequest): Promise<OnnxPolicyResponse> {
    const tokenIds: number[] = [];
    const logprobs: number[] = [];
    const maxStop = s.stop.reduce((m, x) => Math.max(m, x.length), 0);
    let text = '';
    let emitted = 0;
    let finishReason: OnnxPolicyResponse['finishReason'] = 'length';
    let stopSequence: string | undefined;
    let past: Record<string, Tensor> | undefined;
    let input = promptIds;
    let pastLen = 0;
    // Chunked prefill: the prompt goes through in chunks of `prefillChunk` tokens on the KV cache, so
    // attention scores and logits are (chunk x context) at most, not (prompt x prompt): the peak memory
    // of a turn no longer grows with the square of the conversation's length.
    const chunk = Math.max(1, this.opts.prefillChunk ?? 512);
    if (this.opts.kvCache && input.length > chunk && maxNew > 0) {
      while (input.length > chunk) {
        const { presents } = await this.forwardAll(input.slice(0, chunk), pastLen, past);
        past = presents;
        pastLen += chunk;
        input = input.slice(chunk);
      }
    }
    for (let step = 0; step < maxNew; step++) {
      if (req.signal?.aborted) throw new CancelledError();
      const { logits, vocab, presents } = await this.forwardLast(input, pastLen, past);
      let sampled;
      try {
        sampled = sampleToken(logits, 0, vocab, { temperature: s.temperature, topP: s.topP }, this.rng);
      } catch (err) {
        throw new PolicyError(`sampling failed: ${errText(err)}`);
      }
      tokenIds.push(sampled.token);
      logprobs.push(sampled.logprob);
      if (this.eosIds.has(sampled.token)) {
        finishReason = 'stop';
        break;
      }
      const prevLen = text.length;
      text = this.decode(tokenIds.filter((t) => !this.eosIds.has(t)));
      if (maxStop > 0) {
        const hit = findStop(text, s.stop, prevLen - maxStop);
        if (hit) {
          finishReason = 'stop';
          stopSequence = hit.stop;
          text = text.slice(0, hit.index + (this.opts.includeStopInText ? hit.stop.length : 0));
          break;
        }
      }
      if (req.onToken) {
        const safe = streamableLength(text, s.stop);
        if (safe > emitted) {
          req.onToken(text.slice(emitted, safe));
          emitted = safe;
        }
      }
      if (this.opts.kvCache) {
        pastLen += input.length;
        past = presents;
        input = [sampled.token];
      } else {
        input = [...promptIds, ...tokenIds];
      }
    }
    if (finishReason === 'stop' && !stopSequence) {
      text = this.decode(tokenIds.filter((t) => !this.eosIds.has(t)));
    }
    if (req.onToken && text.length > emitted) req.onToken(text.slice(emitted));
    const out: OnnxPolicyResponse = {
      text,
      tokenIds,
      logprobs,
      // log_softmax(logits / T) of the sampled distribution (T = 0, greedy, is taken as 1): the trainer scores at the same T.
      logprobTemperature: s.temperature > 0 ? s.temperature : 1,
      promptTokenIds: promptIds,
      usage: { promptTokens: promptIds.length, completionTokens: tokenIds.length },
      finishReason,
    };
    if (stopSequence !== undefined) out.stopSequence = stopSequence;
    return out;
  }

  private int64(values: number[], dims: number[]): Tensor {
    return new this.tjs.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims);
  }

  /** One forward pass; returns the float logits of every input position. */
  private async forwardAll(
    input: number[],
    pastLen: number,
    past: Record<string, Tensor> | undefined,
  ): Promise<{ logits: Float32Array; vocab: number; presents: Record<string, Tensor> }> {
    const n = input.length;
    const feeds: Record<string, unknown> = {
      input_ids: this.int64(input, [1, n]),
      attention_mask: this.int64(new Array<number>(pastLen + n).fill(1), [1, pastLen + n]),
      position_ids: this.int64(
        Array.from({ length: n }, (_, i) => pastLen + i),
        [1, n],
      ),
    };
    if (past) feeds.past_key_values = past;
    let out: Record<string, Tensor>;
    try {
      out = await this.model.forward(feeds);
    } catch (err) {
      throw new PolicyError(`onnxruntime failed: ${errText(err)}`);
    }
    const lt = out.logits;
    if (!lt || lt.dims.length !== 3) throw new PolicyError('the ONNX model has no logits output of shape [batch, sequence, vocab]');
    const vocab = lt.dims[2];
    const raw = lt.data as unknown;
    let logits: Float32Array;
    if (raw instanceof Float32Array) logits = raw;
    else if (raw instanceof Uint16Array && lt.type === 'float16') logits = halfToFloat32(raw);
    else if (ArrayBuffer.isView(raw)) logits = Float32Array.from(raw as unknown as ArrayLike<number>);
    else throw new PolicyError(`unexpected logits type ${lt.type}`);
    const presents: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(out)) {
      if (name.startsWith('present')) presents[name.replace(/^present/, 'past_key_values')] = t;
    }
    return { logits, vocab, presents };
  }

  private async forwardLast(input: number[], pastLen: number, past: Record<string, Tensor> | undefined) {
    const { logits, vocab, presents } = await this.forwardAll(input, pastLen, past);
    const rows = logits.length / vocab;
    return { logits: logits.subarray((rows - 1) * vocab, rows * vocab), vocab, presents };
  }

  /**
   * Recomputes, without KV cache, log_softmax(logits / temperature) of each
   * completion token given prompt + preceding completion tokens: the quantity
   * `logprobs` holds (temperature 0 is taken as 1). For checks and tests.
   */
  async logprobsOf(promptIds: number[], completionIds: number[], temperature = this.opts.temperature): Promise<number[]> {
    const run = this.queue.then(async () => {
      if (completionIds.length === 0) return [];
      const all = [...promptIds, ...completionIds];
      const { logits, vocab } = await this.forwardAll(all, 0, undefined);
      return completionIds.map((tok, j) => logprobAt(logits, (promptIds.length - 1 + j) * vocab, vocab, tok, temperature));
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.queue;
    await this.model?.dispose().catch(() => undefined);
  }
}
