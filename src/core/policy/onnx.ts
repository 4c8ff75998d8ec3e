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
import { randomInt } from 'node:crypto';
import type { ChatMessage, PolicyInfo } from '../base/trajectory';
import { CancelledError } from '../base/errors';
import { PolicyError, type Policy, type PolicyRequest, type PolicyResponse } from './types';
import { createRng, findStop, logprobAt, sampleToken, streamableLength, type Rng } from './sampling';
import { errText, loadModel, type ModelLike, type OnnxDevice, type OnnxDtype, type TokenizerLike, type TransformersModule } from './onnxModel';
import { forwardAll, forwardLast, type KvCache } from './onnxForward';
import { DEFAULT_ONNX_MODEL } from './defaults';

export { DEFAULT_ONNX_MODEL };
export { loadTransformers, type OnnxDevice, type OnnxDtype } from './onnxModel';

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

interface Settings {
  temperature: number;
  topP: number;
  maxTokens: number;
  stop: string[];
}

/** A turn being sampled: what has been sampled, decoded and streamed so far. */
interface Decoding {
  tokenIds: number[];
  logprobs: number[];
  text: string;
  /** Characters of `text` already passed to onToken. */
  emitted: number;
  finishReason: OnnxPolicyResponse['finishReason'];
  stopSequence?: string;
}

/** Where the next forward pass starts: its input tokens on `pastLen` cached positions. */
interface Cursor {
  input: number[];
  pastLen: number;
  past: KvCache | undefined;
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
    const m = await loadModel(this.opts);
    this.tjs = m.tjs;
    this.tokenizer = m.tokenizer;
    this.model = m.model;
    this.eosIds = m.eosIds;
    this.maxPositions = m.maxPositions;
    this.modelRef = m.ref;
    this.dtype = m.dtype;
    this.info.model = m.ref;
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
    const d: Decoding = { tokenIds: [], logprobs: [], text: '', emitted: 0, finishReason: 'length' };
    const maxStop = s.stop.reduce((m, x) => Math.max(m, x.length), 0);
    let at = await this.prefill(promptIds, maxNew);
    for (let step = 0; step < maxNew; step++) {
      if (req.signal?.aborted) throw new CancelledError();
      const { logits, vocab, presents } = await forwardLast(this.tjs, this.model, at.input, at.pastLen, at.past);
      let sampled;
      try {
        sampled = sampleToken(logits, 0, vocab, { temperature: s.temperature, topP: s.topP }, this.rng);
      } catch (err) {
        throw new PolicyError(`sampling failed: ${errText(err)}`);
      }
      d.tokenIds.push(sampled.token);
      d.logprobs.push(sampled.logprob);
      if (this.eosIds.has(sampled.token)) {
        d.finishReason = 'stop';
        break;
      }
      if (this.extendText(d, s.stop, maxStop, req)) break;
      at = this.opts.kvCache
        ? { input: [sampled.token], pastLen: at.pastLen + at.input.length, past: presents }
        : { ...at, input: [...promptIds, ...d.tokenIds] };
    }
    return this.response(d, promptIds, s, req);
  }

  /**
   * Chunked prefill: the prompt goes through in chunks of `prefillChunk` tokens on the KV cache, so
   * attention scores and logits are (chunk x context) at most, not (prompt x prompt): the peak memory
   * of a turn no longer grows with the square of the conversation's length. Returns what is left for
   * the first sampling pass.
   */
  private async prefill(promptIds: number[], maxNew: number): Promise<Cursor> {
    const at: Cursor = { input: promptIds, pastLen: 0, past: undefined };
    const chunk = Math.max(1, this.opts.prefillChunk ?? 512);
    if (!this.opts.kvCache || at.input.length <= chunk || maxNew <= 0) return at;
    while (at.input.length > chunk) {
      const { presents } = await forwardAll(this.tjs, this.model, at.input.slice(0, chunk), at.pastLen, at.past);
      at.past = presents;
      at.pastLen += chunk;
      at.input = at.input.slice(chunk);
    }
    return at;
  }

  /** Decodes the sampled tokens; true when a stop string ended the turn. Streams what can no longer turn into a stop string. */
  private extendText(d: Decoding, stop: string[], maxStop: number, req: PolicyRequest): boolean {
    const prevLen = d.text.length;
    d.text = this.decode(d.tokenIds.filter((t) => !this.eosIds.has(t)));
    if (maxStop > 0) {
      const hit = findStop(d.text, stop, prevLen - maxStop);
      if (hit) {
        d.finishReason = 'stop';
        d.stopSequence = hit.stop;
        d.text = d.text.slice(0, hit.index + (this.opts.includeStopInText ? hit.stop.length : 0));
        return true;
      }
    }
    if (req.onToken) {
      const safe = streamableLength(d.text, stop);
      if (safe > d.emitted) {
        req.onToken(d.text.slice(d.emitted, safe));
        d.emitted = safe;
      }
    }
    return false;
  }

  private response(d: Decoding, promptIds: number[], s: Settings, req: PolicyRequest): OnnxPolicyResponse {
    let text = d.text;
    if (d.finishReason === 'stop' && !d.stopSequence) {
      text = this.decode(d.tokenIds.filter((t) => !this.eosIds.has(t)));
    }
    if (req.onToken && text.length > d.emitted) req.onToken(text.slice(d.emitted));
    const out: OnnxPolicyResponse = {
      text,
      tokenIds: d.tokenIds,
      logprobs: d.logprobs,
      // log_softmax(logits / T) of the sampled distribution (T = 0, greedy, is taken as 1): the trainer scores at the same T.
      logprobTemperature: s.temperature > 0 ? s.temperature : 1,
      promptTokenIds: promptIds,
      usage: { promptTokens: promptIds.length, completionTokens: d.tokenIds.length },
      finishReason: d.finishReason,
    };
    if (d.stopSequence !== undefined) out.stopSequence = d.stopSequence;
    return out;
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
      const { logits, vocab } = await forwardAll(this.tjs, this.model, all, 0, undefined);
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
