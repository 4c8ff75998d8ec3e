/**
 * Policy benchmark (issue #3): tokens per second of the in-process ONNX
 * policy on the project's tiny model (CPU), with and without the KV cache
 * mattering: a short prompt and the agent's real ~9k-token system prompt.
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { OnnxPolicy } from '../src/core/policy';
import { solverSystemPrompt } from '../src/core/agents/prompts';
import { median, table } from './stats';

const ROOT = path.resolve(__dirname, '..');

export async function benchPolicy(opts: { reps?: number; tokens?: number } = {}): Promise<Record<string, unknown>> {
  const dir = process.env.SSR_TINY_MODEL_DIR ?? path.join(os.tmpdir(), 'ssr-tiny-model');
  const built = spawnSync('bash', [path.join(ROOT, 'scripts', 'make-tiny-model.sh'), dir], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`make-tiny-model.sh failed: ${built.stderr}`);
  const policy = await OnnxPolicy.create({ model: dir });
  const reps = opts.reps ?? 3;
  const maxTokens = opts.tokens ?? 128;
  const rows: Array<Record<string, string | number>> = [];
  try {
    const prompts: Array<[string, Parameters<OnnxPolicy['complete']>[0]['messages']]> = [
      ['short prompt', [{ role: 'user', content: 'Run the tests.' }]],
      ['agent system prompt', [{ role: 'system', content: solverSystemPrompt() }, { role: 'user', content: 'Fix the bug.' }]],
    ];
    for (const [name, messages] of prompts) {
      const rates: number[] = [];
      const firsts: number[] = [];
      let promptTokens = 0;
      for (let i = 0; i < reps; i++) {
        const t0 = performance.now();
        let first = 0;
        const r = await policy.complete({ messages, maxTokens, temperature: 1, topP: 0.95, stop: [], onToken: () => (first ||= performance.now() - t0) });
        const ms = performance.now() - t0;
        const n = r.tokenIds?.length ?? 0;
        promptTokens = r.promptTokenIds?.length ?? 0;
        rates.push(n / ((ms - (first || 0)) / 1000));
        firsts.push(first || ms);
      }
      rows.push({ prompt: name, 'prompt tokens': promptTokens, 'first token ms': median(firsts), 'tokens/s after the first': median(rates) });
    }
  } finally {
    await policy.dispose?.();
  }
  return { rows, text: `ONNX policy, tiny Llama (2 layers, hidden 64) on CPU, ${maxTokens} new tokens, medians of ${reps}:\n${table(rows)}` };
}
