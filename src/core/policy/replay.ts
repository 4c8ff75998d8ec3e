/**
 * The `replay` policy: plays back the assistant messages of a recorded
 * trajectory, in order, one per `complete()` call, with their recorded token
 * ids / log-probs / prompt ids / usage when the trajectory has them
 * (`Trajectory.tokens`, matched by `messageIndex`).
 *
 * Sources: a Trajectory object or JSON file (`ssr-trajectory/1`), a line of
 * `trajectories.jsonl` (TrajectoryRecord), any JSON object with a `messages`
 * array (mini-swe-agent `.traj.json`), a JSON array of assistant strings, or
 * an in-memory list of strings / assistant messages. When the recording runs
 * out, `complete()` throws PolicyError("replay exhausted after N turns").
 * The request's messages are not checked against the recording.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChatMessage, PolicyInfo, Trajectory, TurnTokens } from '../base/trajectory';
import { CancelledError } from '../base/errors';
import { PolicyError, type Policy, type PolicyRequest, type PolicyResponse } from './types';

export interface ReplayPolicyOptions {
  /** A trajectory (object) or the path of a trajectory JSON file. */
  trajectory?: Trajectory | { messages: ChatMessage[]; tokens?: TurnTokens[] } | string;
  /** Assistant turns given directly: strings or assistant messages. */
  messages?: Array<string | ChatMessage>;
  /** Start over at the first turn when exhausted instead of failing (default false). */
  loop?: boolean;
}

interface Turn {
  message: ChatMessage;
  tokens?: TurnTokens;
}

function loadSource(src: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(src, 'utf8');
  } catch (err) {
    throw new PolicyError(`cannot read replay file ${src}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    // A .jsonl with one record: take the first non-empty line.
    const first = text.split('\n').find((l) => l.trim());
    if (first && text.trim().split('\n').length > 1) {
      try {
        return JSON.parse(first);
      } catch {
        /* fall through */
      }
    }
    throw new PolicyError(`replay file ${src} is not JSON (expected a trajectory or a list of assistant messages)`);
  }
}

function turnsOf(data: unknown, origin: string): Turn[] {
  if (Array.isArray(data)) {
    return data.map((item, i) => {
      if (typeof item === 'string') return { message: { role: 'assistant', content: item } };
      if (item && typeof item === 'object' && typeof (item as ChatMessage).content === 'string') {
        return { message: { ...(item as ChatMessage), role: 'assistant' } };
      }
      throw new PolicyError(`${origin}: item ${i} is neither a string nor a message with content`);
    });
  }
  if (data && typeof data === 'object' && Array.isArray((data as { messages?: unknown }).messages)) {
    const t = data as { messages: ChatMessage[]; tokens?: TurnTokens[] };
    const byIndex = new Map<number, TurnTokens>();
    for (const tok of Array.isArray(t.tokens) ? t.tokens : []) {
      if (tok && typeof tok.messageIndex === 'number') byIndex.set(tok.messageIndex, tok);
    }
    const turns: Turn[] = [];
    t.messages.forEach((m, i) => {
      if (m && m.role === 'assistant') turns.push({ message: { ...m, content: m.content ?? '' }, tokens: byIndex.get(i) });
    });
    return turns;
  }
  throw new PolicyError(`${origin}: expected a trajectory (with a messages array) or a list of assistant messages`);
}

export class ReplayPolicy implements Policy {
  readonly info: PolicyInfo;
  private readonly turns: Turn[];
  private next = 0;
  private readonly loop: boolean;

  constructor(opts: ReplayPolicyOptions) {
    let origin = 'replay';
    let data: unknown;
    let model: string | undefined;
    if (opts.messages) {
      data = opts.messages;
      origin = 'replay messages';
    } else if (typeof opts.trajectory === 'string') {
      origin = opts.trajectory;
      data = loadSource(opts.trajectory);
      model = `replay:${path.basename(opts.trajectory)}`;
    } else if (opts.trajectory) {
      data = opts.trajectory;
      const t = opts.trajectory as Partial<Trajectory>;
      model = t.id ? `replay:${t.id}` : undefined;
    } else {
      throw new PolicyError('replay policy needs a trajectory (file or object) or a list of messages');
    }
    this.turns = turnsOf(data, origin);
    if (this.turns.length === 0) throw new PolicyError(`${origin}: no assistant messages to replay`);
    this.loop = !!opts.loop;
    const recorded = (data as Partial<Trajectory>)?.policy;
    this.info = { kind: 'replay', model: model ?? recorded?.model ?? 'replay' };
    if (recorded?.temperature !== undefined) this.info.temperature = recorded.temperature;
    if (recorded?.topP !== undefined) this.info.topP = recorded.topP;
  }

  /** Number of recorded assistant turns, and how many were played. */
  get length(): number {
    return this.turns.length;
  }
  get played(): number {
    return this.next;
  }

  async complete(req: PolicyRequest): Promise<PolicyResponse> {
    if (req.signal?.aborted) throw new CancelledError();
    if (this.next >= this.turns.length) {
      if (!this.loop) throw new PolicyError(`replay exhausted after ${this.turns.length} turns`);
      this.next = 0;
    }
    const turn = this.turns[this.next++];
    const text = turn.message.content ?? '';
    req.onToken?.(text);
    const out: PolicyResponse = { text, finishReason: turn.message.tool_calls?.length ? 'tool_calls' : 'stop' };
    if (turn.message.tool_calls?.length) out.toolCalls = turn.message.tool_calls.map((c) => ({ ...c, function: { ...c.function } }));
    const tk = turn.tokens;
    if (tk?.tokenIds) out.tokenIds = [...tk.tokenIds];
    if (tk?.logprobs) out.logprobs = [...tk.logprobs];
    if (tk?.promptTokenIds) out.promptTokenIds = [...tk.promptTokenIds];
    if (tk?.usage) out.usage = { ...tk.usage };
    return out;
  }

  /** Starts over at the first turn. */
  reset(): void {
    this.next = 0;
  }
}
