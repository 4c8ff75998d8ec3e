/**
 * The tool-call protocol: plain text, as in Meta's CWM scaffold, so that any
 * chat or completion model can drive the agent and the transcript is exactly
 * what the model saw and wrote.
 *
 * A reply may hold free text (the model's reasoning) followed by ONE tool
 * call:
 *
 *     <tool: NAME>
 *     ARGUMENTS
 *     </tool>
 *
 * The open tag is `<tool:` + the tool name + `>` followed by a newline; the
 * arguments run up to the newline before `</tool>`. Everything after the
 * first call is ignored (the agent is told when a second call was dropped).
 * Servers that stop on `</tool>` usually strip it: a reply that ends inside
 * a call whose sampling stopped normally is accepted as closed. In both
 * cases only the protocol's own newline before `</tool>` is dropped; the
 * arguments are otherwise kept byte for byte (trailing blank lines included).
 *
 * Argument formats:
 *
 * - `bash`: the command, any number of lines, run by bash in the persistent
 *   shell session (working directory and exported variables persist).
 * - `edit`: line 1 the file path; then exactly one block
 *
 *       <<<<<<< SEARCH
 *       exact lines to find (must occur exactly once in the file)
 *       =======
 *       the lines that replace them
 *       >>>>>>> REPLACE
 *
 * - `create`: line 1 the new file's path; the remaining lines are its
 *   content (a final newline is added). An existing path is an error.
 * - `submit`: injector: nothing (the five files in the repository root),
 *   a folder holding them, or the five paths (one per line, named with the
 *   standard file names in any order, or in the order test_script.sh,
 *   test_files.txt, test_parser.py, bug_inject.diff, test_weaken.diff).
 *   Solver: nothing (the working tree's changes are the patch) or the path
 *   of a patch file.
 *
 * Paths are taken relative to the shell's current directory.
 *
 * The same four tools are offered as JSON-schema functions for
 * OpenAI-compatible servers with native function calling (`toolMode:
 * 'native'`); calls made that way are turned into the same ToolCall.
 */

export const TOOL_NAMES = ['bash', 'edit', 'create', 'submit'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

export const OPEN_PREFIX = '<tool:';
export const CLOSE_TAG = '</tool>';
export const SEARCH_MARK = '<<<<<<< SEARCH';
export const DIVIDER_MARK = '=======';
export const REPLACE_MARK = '>>>>>>> REPLACE';

export interface ToolCall {
  /** The tool name as written (may be unknown). */
  name: string;
  /** The raw argument text. */
  args: string;
  /** The call's whole text, open tag to close tag. */
  raw: string;
  /** The close tag was missing (the server stopped on it, or the reply was cut). */
  unclosed: boolean;
  /** How many further tool calls the reply held (they are not run). */
  extraCalls: number;
  /** Set for native function calls: the call id to answer. */
  nativeId?: string;
}

export type ParseResult = { ok: true; call: ToolCall } | { ok: false; error: string };

const OPEN_RE = /<tool:\s*([^<>\n]*?)\s*>/;

/** The exact format, told to the model after a format error. */
export const FORMAT_REMINDER =
  'Every reply must end with exactly one tool call in this format (the tags on their own lines):\n' +
  '<tool: NAME>\nARGUMENTS\n</tool>\n' +
  `where NAME is one of ${TOOL_NAMES.join(', ')}. For example:\n<tool: bash>\nls -la\n</tool>`;

/**
 * Finds the first tool call in a reply. A reply with no open tag, or with a
 * `<tool` that is not a well-formed open tag, is a format error.
 */
export function parseToolCall(text: string): ParseResult {
  const m = OPEN_RE.exec(text);
  if (!m) {
    if (/<\s*tool\b/i.test(text)) {
      return { ok: false, error: `Malformed tool tag: the open tag must be written \`<tool: NAME>\` on its own line.\n${FORMAT_REMINDER}` };
    }
    return { ok: false, error: `No tool call found in your reply.\n${FORMAT_REMINDER}` };
  }
  const name = m[1].trim();
  if (!name) return { ok: false, error: `The tool tag names no tool.\n${FORMAT_REMINDER}` };
  let start = m.index + m[0].length;
  if (text.startsWith('\r\n', start)) start += 2;
  else if (text[start] === '\n') start += 1;
  const closeAt = text.indexOf(CLOSE_TAG, start);
  let args: string;
  let end: number;
  let unclosed = false;
  if (closeAt < 0) {
    unclosed = true;
    args = text.slice(start);
    end = text.length;
  } else {
    args = text.slice(start, closeAt);
    end = closeAt + CLOSE_TAG.length;
  }
  // The newline before </tool> belongs to the protocol, not to the arguments: exactly that one
  // newline is dropped, whether the close tag is there or the server stopped on it. Everything
  // else the model wrote (blank last lines of a diff, trailing spaces) is kept byte for byte:
  // what the model wrote is what runs and what the trainer sees.
  if (args.endsWith('\r\n')) args = args.slice(0, -2);
  else if (args.endsWith('\n')) args = args.slice(0, -1);
  const rest = text.slice(end);
  let extraCalls = 0;
  const re = new RegExp(OPEN_RE.source, 'g');
  while (re.exec(rest)) extraCalls++;
  return { ok: true, call: { name, args, raw: text.slice(m.index, end), unclosed, extraCalls } };
}

export function isToolName(name: string): name is ToolName {
  return (TOOL_NAMES as readonly string[]).includes(name);
}

/** Writes a call in the canonical text form. */
export function formatToolCall(name: string, args: string): string {
  return `<tool: ${name}>\n${args}${args.endsWith('\n') || args === '' ? '' : '\n'}${CLOSE_TAG}`;
}

// --- Arguments -------------------------------------------------------------

export interface EditArgs {
  path: string;
  search: string;
  replace: string;
}
export interface CreateArgs {
  path: string;
  content: string;
}
export interface SubmitArgs {
  /** Paths named (none: the defaults). */
  paths: string[];
}

export type ArgsResult<T> = { ok: true; value: T } | { ok: false; error: string };

const EDIT_FORMAT =
  'The edit tool takes the file path on the first line, then exactly one block:\n' +
  `${SEARCH_MARK}\nexact lines to find\n${DIVIDER_MARK}\nlines that replace them\n${REPLACE_MARK}`;

function splitFirstLine(args: string): [string, string] {
  const nl = args.indexOf('\n');
  if (nl < 0) return [args.trim(), ''];
  return [args.slice(0, nl).replace(/\r$/, '').trim(), args.slice(nl + 1)];
}

/** Parses `edit` arguments: path, then one SEARCH/REPLACE block. */
export function parseEditArgs(args: string): ArgsResult<EditArgs> {
  const [path, body] = splitFirstLine(args.replace(/^\n+/, ''));
  if (!path) return { ok: false, error: `The edit has no file path.\n${EDIT_FORMAT}` };
  if (path.startsWith(SEARCH_MARK)) return { ok: false, error: `The edit's first line must be the file path.\n${EDIT_FORMAT}` };
  const lines = body.split('\n').map((l) => l.replace(/\r$/, ''));
  const s = lines.findIndex((l) => l.trimEnd() === SEARCH_MARK);
  if (s < 0) return { ok: false, error: `The edit has no \`${SEARCH_MARK}\` line.\n${EDIT_FORMAT}` };
  if (lines.slice(0, s).some((l) => l.trim())) {
    return { ok: false, error: `Only the path may come before \`${SEARCH_MARK}\`.\n${EDIT_FORMAT}` };
  }
  const d = lines.findIndex((l, i) => i > s && l.trimEnd() === DIVIDER_MARK);
  if (d < 0) return { ok: false, error: `The edit has no \`${DIVIDER_MARK}\` line after \`${SEARCH_MARK}\`.\n${EDIT_FORMAT}` };
  const r = lines.findIndex((l, i) => i > d && l.trimEnd() === REPLACE_MARK);
  if (r < 0) return { ok: false, error: `The edit has no \`${REPLACE_MARK}\` line after \`${DIVIDER_MARK}\`.\n${EDIT_FORMAT}` };
  if (lines.slice(r + 1).some((l) => l.trim())) {
    return { ok: false, error: `The edit holds text after \`${REPLACE_MARK}\`; send one block per edit call.\n${EDIT_FORMAT}` };
  }
  const search = lines.slice(s + 1, d).join('\n');
  const replace = lines.slice(d + 1, r).join('\n');
  if (!search.trim()) return { ok: false, error: `The SEARCH part is empty; quote the exact lines to replace (use create for new files).\n${EDIT_FORMAT}` };
  return { ok: true, value: { path, search, replace } };
}

/** Parses `create` arguments: path, then the content. */
export function parseCreateArgs(args: string): ArgsResult<CreateArgs> {
  const [path, content] = splitFirstLine(args.replace(/^\n+/, ''));
  if (!path) return { ok: false, error: 'The create tool takes the new file\'s path on the first line and its content on the next lines.' };
  return { ok: true, value: { path, content: content.endsWith('\n') || content === '' ? content : content + '\n' } };
}

/** Parses `submit` arguments: zero or more paths, one per line (or separated by spaces). */
export function parseSubmitArgs(args: string): ArgsResult<SubmitArgs> {
  const paths = args
    .split(/\r?\n/)
    .flatMap((l) => l.trim().split(/\s+/))
    .filter(Boolean);
  return { ok: true, value: { paths } };
}

// --- Native function calling --------------------------------------------------

export interface NativeToolSchema {
  type: 'function';
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

function toolSchema(name: string, description: string, parameters: Record<string, unknown>): NativeToolSchema {
  return { type: 'function', function: { name, description, parameters } };
}

/** The four tools as OpenAI function schemas. */
export function nativeToolSchemas(role: 'injector' | 'solver'): NativeToolSchema[] {
  const submitDesc =
    role === 'injector'
      ? 'Submit the bug artifact. With no paths, the five files are read from the repository root. ' +
        'Otherwise give a folder holding them, or the five file paths.'
      : 'Submit your fix. With no path, the changes of the working tree against the starting commit are the patch; ' +
        'otherwise give the path of a patch file.';
  return [
    toolSchema('bash', 'Run a bash command in a persistent shell (cwd and exported variables persist).', {
      type: 'object',
      properties: { command: { type: 'string', description: 'The command to run.' } },
      required: ['command'],
    }),
    toolSchema('edit', 'Replace the one exact occurrence of `search` in a file with `replace`.', {
      type: 'object',
      properties: {
        path: { type: 'string' },
        search: { type: 'string', description: 'Exact text that occurs exactly once in the file.' },
        replace: { type: 'string' },
      },
      required: ['path', 'search', 'replace'],
    }),
    toolSchema('create', 'Create a new file (the path must not exist).', {
      type: 'object',
      properties: { path: { type: 'string' }, content: { type: 'string' } },
      required: ['path', 'content'],
    }),
    toolSchema('submit', submitDesc, {
      type: 'object',
      properties: { paths: { type: 'array', items: { type: 'string' } } },
    }),
  ];
}

/**
 * Turns a native function call into the text protocol's argument text, so
 * that both modes share one execution path. Returns an error for bad JSON.
 */
export function nativeCallToToolCall(
  call: { id?: string; function: { name: string; arguments: string } },
  extraCalls = 0,
): ParseResult {
  const name = call.function.name;
  let a: Record<string, unknown>;
  try {
    const v = JSON.parse(call.function.arguments || '{}') as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    a = v as Record<string, unknown>;
  } catch (err) {
    return { ok: false, error: `The arguments of your ${name} call are not a JSON object (${(err as Error).message}).` };
  }
  const str = (k: string): string => (typeof a[k] === 'string' ? (a[k] as string) : '');
  let args: string;
  switch (name) {
    case 'bash':
      args = str('command');
      break;
    case 'edit':
      args = `${str('path')}\n${SEARCH_MARK}\n${str('search')}\n${DIVIDER_MARK}\n${str('replace')}\n${REPLACE_MARK}`;
      break;
    case 'create':
      args = `${str('path')}\n${str('content').replace(/\n$/, '')}`;
      break;
    case 'submit': {
      const p = a.paths ?? a.path;
      args = Array.isArray(p) ? p.map(String).join('\n') : typeof p === 'string' ? p : '';
      break;
    }
    default:
      args = call.function.arguments ?? '';
  }
  return {
    ok: true,
    call: { name, args, raw: formatToolCall(name, args), unclosed: false, extraCalls, nativeId: call.id },
  };
}
