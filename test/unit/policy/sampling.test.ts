import { strict as assert } from 'node:assert';
import { createRng, findStop, halfToFloat32, logprobAt, sampleToken, streamableLength } from '../../../src/core/policy/sampling';

describe('sampling', () => {
  it('the seeded RNG is reproducible and uniform-ish in [0, 1)', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xs = Array.from({ length: 1000 }, () => a());
    assert.deepEqual(xs, Array.from({ length: 1000 }, () => b()));
    assert.notDeepEqual(xs.slice(0, 10), Array.from({ length: 10 }, () => c()));
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.05);
  });

  it('greedy takes the argmax with log_softmax(logits) as logprob', () => {
    const logits = new Float32Array([1, 3, 2]);
    const r = sampleToken(logits, 0, 3, { temperature: 0, topP: 0.5 }, createRng(1));
    assert.equal(r.token, 1);
    const z = Math.log(Math.exp(1) + Math.exp(3) + Math.exp(2));
    assert.ok(Math.abs(r.logprob - (3 - z)) < 1e-6);
  });

  it('top-p keeps the smallest top set reaching p; logprobs are before truncation', () => {
    // probs 0.5, 0.3, 0.2 at T=1
    const logits = [Math.log(0.5), Math.log(0.3), Math.log(0.2)];
    const rng = createRng(5);
    const counts = [0, 0, 0];
    for (let i = 0; i < 4000; i++) {
      const r = sampleToken(logits, 0, 3, { temperature: 1, topP: 0.7 }, rng);
      counts[r.token]++;
      assert.ok(Math.abs(r.logprob - Math.log([0.5, 0.3, 0.2][r.token])) < 1e-9);
    }
    assert.equal(counts[2], 0, 'token 2 is outside the 0.7 nucleus');
    assert.ok(Math.abs(counts[0] / 4000 - 0.625) < 0.03, String(counts));
    // top_p exactly at the boundary keeps the crossing token only when needed
    const only = sampleToken(logits, 0, 3, { temperature: 1, topP: 0.5 }, rng);
    assert.equal(only.token, 0);
    // Temperature scales the logprob.
    const t = sampleToken(logits, 0, 3, { temperature: 2, topP: 1 }, rng);
    assert.ok(Math.abs(t.logprob - logprobAt(logits, 0, 3, t.token, 2)) < 1e-12);
    // offset addressing
    const two = [9, 9, 9, ...logits];
    assert.ok(Math.abs(logprobAt(two, 3, 3, 1, 1) - Math.log(0.3)) < 1e-9);
  });

  it('samples a large vocabulary exactly like a full sort would', () => {
    const V = 5000;
    const rng0 = createRng(9);
    const logits = Float32Array.from({ length: V }, () => (rng0() - 0.5) * 20);
    const a = createRng(3);
    const b = createRng(3);
    for (let i = 0; i < 50; i++) {
      const x = sampleToken(logits, 0, V, { temperature: 0.8, topP: 0.9 }, a);
      // reference: full sort
      const inv = 1 / 0.8;
      let max = -Infinity;
      for (const l of logits) max = Math.max(max, l * inv);
      const p = Array.from(logits, (l) => Math.exp(l * inv - max));
      const s = p.reduce((u, v) => u + v, 0);
      const ids = p.map((_, j) => j).sort((u, v) => p[v] - p[u] || u - v);
      let mass = 0;
      const keep: number[] = [];
      for (const id of ids) {
        keep.push(id);
        mass += p[id] / s;
        if (mass >= 0.9) break;
      }
      const r = b() * mass;
      let acc = 0;
      let want = keep[keep.length - 1];
      for (const id of keep) {
        acc += p[id] / s;
        if (r < acc) {
          want = id;
          break;
        }
      }
      assert.equal(x.token, want);
    }
  });

  it('finds stop strings across token boundaries and holds back partial ones when streaming', () => {
    assert.deepEqual(findStop('abc</tool>def', ['</tool>']), { index: 3, stop: '</tool>' });
    assert.deepEqual(findStop('x STOP y END', ['END', 'STOP']), { index: 2, stop: 'STOP' });
    assert.equal(findStop('abc', ['</tool>']), null);
    assert.deepEqual(findStop('ab</tool>', ['</tool>'], 1), { index: 2, stop: '</tool>' });
    assert.equal(streamableLength('hello </to', ['</tool>']), 6);
    assert.equal(streamableLength('hello <', ['</tool>']), 6);
    assert.equal(streamableLength('hello', ['</tool>']), 5);
    assert.equal(streamableLength('caf\ufffd', []), 3);
    assert.equal(streamableLength('a ENDS', ['END', 'S!']), 5);
  });

  it('converts float16 bits', () => {
    const out = halfToFloat32(new Uint16Array([0x3c00, 0xc000, 0x0000, 0x7c00, 0x3555, 0x0001]));
    assert.equal(out[0], 1);
    assert.equal(out[1], -2);
    assert.equal(out[2], 0);
    assert.equal(out[3], Infinity);
    assert.ok(Math.abs(out[4] - 0.333251953125) < 1e-9);
    assert.ok(Math.abs(out[5] - 5.960464477539063e-8) < 1e-15);
  });
});
