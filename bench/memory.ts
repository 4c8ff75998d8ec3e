/**
 * Memory of the in-process ONNX policy (issue #10), on the project's tiny model (CPU).
 * Each configuration runs in its own process (peak RSS is per process):
 *
 *  - one turn on a long agent conversation (the solver system prompt + a ~4k-token tool observation):
 *    chunked prefill (512 tokens per pass, the default) vs the whole prompt in one pass;
 *  - a session-like sequence of rounds, each reloading the policy (as `--train-every 1` does) and
 *    running two attempts on the one shared model: the old way (the replaced model kept) vs the
 *    replaced model released. Peak RSS after each round.
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { OnnxPolicy } from '../src/core/policy';
import { solverSystemPrompt } from '../src/core/agents/prompts';
import type { ChatMessage } from '../src/core/base/trajectory';
import { table } from './stats';

const ROOT = path.resolve(__dirname, '..');
const MB = 1024 * 1024;
const peakMb = () => Math.round((process.resourceUsage().maxRSS * 1024) / MB);
const rssMb = () => Math.round(process.memoryUsage().rss / MB);

function conversation(): ChatMessage[] {
  const observation = Array.from({ length: 120 }, (_, i) => `tests/test_money.py::test_case_${i} PASSED   [${i % 100}%]`).join('\n');
  return [
    { role: 'system', content: solverSystemPrompt() },
    { role: 'user', content: 'Fix the bug.' },
    { role: 'assistant', content: '<tool: bash>\npytest -rA\n</tool>' },
    { role: 'tool', content: observation },
  ];
}

async function child(mode: string, dir: string): Promise<Record<string, unknown>> {
  const messages = conversation();
  if (mode === 'turn-chunked' || mode === 'turn-whole') {
    const p = await OnnxPolicy.create({ model: dir, prefillChunk: mode === 'turn-chunked' ? 512 : 1e9 });
    const before = peakMb();
    const r = await p.complete({ messages, maxTokens: 32, temperature: 1, stop: [] });
    await p.dispose();
    return { mode, promptTokens: r.promptTokenIds?.length ?? 0, peakBeforeMb: before, peakMb: peakMb() };
  }
  const keep = mode === 'rounds-keep';
  const kept: OnnxPolicy[] = [];
  const rounds: number[] = [];
  for (let round = 0; round < 4; round++) {
    const p = await OnnxPolicy.create({ model: dir });
    // two parallel attempts share the one model (the policy serialises them)
    await Promise.all([0, 1].map(() => p.complete({ messages: messages.slice(0, 2), maxTokens: 24, temperature: 1, stop: [] })));
    if (keep) kept.push(p);
    else await p.dispose();
    global.gc?.();
    rounds.push(peakMb());
  }
  return { mode, peakPerRoundMb: rounds, rssEndMb: rssMb(), kept: kept.length };
}

export async function benchMemory(): Promise<Record<string, unknown>> {
  const dir = process.env.SSR_TINY_MODEL_DIR ?? path.join(os.tmpdir(), 'ssr-tiny-model');
  const built = spawnSync('bash', [path.join(ROOT, 'scripts', 'make-tiny-model.sh'), dir], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`make-tiny-model.sh failed: ${built.stderr}`);
  const run = (mode: string) => {
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--require', path.join(ROOT, 'scripts', 'text-loader.cjs'), __filename, '--child', mode, dir], {
      encoding: 'utf8',
      cwd: ROOT,
      maxBuffer: 16 * MB,
    });
    if (r.status !== 0) throw new Error(`bench memory ${mode} failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, any>;
  };
  const chunked = run('turn-chunked');
  const whole = run('turn-whole');
  const keep = run('rounds-keep');
  const release = run('rounds-release');
  const text = [
    table([
      { 'one turn': 'chunked prefill (512 tokens/pass)', 'prompt tokens': chunked.promptTokens, 'peak RSS, model loaded (MB)': chunked.peakBeforeMb, 'peak RSS after the turn (MB)': chunked.peakMb },
      { 'one turn': 'whole prompt in one pass', 'prompt tokens': whole.promptTokens, 'peak RSS, model loaded (MB)': whole.peakBeforeMb, 'peak RSS after the turn (MB)': whole.peakMb },
    ]),
    '',
    table([
      { 'reload every round, 2 attempts on one shared model': 'replaced model kept (before #10)', 'peak RSS after rounds 1..4 (MB)': keep.peakPerRoundMb.join(' / ') },
      { 'reload every round, 2 attempts on one shared model': 'replaced model released (now)', 'peak RSS after rounds 1..4 (MB)': release.peakPerRoundMb.join(' / ') },
    ]),
  ].join('\n');
  return { chunked, whole, keep, release, text };
}

if (process.argv[2] === '--child') {
  child(process.argv[3], process.argv[4]).then(
    (r) => process.stdout.write(JSON.stringify(r) + '\n'),
    (err) => {
      process.stderr.write(String((err as Error).stack));
      process.exit(1);
    },
  );
}
