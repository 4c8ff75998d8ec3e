/**
 * The part of the system prompt that teaches the tool protocol. Shared by
 * both roles; the submit tool's meaning differs per role.
 */
import type { Role } from '../../base/trajectory';
import { ARTIFACT_FILES } from '../../artifact/artifact';

export interface ToolDocOptions {
  role: Role;
  repoPath: string;
  /** Native function calling: the schemas carry the formats, the text protocol is not taught. */
  native?: boolean;
  /** The bash tool's per-command timeout (default 120 s) and output limit (default 480 KiB), as told to the model. */
  commandTimeoutMs?: number;
  maxOutputBytes?: number;
}

function submitDoc(role: Role, repoPath: string): string {
  if (role === 'injector') {
    return [
      '### submit',
      `Ends your work and hands in the bug artifact. With no arguments, the five files ${ARTIFACT_FILES.join(', ')}`,
      `are read from the repository root (${repoPath}). You may instead give the folder that holds them, or the`,
      'five paths, one per line. The files are removed from the repository once read. Submit only once, when',
      'you have checked everything: you cannot continue afterwards.',
      '',
      '<tool: submit>',
      '</tool>',
    ].join('\n');
  }
  return [
    '### submit',
    'Ends your work and hands in your fix. With no arguments, all changes of the working tree against the',
    'starting commit (new files included) are the patch. You may instead give the path of a patch file.',
    'Submit only once, when you are done: you cannot continue afterwards.',
    '',
    '<tool: submit>',
    '</tool>',
  ].join('\n');
}

/** Native function calling: the schemas carry the formats, so only what the tools are for is told. */
function nativeToolDocs(role: Role, repoPath: string): string {
  return [
    '## Tools',
    '',
    'Call exactly one tool per reply with the function-calling interface: bash (a persistent shell: the working',
    'directory and exported variables persist between calls), edit (replace one exact, unique block of text in a',
    'file), create (a new file) and submit (end the episode). Write a short thought before each call.',
    '',
    submitDoc(role, repoPath).split('\n').slice(1, -3).join('\n'),
  ].join('\n');
}

/** The text protocol: one tool call per reply, between tags on their own lines. */
const PROTOCOL_DOC = [
  '## Tools',
  '',
  'You act through tools. Every reply is a short thought followed by exactly ONE tool call, written as',
  '',
  '<tool: NAME>',
  'ARGUMENTS',
  '</tool>',
  '',
  'with the open and close tags on their own lines. Only the first call of a reply is run. After each call',
  'you receive its result, ending with the budget you have left, e.g. `[turns left: 12]`. Relative paths are',
  'taken from the shell\'s current directory.',
];

/** The bash tool, with the limits it runs under (seconds per command, KB of output). */
function bashDoc(secs: number, kb: number): string[] {
  return [
    '### bash',
    'Runs a bash command in a persistent shell session: the working directory and exported environment',
    'variables persist between calls (shell functions and unexported variables do not). Standard output and',
    `error are returned together. A command is killed after ${secs} s, and one that prints more than about ${kb} KB`,
    'is stopped; in both cases the session is restarted (back to the repository folder). Long output is cut',
    'in the middle, so filter it (grep, head, tail). Nothing is interactive: stdin is empty, and there is no',
    'network access.',
    '',
    '<tool: bash>',
    'grep -rn "def parse" src/ | head -20',
    '</tool>',
  ];
}

const EDIT_DOC = [
  '### edit',
  'Replaces one block of text in an existing file. The first line is the file path, followed by one',
  'SEARCH/REPLACE block. The SEARCH text must match the file exactly (whitespace included) and occur exactly',
  'once; include enough surrounding lines to make it unique. The result shows the edited lines in context.',
  '',
  '<tool: edit>',
  'src/util.py',
  '<<<<<<< SEARCH',
  'def add(a, b):',
  '    return a - b',
  '=======',
  'def add(a, b):',
  '    return a + b',
  '>>>>>>> REPLACE',
  '</tool>',
];

const CREATE_DOC = [
  '### create',
  'Creates a new file: the first line is its path, the following lines its content (a final newline is',
  'added). Parent folders are created. The path must not exist yet; use edit (or bash) to change an existing',
  'file. The content cannot contain a line `</tool>`.',
  '',
  '<tool: create>',
  'tests/test_new.py',
  'def test_one():',
  '    assert 1 + 1 == 2',
  '</tool>',
];

export function toolDocs(opts: ToolDocOptions): string {
  const { role, repoPath } = opts;
  const secs = Math.round((opts.commandTimeoutMs ?? 120_000) / 1000);
  const kb = Math.round((opts.maxOutputBytes ?? 480 * 1024) / 1024);
  if (opts.native) return nativeToolDocs(role, repoPath);
  return [...PROTOCOL_DOC, '', ...bashDoc(secs, kb), '', ...EDIT_DOC, '', ...CREATE_DOC, '', submitDoc(role, repoPath)].join('\n');
}
