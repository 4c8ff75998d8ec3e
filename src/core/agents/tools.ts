/**
 * The four tools the agent calls (bash, edit, create, submit), run in the
 * sandbox. A tool's result is an observation; what the model got wrong
 * (bad arguments, an unknown tool) is a format error, not a failure.
 */
import { sh } from '../sandbox/baseline';
import type { AgentContext, SubmitHandler } from './options';
import { FORMAT_REMINDER, TOOL_NAMES, parseCreateArgs, parseEditArgs, parseSubmitArgs, type ToolCall } from './protocol';
import { applyEdit } from './edit';
import { readAsAgent, writeAsAgent } from './files';
import { AGENT_USER } from './shell';

/** What running one tool call gave. */
export interface Executed<T> {
  output: string;
  exitCode: number | null;
  error?: string;
  parsed?: Record<string, unknown>;
  /** Files may have changed: take the step's diff. */
  mayChangeFiles: boolean;
  restarted?: string;
  formatError?: boolean;
  /** What submit accepted. */
  submitted?: { value: T; submission?: string };
}

/** What the tools are handed besides the call. */
export interface ToolEnv<T> {
  ctx: AgentContext;
  onSubmit: SubmitHandler<T>;
  commandTimeoutMs: number;
  deadline: number;
}

/** A reply the tools cannot run: counted towards the format-error limit. */
export function formatError<T>(error: string, output = `ERROR: ${error}`): Executed<T> {
  return { output, exitCode: null, error, mayChangeFiles: false, formatError: true };
}

/** A tool that ran and refused (no such file, no match): exit code 1, nothing changed. */
function refused<T>(error: string, parsed: Record<string, unknown>): Executed<T> {
  return { output: `ERROR: ${error}`, exitCode: 1, error, parsed, mayChangeFiles: false };
}

export async function runTool<T>(call: ToolCall, env: ToolEnv<T>): Promise<Executed<T>> {
  switch (call.name) {
    case 'bash':
      return runBash(call.args, env);
    case 'edit':
      return runEdit(call.args, env.ctx);
    case 'create':
      return runCreate(call.args, env.ctx);
    case 'submit':
      return runSubmit(call.args, env);
    default: {
      const e = `unknown tool \`${call.name}\`; the tools are ${TOOL_NAMES.join(', ')}.`;
      return formatError(e, `ERROR: ${e}\n${FORMAT_REMINDER}`);
    }
  }
}

async function runBash<T>(command: string, env: ToolEnv<T>): Promise<Executed<T>> {
  if (!command.trim()) return formatError('empty command', 'ERROR: the bash tool needs a command.');
  const { shell, sandbox, signal } = env.ctx;
  const timeoutMs = Math.max(1000, Math.min(env.commandTimeoutMs, env.deadline - Date.now()));
  const r = await shell.run(command, { timeoutMs, signal });
  let out = r.output.length ? r.output : '(no output)';
  if (out.length && !out.endsWith('\n')) out += '\n';
  if (r.restarted) {
    out += `[${r.restartReason}; the shell session was restarted: working directory and environment are back to ${sandbox.repoPath} and the defaults]`;
  } else {
    out += `[exit code: ${r.exitCode ?? 'killed'}]`;
  }
  return {
    output: out,
    exitCode: r.exitCode,
    parsed: { command },
    mayChangeFiles: true,
    restarted: r.restartReason,
    error: r.timedOut ? 'timeout' : r.flooded ? 'output flood' : undefined,
  };
}

async function runEdit<T>(args: string, { sandbox, shell }: AgentContext): Promise<Executed<T>> {
  const a = parseEditArgs(args);
  if (!a.ok) return formatError(a.error);
  const path = shell.resolve(a.value.path);
  const parsed = { path, search: a.value.search, replace: a.value.replace };
  const read = await readAsAgent(sandbox, path);
  if (!read.ok) return refused(`cannot edit ${path}: ${read.error}${read.error === 'no such file' ? ' (use create for a new file)' : ''}.`, parsed);
  const r = applyEdit(read.content, a.value.search, a.value.replace, path);
  if (!r.ok) return refused(r.error, { ...parsed, matches: r.matches });
  const failed = await writeAsAgent(sandbox, path, r.content);
  if (failed) return refused(`cannot edit ${path}: ${failed}.`, parsed);
  return { output: `Edited ${path} (now lines ${r.startLine}-${r.endLine}):\n${r.context}\n`, exitCode: 0, parsed, mayChangeFiles: true };
}

async function runCreate<T>(args: string, { sandbox, shell }: AgentContext): Promise<Executed<T>> {
  const a = parseCreateArgs(args);
  if (!a.ok) return formatError(a.error);
  const path = shell.resolve(a.value.path);
  const parsed = { path, content: a.value.content };
  const probe = await sandbox.exec(`test -e ${sh(path)} || test -L ${sh(path)}`, { cwd: '/', timeoutMs: 30_000, ...AGENT_USER });
  if (probe.exitCode === 0) return refused(`${path} already exists; use edit to change it (or bash to remove it first).`, parsed);
  const failed = await writeAsAgent(sandbox, path, a.value.content, true);
  if (failed) return refused(`cannot create ${path}: ${failed}`, parsed);
  const lines = a.value.content.split('\n').length - 1;
  return { output: `Created ${path} (${lines} line${lines === 1 ? '' : 's'}).\n`, exitCode: 0, parsed, mayChangeFiles: true };
}

async function runSubmit<T>(args: string, env: ToolEnv<T>): Promise<Executed<T>> {
  const a = parseSubmitArgs(args);
  const parsed = { paths: a.ok ? a.value.paths : [] };
  const r = await env.onSubmit(a.ok ? a.value : { paths: [] }, env.ctx);
  if (!r.ok) return refused(r.error, parsed);
  return { output: r.message, exitCode: 0, parsed, mayChangeFiles: false, submitted: { value: r.value, submission: r.submission } };
}
