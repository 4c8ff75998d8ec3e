/**
 * One forward pass of the `onnx` policy's decoder on the KV cache: the feeds
 * (input ids, attention mask, positions, past key/values), the logits as
 * float32 (fp16 outputs converted) and the present key/values renamed as the
 * next pass's past.
 */
import { PolicyError } from './types';
import { halfToFloat32 } from './sampling';
import { errText, type ModelLike, type Tensor, type TransformersModule } from './onnxModel';

export type KvCache = Record<string, Tensor>;

export interface ForwardOut {
  logits: Float32Array;
  vocab: number;
  presents: KvCache;
}

function int64(tjs: TransformersModule, values: number[], dims: number[]): Tensor {
  return new tjs.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims);
}

/** One forward pass; returns the float logits of every input position. */
export async function forwardAll(tjs: TransformersModule, model: ModelLike, input: number[], pastLen: number, past: KvCache | undefined): Promise<ForwardOut> {
  const n = input.length;
  const feeds: Record<string, unknown> = {
    input_ids: int64(tjs, input, [1, n]),
    attention_mask: int64(tjs, new Array<number>(pastLen + n).fill(1), [1, pastLen + n]),
    position_ids: int64(
      tjs,
      Array.from({ length: n }, (_, i) => pastLen + i),
      [1, n],
    ),
  };
  if (past) feeds.past_key_values = past;
  let out: Record<string, Tensor>;
  try {
    out = await model.forward(feeds);
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
  const presents: KvCache = {};
  for (const [name, t] of Object.entries(out)) {
    if (name.startsWith('present')) presents[name.replace(/^present/, 'past_key_values')] = t;
  }
  return { logits, vocab, presents };
}

/** One forward pass; returns the logits of the last input position only. */
export async function forwardLast(tjs: TransformersModule, model: ModelLike, input: number[], pastLen: number, past: KvCache | undefined): Promise<ForwardOut> {
  const { logits, vocab, presents } = await forwardAll(tjs, model, input, pastLen, past);
  const rows = logits.length / vocab;
  return { logits: logits.subarray((rows - 1) * vocab, rows * vocab), vocab, presents };
}
