/** What an agent episode is given (the sandbox, the policy, the prompts, the budgets) and what it returns. */
import type { Policy } from '../policy/types';
import type { SandboxLike } from '../sandbox/types';
import type { Role, Strategy, TaskInfo, Trajectory, TrajectoryStep } from '../base/trajectory';
import type { SubmitArgs } from './protocol';
import type { ShellSession } from './shell';
import type { WorkspaceTracker } from './workspace';

export const DEFAULT_MAX_TURNS = 64;
export const MAX_MAX_TURNS = 128;
export const DEFAULT_MAX_CONTEXT_TOKENS = 128_000;
export const DEFAULT_MAX_WALL_MS = 60 * 60_000;
export const DEFAULT_MAX_TOKENS_PER_TURN = 8192;
export const DEFAULT_MAX_FORMAT_ERRORS = 5;

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
