import type { ChatMessage, PolicyInfo } from '../base/trajectory';

/** What a policy is asked for: the conversation so far and sampling settings. */
export interface PolicyRequest {
  messages: ChatMessage[];
  /** Maximum new tokens for this turn. */
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  /** Stop sequences; the CWM text protocol stops after `</tool>`. */
  stop?: string[];
  signal?: AbortSignal;
  /** Streaming callback for partial text, when the backend streams. */
  onToken?: (text: string) => void;
}

/** What a policy returns for one assistant turn. */
export interface PolicyResponse {
  text: string;
  /** Native tool calls (OpenAI function calling), when that mode is used. */
  toolCalls?: ChatMessage['tool_calls'];
  /** Token ids and log-probs of the sampled tokens, when the backend gives them. */
  tokenIds?: number[];
  logprobs?: number[];
  promptTokenIds?: number[];
  /** Temperature of the distribution `logprobs` come from (see TurnTokens.temperature); absent: 1. */
  logprobTemperature?: number;
  usage?: { promptTokens?: number; completionTokens?: number };
  finishReason?: 'stop' | 'length' | 'tool_calls' | 'error' | string;
}

export interface Policy {
  /** Describes the policy for trajectories; never includes secrets. */
  readonly info: PolicyInfo;
  complete(req: PolicyRequest): Promise<PolicyResponse>;
  /** Releases resources (model sessions, sockets). */
  dispose?(): Promise<void>;
}

/** A policy failure the episode should record as its cause. */
export class PolicyError extends Error {
  constructor(message: string, readonly retryable = false, readonly status?: number) {
    super(message);
    this.name = 'PolicyError';
  }
}
