/**
 * The edit and create tools' file access, as the agent's unprivileged user
 * (the shell's): a path the model names is opened with that user's rights,
 * so a link or a path into the judge's folders reaches nothing the model's
 * own shell could not.
 */
import type { SandboxLike } from '../sandbox/types';
import { sh } from '../sandbox/baseline';
import { SandboxError } from '../base/errors';
import { AGENT_USER } from './shell';

/** Files larger than this are not edited through the edit tool. */
export const MAX_EDIT_BYTES = 4 << 20;

export type FileRead = { ok: true; content: string } | { ok: false; error: string };

/** Why a file command failed, in the words of its message. */
function why(stderr: string): string {
  if (/No such file/i.test(stderr)) return 'no such file';
  if (/Is a directory/i.test(stderr)) return 'it is a folder';
  if (/Permission denied|Operation not permitted/i.test(stderr)) return 'permission denied (the agent works as an unprivileged user)';
  return stderr.trim().split('\n').slice(-1)[0] || 'it cannot be read';
}

/** Reads a text file as the agent's user. */
export async function readAsAgent(sb: SandboxLike, path: string): Promise<FileRead> {
  const r = await sb.exec(`cat -- ${sh(path)}`, { cwd: '/', timeoutMs: 30_000, maxOutputBytes: MAX_EDIT_BYTES, ...AGENT_USER });
  if (r.exitCode !== 0) return { ok: false, error: why(r.stderr) };
  if (r.truncated) return { ok: false, error: `it is larger than ${MAX_EDIT_BYTES >> 20} MB (use bash to change it)` };
  return { ok: true, content: r.stdout };
}

/** Writes a text file as the agent's user, making its folders when `mkdirs`. Returns why not, or undefined. */
export async function writeAsAgent(sb: SandboxLike, path: string, content: string, mkdirs = false): Promise<string | undefined> {
  const dir = path.replace(/\/[^/]*$/, '') || '/';
  const cmd = `${mkdirs ? `mkdir -p -- ${sh(dir)} && ` : ''}cat > ${sh(path)}`;
  const r = await sb.exec(cmd, { cwd: '/', timeoutMs: 30_000, stdin: content, ...AGENT_USER });
  if (r.timedOut) throw new SandboxError(`writing ${path} did not finish within 30 s`);
  return r.exitCode === 0 ? undefined : why(r.stderr);
}
