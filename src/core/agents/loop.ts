/**
 * The agent loop: a linear message history and one tool call per turn, in
 * the spirit of mini-swe-agent, so that a trajectory is easy to read and to
 * train on.
 *
 *   messages = [system, task]
 *   repeat until submit or a budget runs out:
 *     reply  = policy(messages)            (one assistant message)
 *     call   = first tool call in reply    (format errors become observations)
 *     result = run call in the sandbox     (bash | edit | create | submit)
 *     messages += [reply, observation + budget line]
 *
 * Nothing the model or the model server does crashes the loop: bad replies
 * are observations, and failures end the episode with a status and a cause.
 * The loop never creates or disposes the sandbox; the episode does.
 */
import { randomUUID } from 'node:crypto';
import type { Policy, PolicyRequest, PolicyResponse } from '../policy/types';
import { PolicyError } from '../policy/types';
import type { SandboxLike } from '../sandbox/types';
import {
  TRAJECTORY_FORMAT,
  type ChatMessage,
  type EpisodeStatus,
  type Role,
  type Strategy,
  type TaskInfo,
  type Trajectory,
  type TrajectoryStep,
} from '../base/trajectory';
import { CancelledError, SandboxError, isCancelled } from '../base/errors';
import {
  CLOSE_TAG,
  FORMAT_REMINDER,
  TOOL_NAMES,
  nativeCallToToolCall,
  nativeToolSchemas,
  parseCreateArgs,
  parseEditArgs,
  parseSubmitArgs,
  parseToolCall,
  type ParseResult,
  type SubmitArgs,
  type ToolCall,
} from './protocol';
import { applyEdit } from './edit';
import { ShellSession, DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_FLOOD_BYTES } from './shell';
import { WorkspaceTracker } from './workspace';
import { budgetLine, estimateTokens, truncateMiddle, DEFAULT_MAX_OBSERVATION_CHARS, type BudgetState } from './text';
import { sh } from '../sandbox/baseline';

export const DEFAULT_MAX_TURNS = 64;
export const MAX_MAX_TURNS = 128;
export const DEFAULT_MAX_CONTEXT_TOKENS = 128_000;
export const DEFAULT_MAX_WALL_MS = 60 * 60_000;
export const DEFAULT_MAX_TOKENS_PER_TURN = 8192;
export const DEFAULT_MAX_FORMAT_ERRORS = 5;
/** Below this many context tokens left, no further turn is started. */
const MIN_TURN_TOKENS = 256;

export type ToolMode = 'text' | 'native';

/** What the tools can reach; handed to the submit handler. */
export interface AgentContext {
  sandbox: SandboxLike;
  shell: ShellSession;
  workspace: WorkspaceTracker;
  signal?: AbortSignal;
}

export type SubmitOutcome<T> =
  | { ok: true; value: T; /** The observation's text. */ message: string; /** Stored as info.submission. */ submission?: string }
  | { ok: false; error: string };

export type SubmitHandler<T> = (args: SubmitArgs, ctx: AgentContext) => Promise<SubmitOutcome<T>>;

export interface AgentBudgets {
  /** Assistant turns; default 64, at most 128. */
  maxTurns?: number;
  /** Context size in tokens (the policy's usage when reported, else characters / 4). Default 128k. */
  maxContextTokens?: number;
  /** Wall time of the whole episode. Default 60 min. */
  maxWallMs?: number;
  /** New tokens per assistant turn. Default 8192. */
  maxTokensPerTurn?: number;
  /** Per bash command. Default 120 s. */
  commandTimeoutMs?: number;
  /** Output that restarts the bash session. Default 480 KiB. */
  maxOutputBytes?: number;
  /** Characters of one observation; longer ones keep head and tail. Default 12,000. */
  maxObservationChars?: number;
  /** Consecutive format errors that end the episode. Default 5. */
  maxFormatErrors?: number;
}

export interface AgentOptions<T> extends AgentBudgets {
  sandbox: SandboxLike;
  policy: Policy;
  role: Role;
  strategy?: Strategy;
  task: TaskInfo;
  systemPrompt: string;
  taskPrompt: string;
  onSubmit: SubmitHandler<T>;
  toolMode?: ToolMode;
  temperature?: number;
  topP?: number;
  /** Retries of a retryable PolicyError (server busy, connection reset). Default 2. */
  policyRetries?: number;
  id?: string;
  signal?: AbortSignal;
  /** Called after each step, with the trajectory so far. */
  onStep?: (step: TrajectoryStep, trajectory: Trajectory) => void;
  /** Called once the workspace is ready, before the first turn. */
  onReady?: (ctx: AgentContext) => Promise<void> | void;
}

export interface AgentResult<T> {
  trajectory: Trajectory;
  /** What submit returned, when the agent submitted. */
  submission?: T;
  ctx: AgentContext;
}

/** Why an episode stopped early; recorded as info.error_kind. */
export type ErrorKind = 'policy' | 'sandbox' | 'format' | 'internal';

class EpisodeEnd extends Error {
  constructor(
    readonly status: EpisodeStatus,
    message: string,
    readonly kind?: ErrorKind,
  ) {
    super(message);
  }
}

export function newEpisodeId(role: Role): string {
  return `${role === 'injector' ? 'inj' : 'sol'}-${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}-${randomUUID().slice(0, 8)}`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError());
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new CancelledError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface Executed {
  output: string;
  exitCode: number | null;
  error?: string;
  parsed?: Record<string, unknown>;
  /** Files may have changed: take the step's diff. */
  mayChangeFiles: boolean;
  restarted?: string;
  formatError?: boolean;
}

/** Runs one agent episode in an existing sandbox. Never throws; failures are in the trajectory's status. */
export async function runAgent<T>(opts: AgentOptions<T>): Promise<AgentResult<T>> {
  const maxTurns = Math.min(MAX_MAX_TURNS, Math.max(1, opts.maxTurns ?? DEFAULT_MAX_TURNS));
  const maxContext = opts.maxContextTokens ?? DEFAULT_MAX_CONTEXT_TOKENS;
  const maxWallMs = opts.maxWallMs ?? DEFAULT_MAX_WALL_MS;
  const maxObs = opts.maxObservationChars ?? DEFAULT_MAX_OBSERVATION_CHARS;
  const maxFormatErrors = opts.maxFormatErrors ?? DEFAULT_MAX_FORMAT_ERRORS;
  const toolMode = opts.toolMode ?? 'text';
  const started = Date.now();
  const deadline = started + maxWallMs;
  const sb = opts.sandbox;
  const shell = new ShellSession(sb, {
    timeoutMs: opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    maxOutputBytes: opts.maxOutputBytes ?? DEFAULT_FLOOD_BYTES,
  });
  const workspace = new WorkspaceTracker(sb);
  const ctx: AgentContext = { sandbox: sb, shell, workspace, signal: opts.signal };

  const messages: ChatMessage[] = [
    { role: 'system', content: opts.systemPrompt },
    { role: 'user', content: opts.taskPrompt },
  ];
  const t: Trajectory = {
    format: TRAJECTORY_FORMAT,
    id: opts.id ?? newEpisodeId(opts.role),
    role: opts.role,
    ...(opts.strategy ? { strategy: opts.strategy } : {}),
    policy: { ...opts.policy.info },
    task: opts.task,
    messages,
    steps: [],
    tokens: [],
    status: 'error',
    timings: { startedAt: new Date(started).toISOString(), policyMs: 0, toolMs: 0 },
    info: {
      budget: { maxTurns, maxContextTokens: maxContext, maxWallMs, toolMode },
    },
  };
  if (opts.temperature !== undefined) t.policy.temperature = opts.temperature;
  if (opts.topP !== undefined) t.policy.topP = opts.topP;

  let submission: T | undefined;
  let contextTokens = messages.reduce((n, m) => n + estimateTokens(m.content), 0);
  let formatErrors = 0;

  const budget = (turnsUsed: number): BudgetState => ({
    turnsLeft: maxTurns - turnsUsed,
    tokensLeft: maxContext - contextTokens,
    msLeft: deadline - Date.now(),
  });

  const checkAbort = () => {
    if (opts.signal?.aborted) throw new EpisodeEnd('cancelled', 'cancelled');
  };

  const callPolicy = async (turnTokens: number): Promise<PolicyResponse> => {
    const retries = opts.policyRetries ?? 2;
    for (let attempt = 0; ; attempt++) {
      checkAbort();
      const msLeft = deadline - Date.now();
      if (msLeft <= 0) throw new EpisodeEnd('timeout', `the episode's wall-time budget (${Math.round(maxWallMs / 1000)} s) ran out`);
      const timer = AbortSignal.timeout(msLeft);
      const signal = opts.signal ? AbortSignal.any([opts.signal, timer]) : timer;
      const req: PolicyRequest & { tools?: unknown[]; toolChoice?: string } = {
        messages: messages.map((m) => ({ ...m })),
        maxTokens: turnTokens,
        temperature: opts.temperature,
        topP: opts.topP,
        signal,
      };
      if (toolMode === 'text') req.stop = [CLOSE_TAG];
      else {
        req.tools = nativeToolSchemas(opts.role);
        req.toolChoice = 'auto';
      }
      const s = Date.now();
      try {
        const res = await opts.policy.complete(req);
        if (!res || typeof res !== 'object') throw new PolicyError('the policy returned no response');
        return res;
      } catch (err) {
        if (opts.signal?.aborted) throw new EpisodeEnd('cancelled', 'cancelled');
        if (timer.aborted) {
          throw new EpisodeEnd('timeout', `the episode's wall-time budget (${Math.round(maxWallMs / 1000)} s) ran out while the model was answering`);
        }
        const retryable = err instanceof PolicyError && err.retryable;
        if (retryable && attempt < retries) {
          await sleep(1000 * 2 ** attempt, opts.signal).catch(() => undefined);
          continue;
        }
        const msg = err instanceof Error ? err.message : String(err);
        throw new EpisodeEnd('error', `the policy failed: ${msg}`, 'policy');
      } finally {
        t.timings.policyMs! += Date.now() - s;
      }
    }
  };

  const execute = async (call: ToolCall): Promise<Executed> => {
    const msLeft = deadline - Date.now();
    switch (call.name) {
      case 'bash': {
        if (!call.args.trim()) {
          return { output: 'ERROR: the bash tool needs a command.', exitCode: null, error: 'empty command', mayChangeFiles: false, formatError: true };
        }
        const timeoutMs = Math.max(1000, Math.min(opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS, msLeft));
        const r = await shell.run(call.args, { timeoutMs, signal: opts.signal });
        let out = r.output.length ? r.output : '(no output)';
        if (out.length && !out.endsWith('\n')) out += '\n';
        if (r.restarted) {
          out += `[${r.restartReason}; the shell session was restarted: working directory and environment are back to ${sb.repoPath} and the defaults]`;
        } else {
          out += `[exit code: ${r.exitCode ?? 'killed'}]`;
        }
        return {
          output: out,
          exitCode: r.exitCode,
          parsed: { command: call.args },
          mayChangeFiles: true,
          restarted: r.restartReason,
          error: r.timedOut ? 'timeout' : r.flooded ? 'output flood' : undefined,
        };
      }
      case 'edit': {
        const a = parseEditArgs(call.args);
        if (!a.ok) return { output: `ERROR: ${a.error}`, exitCode: null, error: a.error, mayChangeFiles: false, formatError: true };
        const path = shell.resolve(a.value.path);
        const parsed = { path, search: a.value.search, replace: a.value.replace };
        let content: string;
        try {
          content = (await sb.readFile(path)).toString('utf8');
        } catch (err) {
          if (err instanceof SandboxError && /No such file|IsADirectory|Errno/i.test(err.message)) {
            const e = `cannot edit ${path}: ${/IsADirectory/.test(err.message) ? 'it is a folder' : 'no such file'} (use create for a new file).`;
            return { output: `ERROR: ${e}`, exitCode: 1, error: e, parsed, mayChangeFiles: false };
          }
          throw err;
        }
        const r = applyEdit(content, a.value.search, a.value.replace, path);
        if (!r.ok) return { output: `ERROR: ${r.error}`, exitCode: 1, error: r.error, parsed: { ...parsed, matches: r.matches }, mayChangeFiles: false };
        await sb.writeFile(path, r.content);
        return {
          output: `Edited ${path} (now lines ${r.startLine}-${r.endLine}):\n${r.context}\n`,
          exitCode: 0,
          parsed,
          mayChangeFiles: true,
        };
      }
      case 'create': {
        const a = parseCreateArgs(call.args);
        if (!a.ok) return { output: `ERROR: ${a.error}`, exitCode: null, error: a.error, mayChangeFiles: false, formatError: true };
        const path = shell.resolve(a.value.path);
        const parsed = { path, content: a.value.content };
        const probe = await sb.exec(`test -e ${sh(path)}`, { cwd: '/', timeoutMs: 30_000 });
        if (probe.exitCode === 0) {
          const e = `${path} already exists; use edit to change it (or bash to remove it first).`;
          return { output: `ERROR: ${e}`, exitCode: 1, error: e, parsed, mayChangeFiles: false };
        }
        try {
          await sb.writeFile(path, a.value.content);
        } catch (err) {
          if (err instanceof SandboxError && /Errno/.test(err.message)) {
            const e = `cannot create ${path}: ${err.message}`;
            return { output: `ERROR: ${e}`, exitCode: 1, error: e, parsed, mayChangeFiles: false };
          }
          throw err;
        }
        const lines = a.value.content.split('\n').length - 1;
        return { output: `Created ${path} (${lines} line${lines === 1 ? '' : 's'}).\n`, exitCode: 0, parsed, mayChangeFiles: true };
      }
      case 'submit': {
        const a = parseSubmitArgs(call.args);
        const parsed = { paths: a.ok ? a.value.paths : [] };
        const r = await opts.onSubmit(a.ok ? a.value : { paths: [] }, ctx);
        if (!r.ok) return { output: `ERROR: ${r.error}`, exitCode: 1, error: r.error, parsed, mayChangeFiles: false };
        submission = r.value;
        if (r.submission !== undefined) t.info!.submission = r.submission;
        return { output: r.message, exitCode: 0, parsed, mayChangeFiles: false };
      }
      default: {
        const e = `unknown tool \`${call.name}\`; the tools are ${TOOL_NAMES.join(', ')}.`;
        return { output: `ERROR: ${e}\n${FORMAT_REMINDER}`, exitCode: null, error: e, mayChangeFiles: false, formatError: true };
      }
    }
  };

  try {
    checkAbort();
    try {
      await workspace.init();
      await shell.restart();
      await opts.onReady?.(ctx);
    } catch (err) {
      if (isCancelled(err) || opts.signal?.aborted) throw new EpisodeEnd('cancelled', 'cancelled');
      throw new EpisodeEnd('error', `preparing the workspace failed: ${(err as Error).message}`, 'sandbox');
    }
    let ended = false;
    for (let turn = 0; turn < maxTurns && !ended; turn++) {
      checkAbort();
      if (Date.now() >= deadline) throw new EpisodeEnd('timeout', `the episode's wall-time budget (${Math.round(maxWallMs / 1000)} s) ran out`);
      const tokensLeft = maxContext - contextTokens;
      if (tokensLeft < MIN_TURN_TOKENS) {
        throw new EpisodeEnd('max_tokens', `the context budget (${maxContext} tokens) is used up (${contextTokens} tokens)`);
      }
      const res = await callPolicy(Math.min(opts.maxTokensPerTurn ?? DEFAULT_MAX_TOKENS_PER_TURN, tokensLeft));
      const text = typeof res.text === 'string' ? res.text : '';
      const nativeCalls = Array.isArray(res.toolCalls) ? res.toolCalls.filter((c) => c && c.function && typeof c.function.name === 'string') : [];

      // --- The assistant message, as it goes back into the history.
      let parse: ParseResult;
      const assistant: ChatMessage = { role: 'assistant', content: text };
      if (nativeCalls.length) {
        assistant.tool_calls = nativeCalls;
        parse = nativeCallToToolCall(nativeCalls[0], nativeCalls.length - 1);
      } else {
        parse = parseToolCall(text);
        if (parse.ok && parse.call.unclosed) {
          if (res.finishReason === 'length') {
            parse = {
              ok: false,
              error: `Your reply was cut off at the token limit before \`${CLOSE_TAG}\`; nothing was run. Keep replies shorter (e.g. create a large file in parts).`,
            };
          } else {
            // The server stopped on </tool> and left it out: close the call in the history with
            // exactly the stop string the model sampled (nothing the model wrote is dropped).
            assistant.content = text + CLOSE_TAG;
          }
        }
      }
      messages.push(assistant);
      const messageIndex = messages.length - 1;
      if (res.tokenIds || res.logprobs || res.usage || res.promptTokenIds) {
        t.tokens.push({
          messageIndex,
          ...(res.tokenIds ? { tokenIds: res.tokenIds } : {}),
          ...(res.logprobs ? { logprobs: res.logprobs } : {}),
          ...(res.promptTokenIds ? { promptTokenIds: res.promptTokenIds } : {}),
          ...(res.logprobs && res.logprobTemperature !== undefined && res.logprobTemperature !== 1 ? { temperature: res.logprobTemperature } : {}),
          ...(res.usage ? { usage: res.usage } : {}),
        });
      }
      if (res.usage?.promptTokens !== undefined) {
        contextTokens = res.usage.promptTokens + (res.usage.completionTokens ?? estimateTokens(assistant.content));
      } else {
        contextTokens += estimateTokens(assistant.content) + (assistant.tool_calls ? estimateTokens(JSON.stringify(assistant.tool_calls)) : 0);
      }

      // --- Run the call.
      const stepStarted = Date.now();
      let ex: Executed;
      let call: ToolCall | undefined;
      if (!parse.ok) {
        ex = { output: `ERROR: ${parse.error}`, exitCode: null, error: parse.error, mayChangeFiles: false, formatError: true };
      } else {
        call = parse.call;
        try {
          ex = await execute(call);
        } catch (err) {
          if (isCancelled(err) || opts.signal?.aborted) throw new EpisodeEnd('cancelled', 'cancelled');
          if (err instanceof EpisodeEnd) throw err;
          const kind: ErrorKind = err instanceof SandboxError ? 'sandbox' : 'internal';
          throw new EpisodeEnd('error', `the ${call.name} tool failed: ${(err as Error).message}`, kind);
        }
        if (call.extraCalls > 0) {
          ex.output =
            `[note: your reply held ${call.extraCalls + 1} tool calls; only the first (${call.name}) was run. Send one call per reply.]\n` +
            ex.output;
        }
      }
      formatErrors = ex.formatError ? formatErrors + 1 : 0;
      const submitted = submission !== undefined;

      let diff: { diff: string; truncated: boolean } | undefined;
      if (ex.mayChangeFiles) {
        try {
          diff = await workspace.stepDiff();
        } catch (err) {
          if (isCancelled(err) || opts.signal?.aborted) throw new EpisodeEnd('cancelled', 'cancelled');
          throw new EpisodeEnd('error', `the sandbox failed: ${(err as Error).message}`, 'sandbox');
        }
      }
      const toolMs = Date.now() - stepStarted;
      t.timings.toolMs! += toolMs;

      // --- The observation.
      const cut = truncateMiddle(ex.output, maxObs);
      let observation = cut.text;
      const tooManyFormatErrors = formatErrors >= maxFormatErrors;
      if (!submitted && !tooManyFormatErrors) {
        contextTokens += estimateTokens(observation) + 16;
        if (!observation.endsWith('\n')) observation += '\n';
        observation += budgetLine(budget(turn + 1));
      }
      // A native call is answered by a tool message with its id (even when its arguments were bad).
      const answerId = nativeCalls.length ? nativeCalls[0].id : undefined;
      const obsMsg: ChatMessage = answerId
        ? { role: 'tool', tool_call_id: answerId, content: observation }
        : { role: 'user', content: observation };
      messages.push(obsMsg);
      // Native calls beyond the first must each be answered too.
      for (const extra of nativeCalls.slice(1)) {
        if (extra.id) messages.push({ role: 'tool', tool_call_id: extra.id, content: 'Not run: one tool call per turn.' });
      }

      const step: TrajectoryStep = {
        index: t.steps.length,
        messageIndex,
        tool: call?.name ?? '',
        arguments: call?.args ?? '',
        ...(ex.parsed ? { parsed: ex.parsed } : {}),
        output: observation,
        exitCode: ex.exitCode,
        truncated: cut.truncated,
        ...(ex.error ? { error: ex.error } : {}),
        durationMs: toolMs,
        ...(diff?.diff ? { diff: diff.diff } : {}),
        ...(diff?.truncated ? { diffTruncated: true } : {}),
        ...(ex.restarted ? { restarted: ex.restarted } : {}),
      };
      t.steps.push(step);
      try {
        opts.onStep?.(step, t);
      } catch {
        /* a listener's fault is not the episode's */
      }
      if (submitted) {
        t.status = 'submitted';
        ended = true;
      } else if (tooManyFormatErrors) {
        throw new EpisodeEnd('error', `${formatErrors} consecutive replies without a usable tool call`, 'format');
      }
    }
    if (!ended) throw new EpisodeEnd('max_turns', `the turn budget (${maxTurns}) ran out before submit`);
  } catch (err) {
    if (err instanceof EpisodeEnd) {
      t.status = err.status;
      if (err.status !== 'submitted') t.error = err.message;
      if (err.kind) t.info!.error_kind = err.kind;
    } else {
      t.status = opts.signal?.aborted ? 'cancelled' : 'error';
      t.error = opts.signal?.aborted ? 'cancelled' : `internal error: ${(err as Error)?.stack ?? String(err)}`;
      if (!opts.signal?.aborted) t.info!.error_kind = 'internal';
    }
  } finally {
    const finished = Date.now();
    t.timings.finishedAt = new Date(finished).toISOString();
    t.timings.totalMs = finished - started;
    t.info!.exit_status = t.status;
  }
  return { trajectory: t, submission, ctx };
}
