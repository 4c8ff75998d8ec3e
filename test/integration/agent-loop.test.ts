/**
 * The agent loop against a real sandbox: the tools, the persistent shell,
 * budgets, and every kind of bad input (from the model, the model server and
 * the commands). Each test checks that no container is left behind.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { DockerSandbox, listSandboxes } from '../../src/core/sandbox';
import { runAgent, type AgentOptions } from '../../src/core/agents/loop';
import { ShellSession } from '../../src/core/agents/shell';
import { injectorSubmit, makeArtifactDir, solverSubmit } from '../../src/core/agents/submit';
import { createPolicy, PolicyError, type Policy, type PolicyRequest, type PolicyResponse } from '../../src/core/policy';
import type { ArtifactFiles } from '../../src/core/artifact/artifact';

const REPO = path.resolve(__dirname, '../fixtures/repos/pyledger');
const LABEL = { 'ssr.test': `agent-loop-${process.pid}` };

type Turn = string | PolicyResponse | Error | ((req: PolicyRequest) => Promise<PolicyResponse> | PolicyResponse);

/** A policy that plays scripted turns: text, full responses, errors to throw, or functions. */
function scripted(turns: Turn[]): Policy & { requests: PolicyRequest[] } {
  const requests: PolicyRequest[] = [];
  let i = 0;
  return {
    info: { kind: 'scripted', model: 'test' },
    requests,
    async complete(req: PolicyRequest): Promise<PolicyResponse> {
      requests.push(req);
      if (i >= turns.length) throw new PolicyError(`script exhausted after ${turns.length} turns`);
      const t = turns[i++];
      if (typeof t === 'string') return { text: t, finishReason: 'stop' };
      if (t instanceof Error) throw t;
      if (typeof t === 'function') return t(req);
      return t;
    },
  };
}

const bash = (cmd: string) => `<tool: bash>\n${cmd}\n</tool>`;

describe('agent loop (real sandbox)', function () {
  this.timeout(120_000);
  let sb: DockerSandbox | undefined;

  beforeEach(async () => {
    sb = await DockerSandbox.create({ repoDir: REPO, labels: LABEL });
  });
  afterEach(async () => {
    await sb?.dispose();
    sb = undefined;
    assert.deepEqual(await listSandboxes(LABEL), [], 'a container was left behind');
  });

  function run<T = string>(policy: Policy, extra: Partial<AgentOptions<T>> = {}) {
    return runAgent<T>({
      sandbox: sb!,
      policy,
      role: 'solver',
      task: { repo: REPO },
      systemPrompt: 'system',
      taskPrompt: 'task',
      onSubmit: solverSubmit() as unknown as AgentOptions<T>['onSubmit'],
      ...extra,
    });
  }

  describe('persistent shell', () => {
    it('keeps cwd and exported variables between commands, not unexported ones', async () => {
      const sh = new ShellSession(sb!);
      await sh.restart();
      await sh.run('cd pyledger && export SSR_X=42 && LOCAL_Y=1');
      assert.equal(sh.cwd, '/repo/pyledger');
      const r = await sh.run('pwd; echo "x=$SSR_X y=${LOCAL_Y:-unset}"');
      assert.equal(r.output, '/repo/pyledger\nx=42 y=unset\n');
      const e = await sh.run('cd /tmp; false');
      assert.equal(e.exitCode, 1);
      assert.equal(sh.cwd, '/tmp');
      const x = await sh.run('exit 7');
      assert.equal(x.exitCode, 7);
      assert.equal((await sh.run('pwd')).output, '/tmp\n');
    });

    it('restarts the session after a hang, and says why', async () => {
      const sh = new ShellSession(sb!, { timeoutMs: 1500 });
      await sh.restart();
      await sh.run('cd tests && export KEEP=1');
      const hang = await sh.run('echo start; sleep 60');
      assert.equal(hang.timedOut, true);
      assert.equal(hang.restarted, true);
      assert.match(hang.restartReason!, /did not finish within 2 s/);
      assert.equal(hang.exitCode, null);
      const after = await sh.run('pwd; echo "keep=${KEEP:-}"');
      assert.equal(after.output, '/repo\nkeep=\n');
    });

    it('stops a flood of output at once and restarts', async () => {
      const sh = new ShellSession(sb!, { maxOutputBytes: 64 * 1024 });
      await sh.restart();
      await sh.run('cd tests');
      const started = Date.now();
      const r = await sh.run('yes flood');
      assert.ok(Date.now() - started < 10_000);
      assert.equal(r.flooded, true);
      assert.equal(r.restarted, true);
      assert.match(r.restartReason!, /more than 64 KB/);
      assert.equal(Buffer.byteLength(r.output), 64 * 1024);
      assert.equal(sh.cwd, '/repo');
    });
  });

  describe('tools', () => {
    it('edits, creates, records step diffs, and submits the working-tree diff', async () => {
      const policy = scripted([
        'Look first.\n' + bash('grep -n "allocate needs" pyledger/money.py'),
        '<tool: edit>\npyledger/money.py\n<<<<<<< SEARCH\n            raise ValueError("allocate needs at least one ratio")\n=======\n            raise ValueError("allocate needs a ratio")\n>>>>>>> REPLACE\n</tool>',
        '<tool: edit>\npyledger/money.py\n<<<<<<< SEARCH\nthis text is not there\n=======\nx\n>>>>>>> REPLACE\n</tool>',
        '<tool: edit>\npyledger/money.py\n<<<<<<< SEARCH\n        return self.amount\n=======\nx\n>>>>>>> REPLACE\n</tool>',
        '<tool: create>\nnotes/new.txt\nhello\nworld\n</tool>',
        '<tool: create>\nnotes/new.txt\nagain\n</tool>',
        '<tool: edit>\nnotes/missing.txt\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n</tool>',
        bash('cd notes && echo more >> new.txt'),
        '<tool: submit>\n</tool>',
      ]);
      const { trajectory: t, submission } = await run(policy);
      assert.equal(t.status, 'submitted', t.error);
      const [look, edit1, edit0, edit2, create1, createAgain, editMissing, append, submit] = t.steps;
      assert.equal(look.diff, undefined);
      assert.match(look.output, /\[exit code: 0\]\n\[turns left: 63 \| context left: ~\d+k? tokens \| time left: \d+ min\]$/);
      assert.match(edit1.output, /^Edited \/repo\/pyledger\/money\.py \(now lines \d+-\d+\):\n/);
      assert.match(edit1.output, /allocate needs a ratio/);
      assert.match(edit1.diff!, /-            raise ValueError\("allocate needs at least one ratio"\)\n\+            raise ValueError\("allocate needs a ratio"\)/);
      assert.equal(edit0.exitCode, 1);
      assert.match(edit0.output, /^ERROR: The SEARCH text was not found/);
      assert.equal(edit0.diff, undefined);
      assert.match(edit2.output, /occurs \d+ times/);
      assert.equal(edit2.diff, undefined);
      assert.match(create1.output, /^Created \/repo\/notes\/new\.txt \(2 lines\)/);
      assert.match(create1.diff!, /new file mode[\s\S]*\+hello\n\+world/);
      assert.match(createAgain.output, /already exists/);
      assert.match(editMissing.output, /no such file/);
      // The delta of a bash step only: the append, not the earlier edits.
      assert.match(append.diff!, /^diff --git a\/notes\/new\.txt/);
      assert.ok(!append.diff!.includes('money.py'));
      assert.equal(submit.tool, 'submit');
      assert.match(String(submission), /allocate needs a ratio/);
      assert.match(String(submission), /\+more/);
      assert.equal(t.info!.submission, submission);
      assert.equal(t.messages.length, 2 + 2 * t.steps.length);
      assert.ok(t.steps.every((s, i) => t.messages[s.messageIndex].role === 'assistant' && s.index === i));
      // Every observation but the last ends with the budget line.
      const obs = t.messages.filter((m, i) => i >= 2 && m.role === 'user');
      assert.ok(obs.slice(0, -1).every((m) => /\[turns left: \d+/.test(m.content)));
    });

    it('lets a solver submit a patch file, and refuses an empty working tree', async () => {
      const policy = scripted([
        '<tool: submit>\n</tool>',
        '<tool: submit>\n/tmp/nope.diff\n</tool>',
        bash("git init -q && git add -A && git commit -qm init && sed -i 's/allocate needs at least one ratio/no ratio/' pyledger/money.py && git diff > /tmp/fix.diff"),
        '<tool: submit>\n/tmp/fix.diff\n</tool>',
      ]);
      const { trajectory: t, submission } = await run(policy);
      assert.equal(t.status, 'submitted');
      assert.match(t.steps[0].output, /no changes against the starting commit/);
      assert.match(t.steps[1].output, /there is no file \/tmp\/nope\.diff/);
      assert.match(String(submission), /\+            raise ValueError\("no ratio"\)/);
    });

    it('reads the injector artifact out of the sandbox and removes files inside the repo', async () => {
      // The episode makes the artifact folder, the agent's own (the agent cannot make folders at the root).
      await makeArtifactDir(sb!, '/artifact');
      const policy = scripted([
        '<tool: submit>\n</tool>',
        bash('for f in test_script.sh test_parser.py bug_inject.diff; do echo "$f" > /artifact/$f; done'),
        '<tool: submit>\n</tool>',
        bash('printf "tests/test_money.py\\n" > test_files.txt && echo weaken > test_weaken.diff'),
        '<tool: submit>\n</tool>',
        bash('ls test_files.txt test_weaken.diff 2>&1; git status --porcelain'),
      ]);
      const { trajectory: t, submission } = await run<ArtifactFiles>(policy, {
        role: 'injector',
        onSubmit: injectorSubmit('/artifact'),
      });
      assert.equal(t.status, 'submitted');
      assert.match(t.steps[0].output, /the artifact is incomplete, nothing was submitted\. Missing: test_script\.sh \(looked for \/artifact\/test_script\.sh and \/repo\/test_script\.sh\)/);
      assert.match(t.steps[2].output, /Missing: test_files\.txt[^;]*; test_weaken\.diff/);
      assert.ok(!t.steps[2].output.includes('test_parser.py ('));
      assert.equal(t.steps.length, 5);
      assert.deepEqual(submission!.testFiles, ['tests/test_money.py']);
      assert.equal(submission!.testScript, 'test_script.sh\n');
      assert.equal(submission!.testWeakenDiff, 'weaken\n');
      const left = await sb!.exec('ls test_files.txt test_weaken.diff 2>/dev/null | wc -l; ls /artifact | wc -l');
      assert.equal(left.stdout, '0\n3\n');
    });
  });

  describe('bad input', () => {
    it('answers a reply with no tool call with the exact format, and goes on', async () => {
      const policy = scripted(['I believe the answer is 42.', bash('echo ok'), '<tool: submit>\n</tool>']);
      const { trajectory: t } = await run(policy);
      assert.equal(t.steps[0].tool, '');
      assert.match(t.steps[0].error!, /No tool call found/);
      assert.match(t.steps[0].output, /<tool: NAME>\nARGUMENTS\n<\/tool>/);
      assert.match(t.steps[0].output, /\[turns left: 63/);
      assert.equal(t.steps[1].output.split('\n')[0], 'ok');
      assert.match(t.steps[2].output, /no changes/);
    });

    it('rejects unknown tools and malformed tags', async () => {
      const policy = scripted(['<tool: python>\nprint(1)\n</tool>', '<tool bash>\nls\n</tool>', bash('true')]);
      const { trajectory: t } = await run(policy, { maxTurns: 3 });
      assert.equal(t.steps[0].tool, 'python');
      assert.match(t.steps[0].output, /unknown tool `python`; the tools are bash, edit, create, submit/);
      assert.match(t.steps[1].output, /Malformed tool tag/);
      assert.equal(t.status, 'max_turns');
      assert.match(t.error!, /turn budget \(3\)/);
    });

    it('runs only the first of two calls and says so', async () => {
      const policy = scripted([`${bash('echo first')}\n${bash('echo second')}`, '<tool: submit>\n</tool>']);
      const { trajectory: t } = await run(policy, { maxTurns: 2 });
      assert.match(t.steps[0].output, /^\[note: your reply held 2 tool calls; only the first \(bash\) was run\. Send one call per reply\.\]\nfirst\n/);
      assert.ok(!t.steps[0].output.includes('second'));
    });

    it('ends the episode after N consecutive format errors', async () => {
      const policy = scripted(['hmm', bash('echo reset'), 'still thinking', '<tool: >\n</tool>', 'no', 'never reached']);
      const { trajectory: t } = await run(policy, { maxFormatErrors: 3 });
      assert.equal(t.status, 'error');
      assert.equal(t.info!.error_kind, 'format');
      assert.match(t.error!, /3 consecutive replies without a usable tool call/);
      assert.equal(t.steps.length, 5);
      assert.equal(policy.requests.length, 5);
    });

    it('accepts a call whose close tag the server stripped, and closes it in the history', async () => {
      const policy = scripted([
        { text: 'ok\n<tool: bash>\necho stripped\n', finishReason: 'stop' },
        { text: '<tool: create>\nbig.txt\nline\nline\n', finishReason: 'length' },
        '<tool: submit>\n</tool>',
      ]);
      const { trajectory: t } = await run(policy, { maxTurns: 3 });
      assert.equal(t.messages[2].content, 'ok\n<tool: bash>\necho stripped\n</tool>');
      assert.match(t.steps[0].output, /^stripped\n/);
      assert.match(t.steps[1].output, /cut off at the token limit/);
      assert.equal((await sb!.exec('test -e big.txt')).exitCode, 1);
      // The request asked the server to stop after </tool>.
      assert.deepEqual(policy.requests[0].stop, ['</tool>']);
    });

    it('writes what the model wrote byte for byte when the server stopped on </tool> (a diff ending in blank context lines)', async () => {
      const diff = '--- a/x.py\n+++ b/x.py\n@@ -1,3 +1,2 @@\n-assert x\n \n \n';
      const policy = scripted([
        { text: `<tool: create>\nweaken.diff\n${diff}\n`, finishReason: 'stop' },
        { text: '<tool: bash>\nod -c weaken.diff | tail -3\n', finishReason: 'stop' },
        '<tool: submit>\n</tool>',
      ]);
      const { trajectory: t } = await run(policy, { maxTurns: 3 });
      assert.equal(t.steps[0].error, undefined, t.steps[0].output);
      assert.equal(t.steps[0].arguments, `weaken.diff\n${diff}`);
      assert.equal((await sb!.exec('cat weaken.diff')).stdout, diff);
      assert.equal(t.messages[2].content, `<tool: create>\nweaken.diff\n${diff}\n</tool>`);
    });

    it('survives a hanging command and a flood inside an episode', async () => {
      const policy = scripted([bash('cd tests; sleep 30'), bash('pwd'), bash('cat /dev/zero | tr "\\0" x'), bash('echo alive'), '<tool: submit>\n</tool>']);
      const { trajectory: t } = await run(policy, { commandTimeoutMs: 1000, maxOutputBytes: 32 * 1024, maxObservationChars: 2000 });
      assert.equal(t.steps[0].exitCode, null);
      assert.equal(t.steps[0].error, 'timeout');
      assert.match(t.steps[0].output, /the command did not finish within 1 s and was killed; the shell session was restarted/);
      assert.match(t.steps[0].restarted!, /did not finish/);
      assert.equal(t.steps[1].output.split('\n')[0], '/repo');
      assert.equal(t.steps[2].error, 'output flood');
      assert.equal(t.steps[2].truncated, true);
      assert.match(t.steps[2].output, /cut from the middle of this output/);
      assert.match(t.steps[2].output, /wrote more than 32 KB of output and was stopped/);
      assert.ok(t.steps[2].output.length < 2500);
      assert.match(t.steps[3].output, /^alive/);
    });

    it('ends with status error when the model server is down, and retries what can be retried', async () => {
      const policy = scripted([new PolicyError('503 busy', true), bash('echo after retry'), new PolicyError('connection refused: 127.0.0.1:9')]);
      const { trajectory: t } = await run(policy, { policyRetries: 1 });
      assert.equal(t.status, 'error');
      assert.equal(t.info!.error_kind, 'policy');
      assert.match(t.error!, /the policy failed: connection refused/);
      assert.equal(t.steps.length, 1);
      assert.match(t.steps[0].output, /^after retry/);
    });

    it('ends with status error against a real closed port (openai policy)', async () => {
      const policy = await createPolicy({ kind: 'openai', baseUrl: 'http://127.0.0.1:9/v1', model: 'none', retries: 0 });
      const { trajectory: t } = await run(policy);
      assert.equal(t.status, 'error');
      assert.equal(t.info!.error_kind, 'policy');
      assert.equal(t.steps.length, 0);
    });

    it('treats garbage from the policy as a format error, not a crash', async () => {
      const policy = scripted([
        () => null as unknown as PolicyResponse,
        { text: undefined as unknown as string },
        { text: '', toolCalls: [{ id: 'x', type: 'function', function: { name: 'bash', arguments: '{oops' } }] },
        new TypeError('cannot read properties of undefined'),
      ]);
      const { trajectory: t } = await run(policy);
      assert.equal(t.status, 'error');
      assert.equal(t.info!.error_kind, 'policy');
      assert.match(t.error!, /the policy returned no response/);
      const p2 = scripted([{ text: undefined as unknown as string }, { text: '', toolCalls: [{ id: 'x', type: 'function', function: { name: 'bash', arguments: '{oops' } }] }, new TypeError('boom')]);
      const r2 = await run(p2);
      assert.match(r2.trajectory.steps[0].output, /No tool call found/);
      assert.match(r2.trajectory.steps[1].output, /not a JSON object/);
      assert.equal(r2.trajectory.messages[r2.trajectory.steps[1].messageIndex + 1].role, 'tool');
      assert.match(r2.trajectory.error!, /the policy failed: boom/);
    });

    it('is cancelled by its AbortSignal, even in the middle of a command', async () => {
      const ac = new AbortController();
      const policy = scripted([bash('echo one'), bash('sleep 60')]);
      const started = Date.now();
      const p = run(policy, { signal: ac.signal, onStep: () => setTimeout(() => ac.abort(), 300) });
      const { trajectory: t } = await p;
      assert.equal(t.status, 'cancelled');
      assert.ok(Date.now() - started < 20_000);
      assert.equal(t.steps.length, 1);
    });
  });

  describe('budgets', () => {
    it('stops at the turn budget, counting down in every observation', async () => {
      const policy = scripted([bash('echo 1'), bash('echo 2'), bash('echo 3'), bash('echo 4')]);
      const { trajectory: t } = await run(policy, { maxTurns: 3 });
      assert.equal(t.status, 'max_turns');
      assert.deepEqual(
        t.steps.map((s) => /\[turns left: (\d+)/.exec(s.output)![1]),
        ['2', '1', '0'],
      );
    });

    it('stops when the context budget is used up (estimate, or the reported usage)', async () => {
      const policy = scripted([bash('seq 1 3000'), bash('echo never')]);
      const { trajectory: t } = await run(policy, { maxContextTokens: 3000, maxObservationChars: 20_000 });
      assert.equal(t.status, 'max_tokens');
      assert.equal(t.steps.length, 1);
      const reported = scripted([{ text: bash('echo hi'), usage: { promptTokens: 9000, completionTokens: 10 } }, bash('echo never')]);
      const r = await run(reported, { maxContextTokens: 9100 });
      assert.equal(r.trajectory.status, 'max_tokens');
      assert.deepEqual(r.trajectory.tokens, [{ messageIndex: 2, usage: { promptTokens: 9000, completionTokens: 10 } }]);
      assert.ok(reported.requests[0].maxTokens! <= 9100);
    });

    it('stops at the wall-time budget, also while the model is answering', async () => {
      const slow = scripted([
        (req) =>
          new Promise<PolicyResponse>((resolve, reject) => {
            const t = setTimeout(() => resolve({ text: bash('echo late') }), 30_000);
            req.signal?.addEventListener('abort', () => {
              clearTimeout(t);
              reject(new Error('aborted'));
            });
          }),
      ]);
      const started = Date.now();
      const { trajectory: t } = await run(slow, { maxWallMs: 1500 });
      assert.equal(t.status, 'timeout');
      assert.ok(Date.now() - started < 10_000);
    });

    it('records token ids and log-probs per assistant turn', async () => {
      const policy = scripted([
        { text: bash('true'), tokenIds: [1, 2, 3], logprobs: [-0.1, -0.2, -0.3], promptTokenIds: [9, 9] },
        { text: '<tool: submit>\n</tool>' },
      ]);
      const { trajectory: t } = await run(policy, { maxTurns: 2 });
      assert.deepEqual(t.tokens, [{ messageIndex: 2, tokenIds: [1, 2, 3], logprobs: [-0.1, -0.2, -0.3], promptTokenIds: [9, 9] }]);
    });
  });

  describe('native tool mode', () => {
    it('answers native calls with tool messages and offers the schemas', async () => {
      const policy = scripted([
        {
          text: 'Listing.',
          toolCalls: [
            { id: 'call_1', type: 'function', function: { name: 'bash', arguments: '{"command":"echo native"}' } },
            { id: 'call_2', type: 'function', function: { name: 'bash', arguments: '{"command":"echo dropped"}' } },
          ],
          finishReason: 'tool_calls',
        },
        { text: '', toolCalls: [{ id: 'call_3', type: 'function', function: { name: 'submit', arguments: '{}' } }] },
      ]);
      const { trajectory: t } = await run(policy, { toolMode: 'native', maxTurns: 2 });
      const req = policy.requests[0] as PolicyRequest & { tools?: Array<{ function: { name: string } }> };
      assert.deepEqual(req.tools!.map((x) => x.function.name), ['bash', 'edit', 'create', 'submit']);
      assert.equal(req.stop, undefined);
      assert.equal(t.messages[2].tool_calls!.length, 2);
      assert.equal(t.messages[3].role, 'tool');
      assert.equal(t.messages[3].tool_call_id, 'call_1');
      assert.match(t.messages[3].content, /^\[note: your reply held 2 tool calls[\s\S]*native/);
      assert.deepEqual(t.messages[4], { role: 'tool', tool_call_id: 'call_2', content: 'Not run: one tool call per turn.' });
      assert.equal(t.messages[6].tool_call_id, 'call_3');
      assert.match(t.messages[6].content, /no changes/);
    });
  });
});
