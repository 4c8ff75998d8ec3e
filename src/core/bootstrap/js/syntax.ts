/**
 * Babel's syntax tree for the bootstrap proposer's JavaScript and TypeScript,
 * kept loosely typed (a few fields of many node kinds are read): parsing,
 * walking, names, and text edits on node offsets.
 */
import { parseJsProgram } from '../../base/jsSyntax';

// Babel's node type, kept loose: we read a few fields of many node kinds.
export interface Node {
  type: string;
  start: number;
  end: number;
  loc: { start: { line: number; column: number }; end: { line: number } };
  [k: string]: unknown;
}

export function parseJs(file: string, text: string): Node {
  return parseJsProgram<Node>(file, text);
}

export function isNode(v: unknown): v is Node {
  return Boolean(v && typeof v === 'object' && typeof (v as Node).type === 'string' && typeof (v as Node).start === 'number');
}

export function children(n: Node): Node[] {
  const out: Node[] = [];
  for (const [k, v] of Object.entries(n)) {
    if (k === 'loc' || k === 'leadingComments' || k === 'trailingComments' || k === 'innerComments' || k === 'extra') continue;
    if (Array.isArray(v)) {
      for (const x of v) if (isNode(x)) out.push(x);
    } else if (isNode(v)) out.push(v);
  }
  return out;
}

export const FUNCTION_TYPES = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression', 'ClassMethod', 'ClassPrivateMethod', 'ObjectMethod']);

export function keyName(key: unknown): string | undefined {
  if (!isNode(key)) return undefined;
  if (key.type === 'Identifier' || key.type === 'PrivateName') return String((key as { name?: string }).name ?? ((key as { id?: { name: string } }).id?.name ?? ''));
  if (key.type === 'StringLiteral') return String((key as unknown as { value: string }).value);
  return undefined;
}

/** Every identifier named under a node. */
export function identifiers(n: Node | undefined): string[] {
  if (!isNode(n)) return [];
  if (n.type === 'Identifier') return [String(n.name)];
  return children(n).flatMap(identifiers);
}

export function lineStart(text: string, off: number): number {
  return text.lastIndexOf('\n', off - 1) + 1;
}

function lineEnd(text: string, off: number): number {
  const i = text.indexOf('\n', off);
  return i < 0 ? text.length : i + 1;
}

/** Removes [a, b) and, when the statements stand alone on their lines, the whole lines. */
export function removeSpan(text: string, a: number, b: number): string {
  const ls = lineStart(text, a);
  const le = lineEnd(text, b);
  if (!text.slice(ls, a).trim() && !text.slice(b, le).trim()) return text.slice(0, ls) + text.slice(le);
  return text.slice(0, a) + text.slice(b);
}
