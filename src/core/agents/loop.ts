/**
 * The agent loop: a linear message history and one tool call per turn, in
 * the spirit of mini-swe-agent, so that a trajectory is easy to read and to
 * train on.
 *
 *   messages = [system, task]
 *   repeat until submit or a budget runs out:
 *     reply  = policy(messages)            (one assistant message)       ask.ts
 *     call   = first tool call in reply    (format errors become observations)
 *     result = run call in the sandbox     (bash | edit | create | submit) tools.ts
 *     messages += [reply, observation + budget line]                     step.ts
 *
 * Nothing the model or the model server does crashes the loop: bad replies
 * are observations, and failures end the episode with a status and a cause
 * (episode.ts). The loop never creates or disposes the sandbox; the episode does.
 */
import { askPolicy, readReply, recordReply } from './ask';
import { EpisodeEnd, prepareWorkspace, recordEnd, recordFinish, startEpisode, startTurn, type Episode } from './episode';
import type { AgentOptions, AgentResult } from './options';
import { episodeEnds, recordStep, runStep } from './step';
import type { TrajectoryStep } from '../base/trajectory';

/** What an episode is given and returns (options.ts) stays importable from here. */
export * from './options';
export { newEpisodeId } from './episode';

/** Runs one agent episode in an existing sandbox. Never throws; failures are in the trajectory's status. */
export async function runAgent<T>(opts: AgentOptions<T>): Promise<AgentResult<T>> {
  const ep = startEpisode(opts);
  try {
    await prepareWorkspace(ep);
    for (let turn = 1; ep.t.status !== 'submitted'; turn++) {
      const reply = readReply(await askPolicy(ep, startTurn(ep, turn)));
      const messageIndex = recordReply(ep, reply);
      const run = await runStep(ep, reply.parse);
      const step = recordStep(ep, turn, messageIndex, reply, run);
      endTurn(ep, step);
    }
  } catch (err) {
    recordEnd(ep, err);
  } finally {
    recordFinish(ep);
  }
  return { trajectory: ep.t, submission: ep.submission, ctx: ep.ctx };
}

/** Tells the listener about the step; ends the episode on submit or on one format error too many. */
function endTurn<T>(ep: Episode<T>, step: TrajectoryStep): void {
  try {
    ep.opts.onStep?.(step, ep.t);
  } catch {
    /* a listener's fault is not the episode's */
  }
  if (ep.submission !== undefined) ep.t.status = 'submitted';
  else if (episodeEnds(ep)) throw new EpisodeEnd('error', `${ep.formatErrors} consecutive replies without a usable tool call`, 'format');
}
