/**
 * Agent loop benchmark (issue #3).
 *
 * - Per-turn overhead of the loop: one `bash true` tool call through the
 *   whole loop (parse, persistent-shell wrapper, sandbox round trip, the
 *   step's diff, observation, bookkeeping) with a policy that answers
 *   instantly, so the model's time is excluded. Median of ~50 turns, split
 *   into the shell command and the step diff. Compared with one
 *   `docker exec CONTAINER true` through the CLI (/usr/bin/docker), median
 *   of ~50.
 * - Episode set-up: from the start of an inject episode to the first model
 *   call (engine and image check, sandbox, copy of the repository with its
 *   .git, the git preparation, the step-diff baseline, the shell), median of 5.
 */
import * as path from 'node:path';
import { DockerSandbox, listSandboxes } from '../src/core/sandbox';
import { runAgent } from '../src/core/agents/loop';
import { ShellSession } from '../src/core/agents/shell';
import { WorkspaceTracker } from '../src/core/agents/workspace';
import { solverSubmit } from '../src/core/agents/submit';
import { runInjectEpisode } from '../src/core/selfplay/episodes';
import type { Policy, PolicyResponse } from '../src/core/policy/types';
import { PolicyError } from '../src/core/policy/types';
import { dockerCli, median, run, table, timeMs } from './stats';

const ROOT = path.resolve(__dirname, '..');
const REPO = path.join(ROOT, 'test/fixtures/repos/pyledger');

export interface AgentBenchResult {
  turns: number;
  /** Median wall time of one loop turn (instant policy, `bash true`), ms. */
  turnMs: number;
  /** Median of the shell command alone (wrapper + round trip), ms. */
  shellMs: number;
  /** Median of the step diff alone (git add -A + write-tree), ms. */
  stepDiffMs: number;
  /** Median of `docker exec CONTAINER true` through the CLI, ms. */
  dockerExecCliMs: number;
  /** turnMs / dockerExecCliMs. */
  ratio: number;
  /** Median episode set-up (start of runInjectEpisode -> first model call), ms. */
  setupMs: number;
  setupReps: number;
  text: string;
  [k: string]: unknown;
}

/** A policy that answers at once: `bash true` n times, then submit. */
function instant(n: number, onCall?: () => void): Policy {
  let i = 0;
  return {
    info: { kind: 'bench' },
    async complete(): Promise<PolicyResponse> {
      onCall?.();
      return { text: i++ < n ? '<tool: bash>\ntrue\n</tool>' : '<tool: submit>\n</tool>', finishReason: 'stop' };
    },
  };
}

export async function benchAgent(opts: { turns?: number; setupReps?: number; execReps?: number } = {}): Promise<AgentBenchResult> {
  const turns = opts.turns ?? 50;
  const setupReps = opts.setupReps ?? 5;
  const execReps = opts.execReps ?? 50;
  const cli = dockerCli();
  const labels = { 'ssr.bench': `agent-${process.pid}` };

  const sb = await DockerSandbox.create({ repoDir: REPO, labels });
  let turnMs: number;
  let shellMs: number;
  let stepDiffMs: number;
  let dockerExecCliMs: number;
  try {
    // Loop turns: the time between consecutive steps, with an instant policy.
    const stamps: number[] = [];
    const { trajectory } = await runAgent({
      sandbox: sb,
      policy: instant(turns + 1),
      role: 'solver',
      task: { repo: REPO },
      systemPrompt: 'bench',
      taskPrompt: 'bench',
      onSubmit: solverSubmit(),
      maxTurns: turns + 1,
      onStep: () => stamps.push(performance.now()),
    });
    if (trajectory.steps.length < turns) throw new Error(`bench episode ended early: ${trajectory.status} ${trajectory.error ?? ''}`);
    const gaps = stamps.slice(1).map((t, i) => t - stamps[i]);
    turnMs = median(gaps);

    // The two sandbox calls a bash turn makes, alone.
    const shell = new ShellSession(sb);
    await shell.restart();
    const ws = new WorkspaceTracker(sb);
    await ws.init();
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < turns; i++) {
      a.push(await timeMs(() => shell.run('true')));
      b.push(await timeMs(() => ws.stepDiff()));
    }
    shellMs = median(a);
    stepDiffMs = median(b);

    // docker exec through the CLI.
    await run(cli, ['exec', sb.id, 'true']);
    const c: number[] = [];
    for (let i = 0; i < execReps; i++) c.push(await timeMs(() => run(cli, ['exec', sb.id, 'true'])));
    dockerExecCliMs = median(c);
  } finally {
    await sb.dispose();
  }

  // Episode set-up: the policy stops the episode at its first call.
  const setups: number[] = [];
  for (let i = 0; i < setupReps; i++) {
    const started = performance.now();
    let first = 0;
    const stop: Policy = {
      info: { kind: 'bench' },
      async complete() {
        first = performance.now();
        throw new PolicyError('bench: stop at the first call');
      },
    };
    await runInjectEpisode({ repoDir: REPO, policy: stop, strategy: 'removal', labels, validate: false });
    setups.push(first - started);
  }
  const setupMs = median(setups);
  const left = await listSandboxes(labels);
  if (left.length) throw new Error(`bench left containers: ${left.join(', ')}`);

  const ratio = turnMs / dockerExecCliMs;
  const text = table([
    { 'agent loop (median)': `one turn, instant policy, bash true (x${turns})`, ms: turnMs },
    { 'agent loop (median)': '  of which the shell command', ms: shellMs },
    { 'agent loop (median)': '  of which the step diff', ms: stepDiffMs },
    { 'agent loop (median)': `docker exec CONTAINER true via CLI (x${execReps})`, ms: dockerExecCliMs },
    { 'agent loop (median)': 'turn / docker exec', ms: ratio },
    { 'agent loop (median)': `episode set-up to first model call (x${setupReps})`, ms: setupMs },
  ]);
  return { turns, turnMs, shellMs, stepDiffMs, dockerExecCliMs, ratio, setupMs, setupReps, text };
}

if (require.main === module) {
  benchAgent()
    .then((r) => process.stdout.write(r.text + '\n'))
    .catch((err) => {
      process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
      process.exitCode = 1;
    });
}
