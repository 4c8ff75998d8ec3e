/**
 * What a running or finished job means for the window: session events move
 * the views along, and a failed session or a failed model call becomes an
 * error the reporter can classify.
 */
import type { Trajectory } from '../../core/base/trajectory';
import type { SessionEvent } from '../../core/selfplay/session';
import type { JobControl } from '../jobs';
import type { CommandEnv } from './context';

/** A session event: the job's progress, the new run followed in the views, a refresh soon. */
export function onSessionEvent(env: CommandEnv, ctl: JobControl, e: SessionEvent): void {
  ctl.onSessionEvent(e);
  if (e.type === 'session-started') env.model.followNewRun(e.runDir);
  env.model.scheduleRefresh(150);
}

/** The session's failure note as an error the reporter can classify (Docker problems get their buttons). */
export function sessionError(note: string | undefined): Error {
  const e = new Error(note ?? 'the session failed (see the log)');
  if (note && /^paused: |Docker engine|container engine|sandbox image|docker\.sock|ECONNREFUSED/i.test(note)) e.name = 'EnvironmentError';
  return e;
}

export function isPolicyFailure(t: Pick<Trajectory, 'status' | 'info'> | undefined): boolean {
  return t?.status === 'error' && t.info?.error_kind === 'policy';
}
