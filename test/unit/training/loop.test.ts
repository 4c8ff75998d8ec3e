/**
 * Training inside a session (src/core/training/loop.ts) with the onnx policy and the tiny model: an
 * update trains on the records since the last one, names the new version, reloads the policy in-process
 * (the replaced model released), and a second update with nothing new keeps the policy.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makePlayers } from '../../../src/core/selfplay/players';
import { RunStore } from '../../../src/core/runs/store';
import { readTrainingState, specForState, versionOf } from '../../../src/core/training/loop';
import { PYLEDGER } from '../../helpers/paths';
import { ensureTinyModel, runPython } from '../policy/tinyModel';

describe('training inside a session: onnx policy, tiny model', function () {
  this.timeout(600_000);

  it('updates on-policy, names the version, reloads in-process, and moves the cursor', async () => {
    const built = ensureTinyModel();
    assert.ok(built.dir, `the tiny model is needed: ${built.reason}`);
    const model = built.dir;
    const store = await RunStore.create({ repoDir: PYLEDGER, out: path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-loop-')), 'run') });
    // Records sampled by version 0 (the synthetic generator stands in for a session's rounds).
    runPython(['-m', 'ssr_runtime.synthetic', '--model', model, '--run', store.dir]);
    const file = path.join(store.dir, 'trajectories.jsonl');
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    fs.writeFileSync(file, lines.map((r) => JSON.stringify({ ...r, policy: { ...r.policy, version: { model, step: 0 } } })).join('\n') + '\n');

    const spec = { kind: 'onnx' as const, model };
    const players = makePlayers({ policy: spec, version: versionOf(spec, undefined), training: { device: 'cpu', steps: 2, extraArgs: ['--lr', '1e-3'] } });
    const before = await players.policy!('solver', { round: 0 });
    assert.deepEqual(before.info.version, { model, step: 0 });

    const next = await players.train!(store, 0);
    assert.ok(next, 'the update produced a new policy');
    const state = (await readTrainingState(store.dir))!;
    assert.equal(state.step, 1);
    assert.equal(state.cursor, lines.length);
    assert.equal(state.updates[0].fromLine, 0);
    assert.ok(state.onnxDir && fs.existsSync(path.join(state.onnxDir, 'onnx', 'model.onnx')));
    assert.equal(state.onnxDir, path.join(store.dir, 'train', 'update-001', 'model'));
    const after = await next('solver', { round: 1 });
    assert.deepEqual(after.info.version, { model: state.onnxDir, step: 1 });
    assert.equal(after.info.model, state.onnxDir);
    // The replaced model was released: its handle can no longer sample.
    await assert.rejects(before.complete({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 2 }), /disposed/);
    const r = await after.complete({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 2 });
    assert.ok(r.tokenIds!.length > 0);
    // A resumed session starts from the same place.
    assert.deepEqual(specForState(spec, state), { kind: 'onnx', model: state.onnxDir });

    // Nothing new since the cursor: no update, the policy stays.
    assert.equal(await players.train!(store, 1), undefined);
    const same = (await readTrainingState(store.dir))!;
    assert.equal(same.step, 1);
    assert.equal(same.cursor, lines.length);
  });
});
