/**
 * The learning signal end to end, against the real engine: self-play sessions whose policy is a local
 * server answering as vLLM does (test/helpers/vllm.ts, serving the tiny model; the agent's actions are
 * scripted, the sandbox, checks and evaluation are real), then `ssr train --json`.
 *
 *  - log-probs without token ids: the trainer re-tokenises, takes optimizer steps, and both roles have
 *    trajectories that reached the loss (the injector through its run baseline);
 *  - token ids present: the PPO ratio is used (`ppoRatio.used`);
 *  - `--train-every 1`: each update's LoRA adapter is loaded into the server (POST /v1/load_lora_adapter)
 *    and the next round's requests name it; every record names the policy version that sampled it;
 *    `--resume` continues with the latest trained policy.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { JsonlFile } from '../../src/core/runs/store';
import type { TrajectoryRecord } from '../../src/core/base/trajectory';
import { FIXTURES, PYLEDGER } from '../helpers/paths';
import { runCli } from '../helpers/cli';
import { assertNoContainers } from '../helpers/docker';
import { startVllm, type ChatRequestBody, type VllmServer } from '../helpers/vllm';
import { ensureTinyModel, runPython } from '../unit/policy/tinyModel';

const tmp = (p: string) => fs.mkdtempSync(path.join(os.tmpdir(), p));
const recording = (name: string): string[] => JSON.parse(fs.readFileSync(path.join(FIXTURES, 'trajectories', `${name}.json`), 'utf8'));

/**
 * The agent's actions: injector episodes play inject-valid then inject-invalid (a valid bug, then an
 * invalid one: rewards differ between proposals); solver episodes alternate a fix (reverting the bug
 * through bash, as a model would write it) and a wrong change (rewards differ between attempts).
 * Episodes run one at a time (--concurrency 1), so the bug being solved is the newest one of the run.
 */
function script(out: string) {
  const injectors = [recording('inject-valid'), recording('inject-invalid')];
  const cur: Record<string, string[]> = {};
  const n = { injector: 0, solver: 0 };
  const solver = (fix: boolean): string[] => {
    if (!fix) return ['Maybe the docs.\n\n<tool: bash>\necho "# checked" >> README.md\n</tool>', '<tool: submit>\n</tool>'];
    const bugs = fs.readdirSync(path.join(out, 'bugs')).sort();
    const diff = fs.readFileSync(path.join(out, 'bugs', bugs[bugs.length - 1], 'artifact', 'bug_inject.diff'), 'utf8');
    return [
      `Reverting.\n\n<tool: bash>\ncat > /tmp/bug.diff <<'SSR_EOF'\n${diff.endsWith('\n') ? diff : diff + '\n'}SSR_EOF\ngit apply -R /tmp/bug.diff && echo reverted\n</tool>`,
      '<tool: submit>\n</tool>',
    ];
  };
  return (b: ChatRequestBody): string => {
    const role = /bug injector/.test(b.messages[0]?.content ?? '') ? 'injector' : 'solver';
    const turn = b.messages.filter((m) => m.role === 'assistant').length;
    if (turn === 0) cur[role] = role === 'injector' ? injectors[n.injector++ % 2] : solver(n.solver++ % 2 === 0);
    return cur[role][turn] ?? '<tool: submit>\n</tool>';
  };
}

function selfplayArgs(server: VllmServer, out: string, extra: string[] = []): string[] {
  return [
    'selfplay', '--repo', PYLEDGER, '--out', out, '--policy', 'openai', '--base-url', server.base, '--model', 'tiny',
    '--proposer', 'policy', '--strategy', 'removal', '--rounds', '2', '--attempts', '2', '--concurrency', '1',
    '--no-higher-order', '--seed', '1', '--json', ...extra,
  ];
}

describe('training on real self-play sessions served by a vLLM-shaped server (real engine)', function () {
  this.timeout(1_800_000);
  let model: string;
  before(function () {
    this.timeout(300_000);
    const built = ensureTinyModel();
    assert.ok(built.dir, `the tiny model is needed (scripts/make-tiny-model.sh): ${built.reason}`);
    model = built.dir;
  });
  after(async () => assertNoContainers());

  it('log-probs without token ids: ssr train re-tokenises, steps, and both roles are used', async () => {
    const out = path.join(tmp('ssr-tr-noids-'), 'run');
    const server = await startVllm({ modelDir: model, served: 'tiny', idsMode: false, script: script(out) });
    try {
      const sp = await runCli(selfplayArgs(server, out));
      assert.equal(sp.code, 0, sp.stderr.slice(-2000));
    } finally {
      await server.close();
    }
    const { records } = JsonlFile.read<TrajectoryRecord>(path.join(out, 'trajectories.jsonl'));
    const inj = records.filter((r) => r.role === 'injector');
    const sol = records.filter((r) => r.role === 'solver');
    assert.equal(inj.length, 2);
    assert.notEqual(inj[0].reward, inj[1].reward);
    assert.deepEqual(new Set(sol.map((r) => r.reward)), new Set([1, -1]));
    assert.ok(records.every((r) => r.tokens.every((t) => t.tokenIds === undefined && (t.logprobs?.length ?? 0) > 0)));
    const tr = await runCli(['train', '--run', out, '--model', model, '--device', 'cpu', '--steps', '2', '--lr', '1e-3', '--max-len', '2048', '--json']);
    assert.equal(tr.code, 0, tr.stderr.slice(-2000));
    const s = JSON.parse(tr.stdout);
    assert.equal(s.steps, 2);
    assert.ok(s.roles.solver.used > 0, JSON.stringify(s.roles));
    assert.ok(s.roles.injector.used > 0, JSON.stringify(s.roles));
    assert.equal(s.roles.injector.baselineGroups, 2);
    assert.ok(s.retokenised > 0);
    assert.equal(s.ppoRatio.used, false);
    assert.ok(fs.existsSync(s.updatesFile));

    // Learning on this real session's trajectories: after K optimizer steps, each role's rewarded
    // behaviour is likelier relative to its penalised one; the inert control (lr 0, same pipeline) is not.
    const K = 4;
    const trained = path.join(out, 'train', 'learn');
    const control = path.join(out, 'train', 'control');
    for (const [dir, lr] of [[trained, '3e-3'], [control, '0']]) {
      const r = await runCli(['train', '--run', out, '--model', model, '--device', 'cpu', '--steps', String(K), '--lr', lr, '--max-len', '2048', '--out', dir, '--json']);
      assert.equal(r.code, 0, r.stderr.slice(-2000));
      assert.equal(JSON.parse(r.stdout).steps, K);
    }
    type Scored = { id: string; role: string; reward: number; meanLogprob: number | null };
    const score = (m: string): Map<string, Scored> =>
      new Map((JSON.parse(runPython(['-m', 'ssr_runtime.score', '--run', out, '--model', m, '--max-len', '2048'])).records as Scored[]).map((r) => [r.id, r]));
    const base = score(model);
    const margin = (after: Map<string, Scored>, role: string): number => {
      const rs = [...base.values()].filter((r) => r.role === role && r.meanLogprob !== null);
      const mean = rs.reduce((x, r) => x + r.reward, 0) / rs.length;
      const delta = (r: Scored) => after.get(r.id)!.meanLogprob! - r.meanLogprob!;
      const avg = (xs: Scored[]) => xs.reduce((x, r) => x + delta(r), 0) / xs.length;
      return avg(rs.filter((r) => r.reward > mean)) - avg(rs.filter((r) => r.reward < mean));
    };
    const THRESHOLD = 0.02; // nats per token: rewarded minus penalised change of the mean log-prob
    const learned = score(path.join(trained, 'model'));
    const inert = score(path.join(control, 'model'));
    for (const role of ['solver', 'injector']) {
      const m = margin(learned, role);
      const c = margin(inert, role);
      console.log(`      learning (${role}): rewarded - penalised = ${m.toFixed(4)} nats/token after ${K} steps; control ${c.toFixed(4)}`);
      assert.ok(m > THRESHOLD, `${role}: ${m}`);
      assert.ok(!(c > THRESHOLD), `${role} control: ${c}`);
    }
  });

  it('token ids present, --train-every 1: PPO ratio, adapters loaded into the server and named by the next round', async () => {
    const out = path.join(tmp('ssr-tr-ids-'), 'run');
    const server = await startVllm({ modelDir: model, served: 'tiny', idsMode: true, script: script(out) });
    try {
      const sp = await runCli(selfplayArgs(server, out, ['--train-every', '1', '--train-model', model, '--train-device', 'cpu', '--train-steps', '2']));
      assert.equal(sp.code, 0, sp.stderr.slice(-3000));
      const id = JSON.parse(fs.readFileSync(path.join(out, 'session.json'), 'utf8')).id as string;
      // One adapter per update, loaded under a new name, from the update's adapter folder.
      assert.deepEqual(server.loads.map((l) => l.lora_name), [`ssr-${id}-v1`, `ssr-${id}-v2`]);
      assert.equal(server.loads[0].lora_path, path.join(out, 'train', 'update-001', 'adapter'));
      // Round 0 asked the base model; every request after the first load names the adapter.
      const models = server.chats.map((c) => c.model);
      const firstV1 = models.indexOf(`ssr-${id}-v1`);
      assert.ok(firstV1 > 0 && models.slice(0, firstV1).every((m) => m === 'tiny') && models.slice(firstV1).every((m) => m === `ssr-${id}-v1`), models.join(' '));
      const { records } = JsonlFile.read<TrajectoryRecord>(path.join(out, 'trajectories.jsonl'));
      const r0 = records.filter((r) => r.round === 0);
      const r1 = records.filter((r) => r.round === 1);
      assert.ok(r0.length > 0 && r0.every((r) => r.policy.version?.step === 0 && r.policy.version.model === 'tiny'));
      assert.ok(r1.length > 0 && r1.every((r) => r.policy.version?.step === 1 && r.policy.version.model === `ssr-${id}-v1`));
      assert.ok(records.every((r) => r.tokens.every((t) => (t.tokenIds?.length ?? 0) === (t.logprobs?.length ?? -1) && (t.promptTokenIds?.length ?? 0) > 0)));
      const state = JSON.parse(fs.readFileSync(path.join(out, 'train', 'state.json'), 'utf8'));
      assert.equal(state.step, 2);
      assert.equal(state.updates[1].fromLine, state.updates[0].cursor, 'the second update starts where the first stopped');
      const updates = fs.readFileSync(path.join(out, 'train', 'updates.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(updates.length, 2);
      assert.equal(updates[0].policyStep, 0);
      assert.equal(updates[1].policyStep, 1);
      assert.ok(updates[1].roles.injector.used > 0, 'the round-1 proposal is scored against the run baseline');

      // A resumed session continues with the latest trained policy (the adapter is loaded again).
      const rs = await runCli(['selfplay', '--resume', out, '--policy', 'openai', '--base-url', server.base, '--model', 'tiny', '--train-model', model]);
      assert.match(rs.stderr, new RegExp(`continuing with the trained policy v2: ssr-${id}-v2`));
      assert.equal(server.loads.at(-1)!.lora_name, `ssr-${id}-v2`);
    } finally {
      await server.close();
    }
    // 4096 tokens: these prompts fit whole, so the rollout log-probs apply (a prompt cut on the left trains on-policy).
    const tr = await runCli(['train', '--run', out, '--model', model, '--device', 'cpu', '--steps', '1', '--max-len', '4096', '--json']);
    assert.equal(tr.code, 0, tr.stderr.slice(-2000));
    const s = JSON.parse(tr.stdout);
    assert.equal(s.ppoRatio.used, true);
    assert.ok(s.ppoRatio.tokens > 0);
    assert.equal(s.retokenised, 0);
  });
});
