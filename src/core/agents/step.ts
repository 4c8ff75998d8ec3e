/**
 * One step of an episode after the policy replied: run the reply's tool call,
 * take the diff of what it changed, answer with the observation (and the
 * budget line), and record the step in the trajectory.
 */
import type { ChatMessage, TrajectoryStep } from '../base/trajectory';
import { SandboxError, isCancelled } from '../base/errors';
import type { ErrorKind } from './options';
import type { ToolCall } from './protocol';
import { formatError, runTool, type Executed } from './tools';
import { EpisodeEnd, budgetLeft, sandboxEnd, type Episode } from './episode';
import type { Reply } from './ask';
import { budgetLine, estimateTokens, truncateMiddle } from './text';

/** What one step ran and gave, before it is recorded. */
export interface StepRun<T> {
  call?: ToolCall;
  ex: Executed<T>;
  diff?: { diff: string; truncated: boolean };
  durationMs: number;
}

/** Runs the reply's tool call (a format error when it has none) and takes the diff it made. */
export async function runStep<T>(ep: Episode<T>, parse: Reply['parse']): Promise<StepRun<T>> {
  const started = Date.now();
  const call = parse.ok ? parse.call : undefined;
  const ex = parse.ok ? await runCall(ep, parse.call) : formatError<T>(parse.error);
  ep.formatErrors = ex.formatError ? ep.formatErrors + 1 : 0;
  let diff: StepRun<T>['diff'];
  if (ex.mayChangeFiles) {
    try {
      diff = await ep.ctx.workspace.stepDiff();
    } catch (err) {
      throw sandboxEnd(ep, err, 'the sandbox failed');
    }
  }
  const durationMs = Date.now() - started;
  ep.t.timings.toolMs! += durationMs;
  return { call, ex, diff, durationMs };
}

/** Runs one tool call; a failure of the sandbox or of the code ends the episode. Keeps what submit accepted. */
async function runCall<T>(ep: Episode<T>, call: ToolCall): Promise<Executed<T>> {
  const { opts, limits } = ep;
  let ex: Executed<T>;
  try {
    ex = await runTool(call, { ctx: ep.ctx, onSubmit: opts.onSubmit, commandTimeoutMs: limits.commandTimeoutMs, deadline: limits.deadline });
  } catch (err) {
    if (isCancelled(err) || opts.signal?.aborted) throw new EpisodeEnd('cancelled', 'cancelled');
    if (err instanceof EpisodeEnd) throw err;
    const kind: ErrorKind = err instanceof SandboxError ? 'sandbox' : 'internal';
    throw new EpisodeEnd('error', `the ${call.name} tool failed: ${(err as Error).message}`, kind);
  }
  if (ex.submitted) {
    ep.submission = ex.submitted.value;
    if (ex.submitted.submission !== undefined) ep.t.info!.submission = ex.submitted.submission;
  }
  if (call.extraCalls > 0) {
    ex.output = `[note: your reply held ${call.extraCalls + 1} tool calls; only the first (${call.name}) was run. Send one call per reply.]\n` + ex.output;
  }
  return ex;
}

/**
 * Answers the reply with the observation (the budget line after it, unless
 * the episode ends here) and records the step; returns it.
 */
export function recordStep<T>(ep: Episode<T>, turn: number, messageIndex: number, reply: Reply, run: StepRun<T>): TrajectoryStep {
  const { ex, call, diff } = run;
  const cut = truncateMiddle(ex.output, ep.limits.maxObs);
  let observation = cut.text;
  if (!episodeEnds(ep)) {
    ep.contextTokens += estimateTokens(observation) + 16;
    if (!observation.endsWith('\n')) observation += '\n';
    observation += budgetLine(budgetLeft(ep, turn));
  }
  answer(ep.messages, reply, observation);
  const step: TrajectoryStep = {
    index: ep.t.steps.length,
    messageIndex,
    tool: call?.name ?? '',
    arguments: call?.args ?? '',
    ...(ex.parsed ? { parsed: ex.parsed } : {}),
    output: observation,
    exitCode: ex.exitCode,
    truncated: cut.truncated,
    ...(ex.error ? { error: ex.error } : {}),
    durationMs: run.durationMs,
    ...(diff?.diff ? { diff: diff.diff } : {}),
    ...(diff?.truncated ? { diffTruncated: true } : {}),
    ...(ex.restarted ? { restarted: ex.restarted } : {}),
  };
  ep.t.steps.push(step);
  return step;
}

/** The agent submitted, or sent one format error too many. */
export function episodeEnds(ep: Episode<unknown>): boolean {
  return ep.submission !== undefined || ep.formatErrors >= ep.limits.maxFormatErrors;
}

/** The observation as the next message: a tool message for a native call (each one answered), else a user message. */
function answer(messages: ChatMessage[], { nativeCalls }: Reply, observation: string): void {
  const answerId = nativeCalls.length ? nativeCalls[0].id : undefined;
  messages.push(answerId ? { role: 'tool', tool_call_id: answerId, content: observation } : { role: 'user', content: observation });
  for (const extra of nativeCalls.slice(1)) {
    if (extra.id) messages.push({ role: 'tool', tool_call_id: extra.id, content: 'Not run: one tool call per turn.' });
  }
}
