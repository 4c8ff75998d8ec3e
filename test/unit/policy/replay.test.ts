import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ReplayPolicy } from '../../../src/core/policy/replay';
import { createPolicy, describePolicy } from '../../../src/core/policy';
import { PolicyError } from '../../../src/core/policy/types';
import { CancelledError } from '../../../src/core/base/errors';
import { TRAJECTORY_FORMAT, type ChatMessage, type Trajectory } from '../../../src/core/base/trajectory';

const ASK: ChatMessage[] = [{ role: 'user', content: 'go' }];

function trajectory(): Trajectory {
  return {
    format: TRAJECTORY_FORMAT,
    id: 'traj-1',
    role: 'solver',
    policy: { kind: 'onnx', model: 'tiny', temperature: 1, topP: 0.95 },
    task: { repo: 'demo' },
    messages: [
      { role: 'system', content: 'sys' },
      { role: 'user', content: 'task' },
      { role: 'assistant', content: '<tool: bash>\nls\n</tool>' },
      { role: 'tool', content: 'a.py' },
      { role: 'assistant', content: 'thinking' },
      { role: 'user', content: 'continue' },
      {
        role: 'assistant',
        content: '',
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'submit', arguments: '{}' } }],
      },
    ],
    steps: [],
    tokens: [
      { messageIndex: 2, tokenIds: [1, 2, 3], logprobs: [-0.1, -0.2, -0.3], promptTokenIds: [9, 9], usage: { promptTokens: 2, completionTokens: 3 } },
      { messageIndex: 6, tokenIds: [4], logprobs: [-1] },
    ],
    status: 'submitted',
    timings: { startedAt: new Date(0).toISOString() },
  };
}

describe('replay policy', () => {
  it('replays assistant messages in order with their recorded tokens', async () => {
    const p = new ReplayPolicy({ trajectory: trajectory() });
    assert.equal(p.length, 3);
    const streamed: string[] = [];
    const r1 = await p.complete({ messages: ASK, onToken: (t) => streamed.push(t) });
    assert.deepEqual(r1, {
      text: '<tool: bash>\nls\n</tool>',
      finishReason: 'stop',
      tokenIds: [1, 2, 3],
      logprobs: [-0.1, -0.2, -0.3],
      promptTokenIds: [9, 9],
      usage: { promptTokens: 2, completionTokens: 3 },
    });
    assert.deepEqual(streamed, ['<tool: bash>\nls\n</tool>']);
    const r2 = await p.complete({ messages: ASK });
    assert.deepEqual(r2, { text: 'thinking', finishReason: 'stop' });
    const r3 = await p.complete({ messages: ASK });
    assert.equal(r3.finishReason, 'tool_calls');
    assert.deepEqual(r3.toolCalls, [{ id: 'c1', type: 'function', function: { name: 'submit', arguments: '{}' } }]);
    assert.deepEqual(r3.tokenIds, [4]);
    await assert.rejects(p.complete({ messages: ASK }), (err: unknown) => {
      assert.ok(err instanceof PolicyError);
      assert.equal(err.message, 'replay exhausted after 3 turns');
      return true;
    });
    assert.deepEqual(p.info, { kind: 'replay', model: 'replay:traj-1', temperature: 1, topP: 0.95 });
    // Returned arrays are copies: callers cannot corrupt the recording.
    p.reset();
    (await p.complete({ messages: ASK })).tokenIds!.push(99);
    p.reset();
    assert.deepEqual((await p.complete({ messages: ASK })).tokenIds, [1, 2, 3]);
  });

  it('reads a trajectory file, a JSON list of strings, and a trajectories.jsonl record', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-replay-'));
    try {
      const f = path.join(dir, 'episode.json');
      fs.writeFileSync(f, JSON.stringify(trajectory()));
      const p = await createPolicy({ kind: 'replay', trajectory: f });
      assert.equal((await p.complete({ messages: ASK })).text, '<tool: bash>\nls\n</tool>');
      assert.equal(p.info.model, 'replay:episode.json');

      const g = path.join(dir, 'turns.json');
      fs.writeFileSync(g, JSON.stringify(['one', 'two']));
      const q = new ReplayPolicy({ trajectory: g });
      assert.equal((await q.complete({ messages: ASK })).text, 'one');
      assert.equal((await q.complete({ messages: ASK })).text, 'two');
      await assert.rejects(q.complete({ messages: ASK }), /replay exhausted after 2 turns/);

      const t = trajectory();
      const record = { id: t.id, role: t.role, group: 'solve:x', reward: 1, path: 'x.json', messages: t.messages, tokens: t.tokens, policy: t.policy };
      const h = path.join(dir, 'trajectories.jsonl');
      fs.writeFileSync(h, `${JSON.stringify(record)}\n${JSON.stringify(record)}\n`);
      const r = new ReplayPolicy({ trajectory: h });
      assert.deepEqual((await r.complete({ messages: ASK })).logprobs, [-0.1, -0.2, -0.3]);

      const bad = path.join(dir, 'bad.json');
      fs.writeFileSync(bad, 'not json at all');
      assert.throws(() => new ReplayPolicy({ trajectory: bad }), /is not JSON/);
      assert.throws(() => new ReplayPolicy({ trajectory: path.join(dir, 'missing.json') }), /cannot read replay file .*ENOENT/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('accepts a plain list of assistant strings or messages; loop; errors', async () => {
    const p = new ReplayPolicy({ messages: ['a', { role: 'assistant', content: 'b' }], loop: true });
    const texts = [];
    for (let i = 0; i < 5; i++) texts.push((await p.complete({ messages: ASK })).text);
    assert.deepEqual(texts, ['a', 'b', 'a', 'b', 'a']);
    assert.throws(() => new ReplayPolicy({ messages: [] }), /no assistant messages/);
    assert.throws(() => new ReplayPolicy({}), /needs a trajectory/);
    assert.throws(() => new ReplayPolicy({ messages: [42 as unknown as string] }), /item 0/);
    await assert.rejects(p.complete({ messages: ASK, signal: AbortSignal.abort() }), CancelledError);
    assert.equal(describePolicy({ kind: 'replay', messages: ['x', 'y'] }), 'replay 2 messages');
    assert.equal(describePolicy(p), 'replay replay');
  });

  it('createPolicy rejects unknown kinds', async () => {
    await assert.rejects(createPolicy({ kind: 'nope' } as never), /unknown policy kind "nope"; use openai, onnx or replay/);
  });
});
