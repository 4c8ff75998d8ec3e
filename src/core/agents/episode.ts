/**
 * One episode's state as the loop runs it: its limits, what the tools reach,
 * the trajectory being written and the running counts; how it starts, when
 * it must stop, and how its end is recorded.
 */
import { randomUUID } from 'node:crypto';
import { TRAJECTORY_FORMAT, type ChatMessage, type EpisodeStatus, type Role, type Trajectory } from '../base/trajectory';
import { isCancelled } from '../base/errors';
import {
  DEFAULT_MAX_CONTEXT_TOKENS,
  DEFAULT_MAX_FORMAT_ERRORS,
  DEFAULT_MAX_TOKENS_PER_TURN,
  DEFAULT_MAX_TURNS,
  DEFAULT_MAX_WALL_MS,
  MAX_MAX_TURNS,
  type AgentContext,
  type AgentOptions,
  type ErrorKind,
  type ToolMode,
} from './options';
import { ShellSession, DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_FLOOD_BYTES } from './shell';
import { WorkspaceTracker } from './workspace';
import { estimateTokens, DEFAULT_MAX_OBSERVATION_CHARS, type BudgetState } from './text';

/** Below this many context tokens left, no further turn is started. */
const MIN_TURN_TOKENS = 256;

/** The budgets with their defaults filled in, and the episode's clock. */
export interface Limits {
  maxTurns: number;
  maxContext: number;
  maxWallMs: number;
  maxObs: number;
  maxFormatErrors: number;
  maxTokensPerTurn: number;
  commandTimeoutMs: number;
  toolMode: ToolMode;
  started: number;
  deadline: number;
}

export interface Episode<T> {
  opts: AgentOptions<T>;
  limits: Limits;
  ctx: AgentContext;
  /** The trajectory being written; its messages are the history the policy sees. */
  t: Trajectory;
  messages: ChatMessage[];
  /** The context's size so far, in tokens. */
  contextTokens: number;
  /** Consecutive replies without a usable tool call. */
  formatErrors: number;
  /** What submit returned, once the agent submitted. */
  submission?: T;
}

/** Ends the episode with a status; thrown anywhere in a turn, caught by the loop. */
export class EpisodeEnd extends Error {
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

function resolveLimits(opts: AgentOptions<unknown>): Limits {
  const started = Date.now();
  const maxWallMs = opts.maxWallMs ?? DEFAULT_MAX_WALL_MS;
  return {
    maxTurns: Math.min(MAX_MAX_TURNS, Math.max(1, opts.maxTurns ?? DEFAULT_MAX_TURNS)),
    maxContext: opts.maxContextTokens ?? DEFAULT_MAX_CONTEXT_TOKENS,
    maxWallMs,
    maxObs: opts.maxObservationChars ?? DEFAULT_MAX_OBSERVATION_CHARS,
    maxFormatErrors: opts.maxFormatErrors ?? DEFAULT_MAX_FORMAT_ERRORS,
    maxTokensPerTurn: opts.maxTokensPerTurn ?? DEFAULT_MAX_TOKENS_PER_TURN,
    commandTimeoutMs: opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    toolMode: opts.toolMode ?? 'text',
    started,
    deadline: started + maxWallMs,
  };
}

function newTrajectory(opts: AgentOptions<unknown>, limits: Limits, messages: ChatMessage[]): Trajectory {
  const { maxTurns, maxContext, maxWallMs, toolMode } = limits;
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
    timings: { startedAt: new Date(limits.started).toISOString(), policyMs: 0, toolMs: 0 },
    info: {
      budget: { maxTurns, maxContextTokens: maxContext, maxWallMs, toolMode },
    },
  };
  if (opts.temperature !== undefined) t.policy.temperature = opts.temperature;
  if (opts.topP !== undefined) t.policy.topP = opts.topP;
  return t;
}

/** The episode before its first turn: [system, task] in the history, the shell and workspace not yet started. */
export function startEpisode<T>(opts: AgentOptions<T>): Episode<T> {
  const limits = resolveLimits(opts as AgentOptions<unknown>);
  const sandbox = opts.sandbox;
  const shell = new ShellSession(sandbox, {
    timeoutMs: limits.commandTimeoutMs,
    maxOutputBytes: opts.maxOutputBytes ?? DEFAULT_FLOOD_BYTES,
  });
  const ctx: AgentContext = { sandbox, shell, workspace: new WorkspaceTracker(sandbox), signal: opts.signal };
  const messages: ChatMessage[] = [
    { role: 'system', content: opts.systemPrompt },
    { role: 'user', content: opts.taskPrompt },
  ];
  const t = newTrajectory(opts as AgentOptions<unknown>, limits, messages);
  const contextTokens = messages.reduce((n, m) => n + estimateTokens(m.content), 0);
  return { opts, limits, ctx, t, messages, contextTokens, formatErrors: 0 };
}

/** Starts the workspace tracker and the shell, then the caller's onReady. */
export async function prepareWorkspace(ep: Episode<unknown>): Promise<void> {
  checkAbort(ep);
  try {
    await ep.ctx.workspace.init();
    await ep.ctx.shell.restart();
    await ep.opts.onReady?.(ep.ctx);
  } catch (err) {
    throw sandboxEnd(ep, err, 'preparing the workspace failed');
  }
}

/** The episode end for a failure of the sandbox: cancelled when the caller cancelled. */
export function sandboxEnd(ep: Episode<unknown>, err: unknown, what: string): EpisodeEnd {
  if (isCancelled(err) || ep.opts.signal?.aborted) return new EpisodeEnd('cancelled', 'cancelled');
  return new EpisodeEnd('error', `${what}: ${(err as Error).message}`, 'sandbox');
}

export function checkAbort(ep: Episode<unknown>): void {
  if (ep.opts.signal?.aborted) throw new EpisodeEnd('cancelled', 'cancelled');
}

export function wallTimeEnd(limits: Limits, when = ''): EpisodeEnd {
  return new EpisodeEnd('timeout', `the episode's wall-time budget (${Math.round(limits.maxWallMs / 1000)} s) ran out${when}`);
}

/** Checks that turn `turn` (from 1) may start; returns the new tokens it may use. */
export function startTurn(ep: Episode<unknown>, turn: number): number {
  const { maxTurns, maxContext, deadline, maxTokensPerTurn } = ep.limits;
  if (turn > maxTurns) throw new EpisodeEnd('max_turns', `the turn budget (${maxTurns}) ran out before submit`);
  checkAbort(ep);
  if (Date.now() >= deadline) throw wallTimeEnd(ep.limits);
  const tokensLeft = maxContext - ep.contextTokens;
  if (tokensLeft < MIN_TURN_TOKENS) {
    throw new EpisodeEnd('max_tokens', `the context budget (${maxContext} tokens) is used up (${ep.contextTokens} tokens)`);
  }
  return Math.min(maxTokensPerTurn, tokensLeft);
}

export function budgetLeft(ep: Episode<unknown>, turnsUsed: number): BudgetState {
  return {
    turnsLeft: ep.limits.maxTurns - turnsUsed,
    tokensLeft: ep.limits.maxContext - ep.contextTokens,
    msLeft: ep.limits.deadline - Date.now(),
  };
}

/** Records why the episode stopped (an EpisodeEnd, or anything else as an internal error). */
export function recordEnd(ep: Episode<unknown>, err: unknown): void {
  const { t } = ep;
  const aborted = ep.opts.signal?.aborted;
  if (err instanceof EpisodeEnd) {
    t.status = err.status;
    if (err.status !== 'submitted') t.error = err.message;
    if (err.kind) t.info!.error_kind = err.kind;
  } else {
    t.status = aborted ? 'cancelled' : 'error';
    t.error = aborted ? 'cancelled' : `internal error: ${(err as Error)?.stack ?? String(err)}`;
    if (!aborted) t.info!.error_kind = 'internal';
  }
}

/** The episode's finishing time and exit status, whatever ended it. */
export function recordFinish(ep: Episode<unknown>): void {
  const finished = Date.now();
  ep.t.timings.finishedAt = new Date(finished).toISOString();
  ep.t.timings.totalMs = finished - ep.limits.started;
  ep.t.info!.exit_status = ep.t.status;
}
