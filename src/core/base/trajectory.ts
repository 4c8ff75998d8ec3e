/**
 * The trajectory format: one JSON document per episode (injector or solver).
 *
 * Close to mini-swe-agent's `.traj.json` (a `messages` array in OpenAI chat
 * format plus an `info` block) so that others' tools can read it, with SSR's
 * own fields next to it: the role, the task, each tool step, the sampled
 * token ids and log-probabilities the trainer needs, the outcome and reward.
 *
 * Written by the agent loop, appended (as a summary record) to a run's
 * `trajectories.jsonl` by the self-play session, read by `ssr show`, the
 * extension's stepper and the Python trainer in runtime/.
 */

export const TRAJECTORY_FORMAT = 'ssr-trajectory/1' as const;

export type Role = 'injector' | 'solver';
export type Strategy = 'removal' | 'history' | 'direct';

/** A chat message in OpenAI format. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  /** OpenAI native function calling, when used. */
  tool_calls?: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }>;
  tool_call_id?: string;
}

/** One tool call the agent made and what the sandbox answered. */
export interface TrajectoryStep {
  /**
   * 0-based index of the step. The agent loop records one step per assistant
   * turn: a turn with no usable tool call (a format error) is a step with
   * `tool: ''` and `error` set, so step i was produced by the i-th assistant turn.
   */
  index: number;
  /** Index into `messages` of the assistant message that made this call. */
  messageIndex: number;
  /** Tool name: bash | edit | create | submit, or the unknown name the model used. */
  tool: string;
  /** Raw argument text as the model wrote it, and the parsed form. */
  arguments: string;
  parsed?: Record<string, unknown>;
  /** The observation sent back to the model (already truncated as sent). */
  output: string;
  exitCode: number | null;
  truncated: boolean;
  /** True when the call could not be executed (parse error, unknown tool, bad edit...). */
  error?: string;
  durationMs: number;
  /**
   * Unified diff of the working tree made by this step, when the step changed
   * files: the delta against the state after the previous step (not the
   * cumulative diff since the start), new files included.
   */
  diff?: string;
  /** The diff was larger than the agent loop keeps (256 KiB) and was cut. */
  diffTruncated?: boolean;
  /** Set when the bash session was restarted after this step (timeout, output flood): the reason. */
  restarted?: string;
}

/** Per assistant turn: what the policy sampled, for the trainer. */
export interface TurnTokens {
  /** Index into `messages` of the assistant message. */
  messageIndex: number;
  /** Token ids of the sampled completion (absent when the backend gives none). */
  tokenIds?: number[];
  /** Log-probability of each sampled token under the sampling policy. */
  logprobs?: number[];
  /** Token ids of the full prompt the completion was sampled from, when known. */
  promptTokenIds?: number[];
  /**
   * The temperature of the distribution `logprobs` were taken from: log_softmax(logits / T).
   * The sampling temperature for the onnx policy; 1 for servers that report raw log-probs
   * (vLLM's default). The trainer scores tokens at the same T. Absent: 1.
   */
  temperature?: number;
  usage?: { promptTokens?: number; completionTokens?: number };
}

export interface PolicyInfo {
  kind: 'openai' | 'onnx' | 'replay' | 'bootstrap' | string;
  model?: string;
  temperature?: number;
  topP?: number;
  /** Never holds secrets: API keys are not recorded. */
  baseUrl?: string;
  /** Which version of the policy sampled the episode (set when the session trains: --train-every). */
  version?: PolicyVersion;
}

/**
 * A version of the trained policy: the model folder or served adapter name, and the number of
 * policy updates behind it (0 = the policy the session started with).
 */
export interface PolicyVersion {
  model: string;
  step: number;
}

export interface TaskInfo {
  repo: string;
  /** Stable id of the bug artifact (solver episodes, and the injector's output). */
  artifactId?: string;
  /** 1 for a first-order bug, 2 for a higher-order bug. */
  order?: number;
  /** For solver episodes: the attempt number within the bug's group (0-based). */
  attempt?: number;
  image?: string;
}

export type EpisodeStatus =
  | 'submitted' // the agent called submit
  | 'max_turns'
  | 'max_tokens'
  | 'timeout'
  | 'cancelled'
  | 'error'; // policy or sandbox failure; see `error`

export interface Trajectory {
  format: typeof TRAJECTORY_FORMAT;
  id: string;
  role: Role;
  strategy?: Strategy;
  policy: PolicyInfo;
  task: TaskInfo;
  /** The conversation in OpenAI chat format (mini-swe-agent compatible). */
  messages: ChatMessage[];
  steps: TrajectoryStep[];
  tokens: TurnTokens[];
  status: EpisodeStatus;
  error?: string;
  /**
   * The episode's outcome: for the injector, the artifact's check verdicts
   * (`{ valid, checks: [...] }`); for the solver, the evaluation
   * (`{ solved, reward, detail, ... }`).
   */
  outcome?: Record<string, unknown>;
  /** r_inject (injector) or r_solve (solver); filled when known. */
  reward?: number;
  timings: { startedAt: string; finishedAt?: string; totalMs?: number; policyMs?: number; toolMs?: number };
  /** mini-swe-agent style summary block. */
  info?: { exit_status?: string; submission?: string; [k: string]: unknown };
}

/**
 * One line of a run's `trajectories.jsonl`: what the trainer reads.
 * `path` points (relative to the run directory) at the full trajectory JSON.
 * `group` names the GRPO group: the N solver attempts on one bug share
 * `solve:<bugId>`, the injector proposals of one round share `inject:<round>`.
 */
export interface TrajectoryRecord {
  id: string;
  role: Role;
  group: string;
  reward: number;
  bugId?: string;
  round?: number;
  attempt?: number;
  path: string;
  messages: ChatMessage[];
  tokens: TurnTokens[];
  policy: PolicyInfo;
  /** The policy version that sampled this trajectory (copied from `policy.version`); the trainer refuses other versions. */
  policyVersion?: PolicyVersion;
  /** Set on a solver attempt the judge found tampered (rewarded -1; the evaluation in `path`'s outcome says why). Absent otherwise. */
  tampered?: true;
}
