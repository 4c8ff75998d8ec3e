/**
 * Token sampling shared by local policies: seeded RNG, temperature + top-p
 * (nucleus) sampling, and stop-string handling.
 *
 * Log-probability convention (what `PolicyResponse.logprobs` holds for the
 * `onnx` policy, and what the trainer recomputes):
 *
 *   logprob_t = log_softmax(logits_t / T)[token_t]
 *
 * over the FULL vocabulary, computed in float64 from the model's float32
 * logits, with T the temperature actually used, BEFORE top-p truncation.
 * The trainer recomputes exactly this from a forward pass over
 * prompt + completion (no renormalisation over the nucleus, which would be
 * discontinuous in the parameters). With temperature 0 (greedy decoding) the
 * temperature is taken as 1: logprob_t = log_softmax(logits_t)[token_t].
 * Top-p keeps the smallest set of most probable tokens whose mass reaches
 * top_p (the token that crosses the threshold is kept, as in Hugging Face's
 * TopPLogitsWarper and vLLM), then samples from that set renormalised.
 */

/** A deterministic PRNG returning floats in [0, 1) with 53 random bits. */
export type Rng = () => number;

/** sfc32 seeded through splitmix32: fast, good quality, reproducible across platforms. */
export function createRng(seed: number): Rng {
  let s = seed >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  const next32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) next32();
  return () => {
    const hi = next32() >>> 5; // 27 bits
    const lo = next32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  };
}

export interface SampleOptions {
  /** 0 means greedy (argmax). */
  temperature: number;
  /** In (0, 1]; 1 disables nucleus truncation. */
  topP: number;
}

export interface Sampled {
  token: number;
  /** log_softmax(logits / T)[token], before top-p truncation (see module doc). */
  logprob: number;
}

type FloatArray = Float32Array | Float64Array | number[];

/** Log-softmax of `logits[offset .. offset+vocab)` scaled by 1/temperature, at one index. */
export function logprobAt(logits: FloatArray, offset: number, vocab: number, token: number, temperature: number): number {
  const inv = temperature > 0 ? 1 / temperature : 1;
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) {
    const z = logits[offset + i] * inv;
    if (z > max) max = z;
  }
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += Math.exp(logits[offset + i] * inv - max);
  return logits[offset + token] * inv - max - Math.log(sum);
}

/** Samples one token from `logits[offset .. offset+vocab)`. */
export function sampleToken(logits: FloatArray, offset: number, vocab: number, opts: SampleOptions, rng: Rng): Sampled {
  if (!(vocab > 0)) throw new Error('empty vocabulary');
  const greedy = !(opts.temperature > 0);
  const inv = greedy ? 1 : 1 / opts.temperature;
  let max = -Infinity;
  let argmax = 0;
  for (let i = 0; i < vocab; i++) {
    const z = logits[offset + i] * inv;
    if (z > max) {
      max = z;
      argmax = i;
    }
  }
  if (!Number.isFinite(max)) throw new Error(`model produced non-finite logits (${max})`);
  const probs = new Float64Array(vocab);
  let sum = 0;
  for (let i = 0; i < vocab; i++) {
    const e = Math.exp(logits[offset + i] * inv - max);
    probs[i] = e;
    sum += e;
  }
  const logZ = max + Math.log(sum);
  const lp = (t: number): number => logits[offset + t] * inv - logZ;
  if (greedy) return { token: argmax, logprob: lp(argmax) };

  for (let i = 0; i < vocab; i++) probs[i] /= sum;
  const topP = opts.topP > 0 && opts.topP < 1 ? opts.topP : 1;
  if (topP >= 1) {
    const r = rng();
    let acc = 0;
    for (let i = 0; i < vocab; i++) {
      acc += probs[i];
      if (r < acc) return { token: i, logprob: lp(i) };
    }
    return { token: lastNonZero(probs), logprob: lp(lastNonZero(probs)) };
  }

  // Nucleus: sort only the plausible candidates; fall back to a full sort
  // when they do not reach top_p (exact either way).
  const pmax = probs[argmax];
  let nucleus = nucleusOf(probs, topP, pmax * 1e-7);
  if (!nucleus) nucleus = nucleusOf(probs, topP, -1)!;
  const { ids, mass } = nucleus;
  const r = rng() * mass;
  let acc = 0;
  for (const id of ids) {
    acc += probs[id];
    if (r < acc) return { token: id, logprob: lp(id) };
  }
  const last = ids[ids.length - 1];
  return { token: last, logprob: lp(last) };
}

function lastNonZero(p: Float64Array): number {
  for (let i = p.length - 1; i >= 0; i--) if (p[i] > 0) return i;
  return 0;
}

function nucleusOf(probs: Float64Array, topP: number, floor: number): { ids: number[]; mass: number } | null {
  const cand: number[] = [];
  for (let i = 0; i < probs.length; i++) if (probs[i] > floor) cand.push(i);
  // Descending probability; ties by lower id, so the order is deterministic.
  cand.sort((x, y) => probs[y] - probs[x] || x - y);
  let mass = 0;
  const ids: number[] = [];
  for (const id of cand) {
    ids.push(id);
    mass += probs[id];
    if (mass >= topP) return { ids, mass };
  }
  return floor < 0 ? { ids, mass } : null;
}

/**
 * Finds the earliest occurrence of any stop string in `text`, searching from
 * `from` (callers pass the previous text length minus the longest stop
 * length, so matches that span tokens are found).
 */
export function findStop(text: string, stops: readonly string[], from = 0): { index: number; stop: string } | null {
  let best: { index: number; stop: string } | null = null;
  for (const s of stops) {
    if (!s) continue;
    const i = text.indexOf(s, Math.max(0, from));
    if (i >= 0 && (best === null || i < best.index || (i === best.index && s.length > best.stop.length))) {
      best = { index: i, stop: s };
    }
  }
  return best;
}

/**
 * How much of `text` is safe to stream: everything except a suffix that could
 * still grow into a stop string, and an incomplete UTF-8 sequence (U+FFFD at
 * the end of a partial decode).
 */
export function streamableLength(text: string, stops: readonly string[]): number {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0xfffd) end--;
  let hold = 0;
  for (const s of stops) {
    if (!s) continue;
    for (let k = Math.min(s.length - 1, end); k > hold; k--) {
      if (text.endsWith(s.slice(0, k), end)) {
        hold = k;
        break;
      }
    }
  }
  return Math.max(0, end - hold);
}

/** IEEE 754 half (as uint16 bits) to float32 array. */
export function halfToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i];
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const f = h & 0x3ff;
    if (e === 0) out[i] = s * f * 2 ** -24;
    else if (e === 31) out[i] = f ? NaN : s * Infinity;
    else out[i] = s * (1 + f / 1024) * 2 ** (e - 15);
  }
  return out;
}
