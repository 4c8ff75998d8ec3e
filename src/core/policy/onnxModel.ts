/**
 * The `onnx` policy's model: finding the model folder (or hub id) and its
 * ONNX weights, loading transformers.js lazily, and the tokenizer, the ONNX
 * session, the model's EOS ids and its context length through it, with
 * errors that say how to fix what is missing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PolicyError } from './types';
import { DEFAULT_ONNX_MODEL } from './defaults';

export type TransformersModule = typeof import('@huggingface/transformers', { with: { 'resolution-mode': 'import' } });
export type Tensor = import('@huggingface/transformers', { with: { 'resolution-mode': 'import' } }).Tensor;

export type OnnxDevice = 'cpu' | 'cuda';
export type OnnxDtype = 'fp32' | 'fp16' | 'q8' | 'int8' | 'uint8' | 'q4' | 'q4f16' | 'bnb4';

/** The options of the `onnx` policy that say which model to load and how (OnnxPolicyOptions documents them). */
export interface ModelLoadOptions {
  model?: string;
  device?: OnnxDevice;
  dtype?: OnnxDtype;
  cacheDir?: string;
  allowRemote?: boolean;
  revision?: string;
  memArena?: boolean;
  threads?: number;
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

export function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What the library objects look like to us (kept narrow on purpose). */
export interface TokenizerLike {
  apply_chat_template(conversation: unknown[], options: Record<string, unknown>): unknown;
  encode(text: string, options?: { add_special_tokens?: boolean }): number[];
  decode(ids: number[], options?: { skip_special_tokens?: boolean; clean_up_tokenization_spaces?: boolean }): string;
  eos_token_id?: number | null;
}
export interface ModelLike {
  forward(inputs: Record<string, unknown>): Promise<Record<string, Tensor>>;
  dispose(): Promise<unknown>;
  config: Record<string, unknown>;
  generation_config?: Record<string, unknown> | null;
  sessions: Record<string, { inputNames: string[]; outputNames: string[] }>;
}

/** What load() gives the policy. */
export interface LoadedModel {
  tjs: TransformersModule;
  tokenizer: TokenizerLike;
  model: ModelLike;
  /** The resolved model reference (absolute folder or hub id) and dtype. */
  ref: string;
  dtype: OnnxDtype;
  eosIds: Set<number>;
  maxPositions: number;
}

/** Loads the tokenizer and the ONNX session; throws PolicyError with a fix when it cannot. */
export async function loadModel(opts: ModelLoadOptions): Promise<LoadedModel> {
  const modelName = opts.model ?? DEFAULT_ONNX_MODEL;
  const resolved = resolveModel(modelName);
  const device: OnnxDevice = opts.device ?? 'cpu';
  if (device !== 'cpu' && device !== 'cuda') throw new PolicyError(`unknown device ${String(device)}; use cpu or cuda`);
  const dtype = pickDtype(resolved, device, opts.dtype);
  const tjs = await loadTransformers();
  const common = {
    local_files_only: resolved.local || opts.allowRemote === false,
    ...(opts.cacheDir ? { cache_dir: opts.cacheDir } : {}),
    ...(opts.revision ? { revision: opts.revision } : {}),
  };
  const where = resolved.local ? `model folder ${resolved.ref}` : `model ${resolved.ref}`;
  const hubHint = resolved.local
    ? ''
    : opts.allowRemote === false
      ? ' (downloads are disabled: it must already be in the cache; pass a local folder with --model)'
      : ' (is the Hugging Face hub reachable? HF_ENDPOINT/HF_TOKEN may help; or pass a local folder with --model)';
  // transformers.js 4.3 does not forward `local_files_only` / `cache_dir` to
  // every file lookup (get_tokenizer_files probes the hub regardless), so the
  // global switches are set too while loading, and restored afterwards.
  const env = tjs.env;
  const saved = { allowRemoteModels: env.allowRemoteModels, cacheDir: env.cacheDir };
  if (common.local_files_only) env.allowRemoteModels = false;
  if (opts.cacheDir) env.cacheDir = opts.cacheDir;
  let objects: { tokenizer: TokenizerLike; model: ModelLike };
  try {
    objects = await loadObjects(tjs, resolved, common, { ...opts, device, dtype }, where, hubHint);
  } finally {
    env.allowRemoteModels = saved.allowRemoteModels;
    env.cacheDir = saved.cacheDir;
  }
  if (!objects.model.sessions?.model) {
    await objects.model.dispose().catch(() => undefined);
    throw new PolicyError(`${where} is not a decoder-only causal LM that transformers.js can run (no 'model' session)`);
  }
  return { tjs, ...objects, ref: resolved.ref, dtype, ...modelLimits(objects.tokenizer, objects.model) };
}

/** The ids that end a turn and the model's context length. */
function modelLimits(tokenizer: TokenizerLike, model: ModelLike): { eosIds: Set<number>; maxPositions: number } {
  const eosIds = new Set<number>();
  const eos = model.generation_config?.eos_token_id ?? model.config.eos_token_id;
  for (const id of Array.isArray(eos) ? eos : [eos]) if (typeof id === 'number') eosIds.add(id);
  if (typeof tokenizer.eos_token_id === 'number') eosIds.add(tokenizer.eos_token_id);
  const maxPos = model.config.max_position_embeddings;
  return { eosIds, maxPositions: typeof maxPos === 'number' && maxPos > 0 ? maxPos : Infinity };
}

async function loadObjects(
  tjs: TransformersModule,
  resolved: ResolvedModel,
  common: Record<string, unknown>,
  opts: ModelLoadOptions & { device: OnnxDevice; dtype: OnnxDtype },
  where: string,
  hubHint: string,
): Promise<{ tokenizer: TokenizerLike; model: ModelLike }> {
  let tokenizer: TokenizerLike;
  try {
    tokenizer = (await tjs.AutoTokenizer.from_pretrained(resolved.ref, common)) as unknown as TokenizerLike;
  } catch (err) {
    throw new PolicyError(`cannot load the tokenizer of ${where}: ${errText(err)}${hubHint}`);
  }
  try {
    const sessionOptions: Record<string, unknown> = { enableCpuMemArena: opts.memArena ?? false };
    if (opts.threads) sessionOptions.intraOpNumThreads = opts.threads;
    const model = (await tjs.AutoModelForCausalLM.from_pretrained(resolved.ref, {
      ...common,
      device: opts.device,
      dtype: opts.dtype,
      session_options: sessionOptions,
    })) as unknown as ModelLike;
    return { tokenizer, model };
  } catch (err) {
    const msg = errText(err);
    if (opts.device === 'cuda') {
      throw new PolicyError(
        `cannot run ${where} on CUDA: ${msg}. onnxruntime-node ships CPU binaries by default; install its CUDA 12 ` +
          `execution provider (ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node) with CUDA 12 and cuDNN 9, or use --device cpu`,
      );
    }
    throw new PolicyError(`cannot load ${where} (dtype ${opts.dtype}): ${msg}${hubHint}`);
  }
}
