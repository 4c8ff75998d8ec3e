/**
 * Canaries and twins for JavaScript and TypeScript test files in the
 * describe/it/test style (node:test, mocha, jest, vitest), planted on a real
 * parser (@babel/parser node offsets). Pure functions on source text;
 * canaries.ts reads and writes the files. A twin is the whole `it(...)`
 * statement with a new title; an inverted twin runs the original callback
 * and throws when it finished without an error; canaries sit right after a
 * real test, in the same describe, with its callee (`it` or `test`).
 */
import { parseJsProgram } from '../base/jsSyntax';
import type { FilePlan, Planting } from './canaryTypes';

interface Node {
  type: string;
  start: number;
  end: number;
  [k: string]: unknown;
}

/** One `it(...)`/`test(...)` statement with literal titles all the way up. */
export interface JsTest {
  /** "suite > ... > title", as the parsers' ids write it after `file::`. */
  qual: string;
  title: string;
  callee: string;
  stmt: Node;
  titleArg: Node;
  fn: Node | undefined;
}

const TEST_FNS = new Set(['it', 'test', 'specify']);
const SUITE_FNS = new Set(['describe', 'suite', 'context']);
const FN_TYPES = new Set(['FunctionExpression', 'ArrowFunctionExpression']);

export function isJsTestFile(p: string): boolean {
  return /\.(test|spec)\.[cm]?[jt]sx?$/.test(p) || /(^|\/)(test|tests|__tests__)\/.*\.[cm]?[jt]sx?$/.test(p);
}

function parseJs(file: string, text: string): Node {
  return parseJsProgram<Node>(file, text);
}

function literal(n: Node | undefined): string | undefined {
  if (!n) return undefined;
  if (n.type === 'StringLiteral') return String(n.value);
  const q = n.quasis as Array<{ value: { cooked?: string } }> | undefined;
  if (n.type === 'TemplateLiteral' && !(n.expressions as Node[]).length) return q?.[0]?.value.cooked ?? undefined;
  return undefined;
}

function bodyStatements(fn: Node | undefined): Node[] {
  const b = fn?.body as Node | undefined;
  return b?.type === 'BlockStatement' ? (b.body as Node[]) : [];
}

/** The tests of a file whose titles (and their describes') are literal; the rest are counted as dynamic. */
export function jsTests(file: string, text: string): { tests: JsTest[]; dynamic: number } {
  const tests: JsTest[] = [];
  let dynamic = 0;
  const visit = (stmts: Node[], path: string[]) => {
    for (const stmt of stmts) {
      const call = stmt.type === 'ExpressionStatement' ? (stmt.expression as Node) : undefined;
      if (call?.type !== 'CallExpression' || (call.callee as Node).type !== 'Identifier') continue;
      const callee = String((call.callee as Node).name);
      const args = call.arguments as Node[];
      const title = literal(args[0]);
      if (!TEST_FNS.has(callee) && !SUITE_FNS.has(callee)) continue;
      if (title === undefined) {
        dynamic++;
        continue;
      }
      const fn = [...args].reverse().find((a) => FN_TYPES.has(a.type));
      if (SUITE_FNS.has(callee)) visit(bodyStatements(fn), [...path, title]);
      else tests.push({ qual: [...path, title].join(' > '), title, callee, stmt, titleArg: args[0], fn });
    }
  };
  visit(parseJs(file, text).body as Node[], []);
  return { tests, dynamic };
}

function indentAt(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const lead = text.slice(lineStart, offset);
  return /^\s*$/.test(lead) ? lead : '';
}

/** Why a test would not behave the same under another title (snapshots are keyed by it); undefined when it would. */
function whyNotCopyable(text: string, t: JsTest): string | undefined {
  const body = t.fn ? text.slice(t.fn.start, t.fn.end) : '';
  if (/Snapshot\s*\(/.test(body)) return 'it matches a snapshot, which is keyed by the test\'s title';
  if (/\b(expect\.getState|currentTestName|this\.test\b|t\.name\b)/.test(body)) return 'it reads its own name';
  return undefined;
}

/** Why a test's callback cannot be wrapped; undefined when it can. */
function whyNotInvertible(t: JsTest): string | undefined {
  if (!t.fn) return 'no callback';
  if ((t.fn.params as Node[]).length) return 'the callback takes parameters (done or a context): its arity decides how the runner calls it';
  if (t.fn.generator) return 'a generator callback';
  return undefined;
}

function invertedFn(text: string, t: JsTest): string {
  const original = text.slice(t.fn!.start, t.fn!.end);
  return `async function () {\n  let finished = false;\n  try {\n    await (${original}).call(this);\n    finished = true;\n  } catch {\n    return;\n  }\n  if (finished) throw new Error('expected a failure');\n}`;
}

/** A title literal in the quotes the original used (titles SSR makes hold only letters, digits and spaces). */
function quoted(title: string, like: string): string {
  const q = like[0] === "'" || like[0] === '`' ? like[0] : '"';
  return q + title + q;
}

/** The assertion the file's tests use (so a canary checks through it too): expect, assert, or a plain throw. */
export type AssertStyle = 'expect' | 'assert' | 'throw';

export function assertStyle(text: string, tests: JsTest[]): AssertStyle {
  const bodies = tests.map((t) => (t.fn ? text.slice(t.fn.start, t.fn.end) : '')).join('\n');
  if (/\bexpect\(/.test(bodies)) return 'expect';
  if (/\bassert\.(equal|strictEqual|deepEqual|deepStrictEqual|ok)\(/.test(bodies)) return 'assert';
  return 'throw';
}

function canaryStmt(callee: string, title: string, token: string, kind: 'pass' | 'fail', like: string, style: AssertStyle): string {
  const n = ([...token].reduce((s, c) => s + c.charCodeAt(0), 0) % 97) + 3;
  const want = kind === 'pass' ? n * 3 : n * 3 + 1;
  const check =
    style === 'expect' ? `expect(value * 3).toBe(${want});` : style === 'assert' ? `assert.equal(value * 3, ${want});` : `if (value * 3 !== ${want}) throw new Error('value: ' + value * 3);`;
  return `${callee}(${quoted(title, like)}, () => {\n  const value = ${n};\n  ${check}\n});`;
}

function freshTitle(words: string[], token: string): string {
  const w = (i: number) => words[([...token].reduce((s, c) => s + c.charCodeAt(0), i) % words.length)];
  return `${w(0)} ${w(7)} ${token}`;
}

/** Plants one file's plan into its text; the new text, and what was planted or skipped. */
export function plantJs(file: string, text: string, plan: FilePlan): { text: string } & Planting {
  const { tests } = jsTests(file, text);
  const byQual = new Map(tests.map((t) => [t.qual, t]));
  const words = [...new Set(tests.flatMap((t) => t.title.toLowerCase().split(/[^a-z]+/).filter((w) => w.length > 2)))];
  if (!words.length) words.push('case');
  const style = assertStyle(text, tests);
  const out: Planting = { planted: [], skipped: [] };
  const edits: Array<{ at: number; insert: string }> = [];
  // Copies keep the file's own indentation; generated lines take the statement's.
  const after = (t: JsTest, stmtText: string, generated = false) => {
    const ind = indentAt(text, t.stmt.start);
    edits.push({ at: t.stmt.end, insert: `\n\n${ind}${generated ? stmtText.replace(/\n/g, '\n' + ind) : stmtText}` });
  };
  for (const tw of plan.twins) {
    const t = byQual.get(tw.of);
    if (!t) {
      out.skipped.push({ file, of: tw.of, why: 'no test with this literal title path in the file' });
      continue;
    }
    const why = whyNotCopyable(text, t) ?? (tw.inverted ? whyNotInvertible(t) : undefined);
    if (why) {
      out.skipped.push({ file, of: tw.of, why });
      continue;
    }
    const name = freshTitle(words, tw.token);
    const title = quoted(name, text.slice(t.titleArg.start, t.titleArg.end));
    let copy = text.slice(t.stmt.start, t.titleArg.start) + title + text.slice(t.titleArg.end, t.stmt.end);
    if (tw.inverted) copy = text.slice(t.stmt.start, t.titleArg.start) + title + text.slice(t.titleArg.end, t.fn!.start) + invertedFn(text, t) + text.slice(t.fn!.end, t.stmt.end);
    after(t, copy);
    out.planted.push({ file, kind: tw.inverted ? 'inverted' : 'twin', name, of: t.title });
  }
  const homes = plan.twins.map((x) => byQual.get(x.of)).filter((x): x is JsTest => !!x);
  plan.canaries.forEach((c, i) => {
    const home = byQual.get(c.near ?? '') ?? homes[i % Math.max(homes.length, 1)] ?? tests[i % Math.max(tests.length, 1)];
    if (!home) return void out.skipped.push({ file, of: null, why: 'no test with a literal title to stand beside' });
    const name = freshTitle(words, c.token);
    after(home, canaryStmt(home.callee, name, c.token, c.kind, text.slice(home.titleArg.start, home.titleArg.end), style), true);
    out.planted.push({ file, kind: c.kind === 'pass' ? 'must-pass' : 'must-fail', name, of: null });
  });
  let planted = text;
  for (const e of edits.sort((a, b) => b.at - a.at)) planted = planted.slice(0, e.at) + e.insert + planted.slice(e.at);
  try {
    parseJs(file, planted);
  } catch (err) {
    return { text, planted: [], skipped: [{ file, of: null, why: `the planted file does not parse (${(err as Error).message}); left as it was` }] };
  }
  return { text: planted, ...out };
}
