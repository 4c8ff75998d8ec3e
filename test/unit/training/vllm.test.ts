/**
 * The openai policy and the trainer against a local server that answers as vLLM does (test/helpers/vllm.ts),
 * serving the tiny model: token ids asked for and recorded with the prompt ids (PPO ratio), or log-probs
 * without ids (re-tokenised on-policy, counted, never a failure); vLLM's runtime LoRA endpoints.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { OpenAIPolicy } from '../../../src/core/policy/openai';
import { train, trainSummary } from '../../../src/core/training/trainer';
import type { ChatMessage, TrajectoryRecord, TurnTokens } from '../../../src/core/base/trajectory';
import { startVllm, type VllmServer } from '../../helpers/vllm';
import { ensureTinyModel } from '../policy/tinyModel';

const GOOD = 'I will look first.\n\n<tool: bash>\nls -la\n</tool>';
const BAD = 'Done.\n\n<tool: submit>\n</tool>';

async function episode(p: OpenAIPolicy, k: number): Promise<{ messages: ChatMessage[]; tokens: TurnTokens[] }> {
  const messages: ChatMessage[] = [
    { role: 'system', content: 'You fix bugs.' },
    { role: 'user', content: `Fix bug ${k}.` },
  ];
  const tokens: TurnTokens[] = [];
  const res = await p.complete({ messages, stop: ['</tool>'] });
  messages.push({ role: 'assistant', content: res.text + '</tool>' });
  tokens.push({
    messageIndex: 2,
    ...(res.tokenIds ? { tokenIds: res.tokenIds } : {}),
    ...(res.logprobs ? { logprobs: res.logprobs } : {}),
    ...(res.promptTokenIds ? { promptTokenIds: res.promptTokenIds } : {}),
  });
  return { messages, tokens };
}

describe('openai policy + trainer against a vLLM-shaped server (tiny model)', function () {
  this.timeout(600_000);
  let dir: string;
  before(function () {
    this.timeout(300_000);
    const built = ensureTinyModel();
    assert.ok(built.dir, `the tiny model is needed (scripts/make-tiny-model.sh): ${built.reason}`);
    dir = built.dir;
  });

  for (const idsMode of [true, false]) {
    it(`${idsMode ? 'token ids asked for and recorded: the PPO ratio' : 'log-probs without ids: re-tokenised on-policy, counted'}`, async () => {
      let n = 0;
      const server: VllmServer = await startVllm({ modelDir: dir, served: 'tiny', idsMode, script: () => (n++ % 2 === 0 ? GOOD : BAD) });
      try {
        const p = new OpenAIPolicy({ baseUrl: server.base, model: 'tiny', retries: 0 });
        const recs: TrajectoryRecord[] = [];
        for (let k = 0; k < 4; k++) {
          const e = await episode(p, k);
          const good = e.messages[2].content === GOOD;
          recs.push({ id: `s${k}`, role: 'solver', group: 'solve:b', reward: good ? 1 : -1, path: '', policy: p.info, ...e });
        }
        const body = server.chats[0];
        assert.equal(body.logprobs, true);
        assert.equal(body.return_token_ids, true);
        assert.equal(body.return_tokens_as_token_ids, true);
        const t = recs[0].tokens[0];
        assert.ok(t.logprobs && t.logprobs.length > 3);
        if (idsMode) {
          assert.equal(t.tokenIds!.length, t.logprobs!.length);
          assert.ok(t.promptTokenIds!.length > 5);
        } else {
          assert.equal(t.tokenIds, undefined);
          assert.equal(t.promptTokenIds, undefined);
        }
        // The stop string is the protocol's: the recorded text is what was sampled.
        assert.equal(recs[0].messages[2].content, GOOD);
        const run = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-vllm-run-'));
        fs.writeFileSync(path.join(run, 'trajectories.jsonl'), recs.map((r) => JSON.stringify(r)).join('\n') + '\n');
        const r = await train({ run, model: dir, out: path.join(run, 'out'), device: 'cpu', steps: 2, lr: 1e-3, onnx: 'no', extraArgs: ['--batch-size', '4', '--grad-accum', '1'] });
        const s = trainSummary(r);
        assert.equal(s.steps, 2);
        assert.equal(s.roles.solver.used, 4);
        assert.equal(s.out, path.join(run, 'out'));
        if (idsMode) {
          assert.equal(s.retokenised, 0);
          assert.equal(s.ppoRatio.used, true);
          // Every turn carries rollout log-probs with their ids.
          assert.ok(Math.abs(r.start!.turnsWithLogprobs - 4) === 0);
        } else {
          assert.equal(s.retokenised, 4);
          assert.equal(s.ppoRatio.used, false);
          assert.ok(r.warnings.some((w) => /log-probs without token ids/.test(w)), r.warnings.join('\n'));
        }
        const lines = fs.readFileSync(path.join(run, 'train', 'updates.jsonl'), 'utf8').trim().split('\n');
        assert.equal(lines.length, 1);
        assert.equal(JSON.parse(lines[0]).retokenised, idsMode ? 0 : 4);
      } finally {
        await server.close();
      }
    });
  }

  it("loads a LoRA adapter through vLLM's runtime endpoint and the next requests name it", async () => {
    const server = await startVllm({ modelDir: dir, served: 'tiny', idsMode: true, script: () => GOOD });
    try {
      const adapter = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-adapter-'));
      fs.writeFileSync(path.join(adapter, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 4 }));
      const p = new OpenAIPolicy({ baseUrl: server.base, model: 'tiny', retries: 0 });
      const said = await p.loadLoraAdapter('ssr-v1', adapter);
      assert.match(said, /Success: LoRA adapter 'ssr-v1' added successfully/);
      assert.deepEqual(server.loads[0], { lora_name: 'ssr-v1', lora_path: adapter });
      p.useModel('ssr-v1');
      await p.complete({ messages: [{ role: 'user', content: 'hi' }], stop: ['</tool>'] });
      assert.equal(server.chats.at(-1)!.model, 'ssr-v1');
      assert.equal(p.info.model, 'ssr-v1');
      await assert.rejects(p.loadLoraAdapter('ssr-v1', adapter), /already been loaded/);
      // Which temperature the server's log-probs are at: raw (vLLM's default, T = 1) or processed (the sampling T).
      const raw = await p.complete({ messages: [{ role: 'user', content: 'hi' }], temperature: 0.7 });
      assert.equal(raw.logprobTemperature, 1);
      const processed = new OpenAIPolicy({ baseUrl: server.base, model: 'ssr-v1', retries: 0, logprobsMode: 'processed' });
      assert.equal((await processed.complete({ messages: [{ role: 'user', content: 'hi' }], temperature: 0.7 })).logprobTemperature, 0.7);
      await p.unloadLoraAdapter('ssr-v1');
      await assert.rejects(p.complete({ messages: [{ role: 'user', content: 'hi' }] }), /does not exist/);
    } finally {
      await server.close();
    }
  });
});
