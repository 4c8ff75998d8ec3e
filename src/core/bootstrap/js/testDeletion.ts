/**
 * Test deletion for the describe/it/test style shared by jest, vitest, mocha
 * and node:test: the whole `it(...)`/`test(...)` statement goes (and a suite
 * left with no test), never a comment; and the names a test file refers to.
 * Pure functions on source text.
 */
import { FUNCTION_TYPES, children, identifiers, isNode, parseJs, removeSpan, type Node } from './syntax';

const TEST_FNS = new Set(['it', 'test', 'specify']);
const SUITE_FNS = new Set(['describe', 'suite', 'context']);
const MODIFIERS = new Set(['only', 'skip', 'concurrent', 'sequential', 'failing', 'todo', 'each', 'fails', 'runIf', 'skipIf']);

/** `it`, `test.only`, `test.each(table)`, `describe.concurrent`...: the base name, or undefined. */
function calleeBase(callee: Node): { base: string; each: boolean } | undefined {
  let n: Node = callee;
  let each = false;
  for (let i = 0; i < 4; i++) {
    if (n.type === 'Identifier') return { base: String(n.name), each };
    if (n.type === 'MemberExpression' && isNode(n.property) && MODIFIERS.has(String((n.property as Node).name))) {
      if ((n.property as Node).name === 'each') each = true;
      n = n.object as Node;
      continue;
    }
    if (n.type === 'CallExpression') {
      // test.each(table)(title, fn) or test.skipIf(cond)(title, fn)
      n = n.callee as Node;
      continue;
    }
    if (n.type === 'TaggedTemplateExpression') {
      each = true;
      n = n.tag as Node;
      continue;
    }
    return undefined;
  }
  return undefined;
}

/** A title as a matcher: a literal string, a printf/`$name` pattern from .each, or anything (dynamic). */
function titleMatcher(arg: Node | undefined, text: string, each: boolean): (t: string) => boolean {
  if (!arg) return () => true;
  let lit: string | undefined;
  if (arg.type === 'StringLiteral') lit = String((arg as unknown as { value: string }).value);
  else if (arg.type === 'TemplateLiteral' && ((arg.expressions as Node[]) ?? []).length === 0) {
    lit = String(((arg.quasis as Node[])[0]?.value as { cooked?: string })?.cooked ?? '');
  }
  if (lit === undefined) return () => true;
  if (!each) {
    const l = lit;
    return (t) => t === l;
  }
  const re = new RegExp(
    '^' +
      lit
        .split(/(%[sdifjoOp#%]|\$[\w.]+)/)
        .map((part, i) => (i % 2 ? (part === '%%' ? '%' : '.*') : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
        .join('') +
      '$',
    's',
  );
  void text;
  return (t) => re.test(t);
}

interface TestCall {
  stmt: Node;
  suites: Array<(t: string) => boolean>;
  title: (t: string) => boolean;
}

function testCalls(file: string, text: string): { calls: TestCall[]; suites: Array<{ stmt: Node; tests: TestCall[] }> } {
  const program = parseJs(file, text);
  const calls: TestCall[] = [];
  const suites: Array<{ stmt: Node; tests: TestCall[] }> = [];
  const visit = (n: Node, path: Array<(t: string) => boolean>, stmt: Node | undefined, open: Array<{ stmt: Node; tests: TestCall[] }>) => {
    if (n.type === 'ExpressionStatement') stmt = n;
    if (n.type === 'CallExpression' && stmt) {
      const cb = calleeBase(n.callee as Node);
      const args = (n.arguments as Node[]) ?? [];
      if (cb && TEST_FNS.has(cb.base)) {
        const call = { stmt, suites: path, title: titleMatcher(args[0], text, cb.each) };
        calls.push(call);
        for (const s of open) s.tests.push(call);
        return;
      }
      if (cb && SUITE_FNS.has(cb.base)) {
        const entry = { stmt, tests: [] as TestCall[] };
        suites.push(entry);
        const next = [...path, titleMatcher(args[0], text, cb.each)];
        for (const a of args.slice(1)) visit(a, next, undefined, [...open, entry]);
        return;
      }
    }
    for (const c of children(n)) visit(c, path, n.type === 'ExpressionStatement' ? n : stmt && FUNCTION_TYPES.has(n.type) ? undefined : stmt, open);
  };
  visit(program, [], undefined, []);
  return { calls, suites };
}

export interface Weakening {
  text: string;
  removed: string[];
  missing: string[];
  /** Every test of the file is gone: delete the file rather than leave a suite with no test. */
  empty: boolean;
}

/**
 * Deletes the tests with the given titles (`suite > ... > title`, the part
 * of an id after `file::`) from a test file: the whole `it(...)`/`test(...)`
 * statement, never a comment.
 */
export function deleteTests(file: string, text: string, titles: string[]): Weakening {
  const { calls, suites } = testCalls(file, text);
  const chosen = new Set<TestCall>();
  const removed: string[] = [];
  const missing: string[] = [];
  for (const t of titles) {
    const parts = t.split(' > ');
    const hit = calls.filter(
      (c) => c.suites.length === parts.length - 1 && c.suites.every((m, i) => m(parts[i])) && c.title(parts[parts.length - 1]),
    );
    if (hit.length) {
      hit.forEach((h) => chosen.add(h));
      removed.push(t);
    } else missing.push(t);
  }
  // A suite left with no test goes too.
  const spans: Array<[number, number]> = [...chosen].map((c) => [c.stmt.start, c.stmt.end]);
  for (const s of suites) if (s.tests.length && s.tests.every((c) => chosen.has(c))) spans.push([s.stmt.start, s.stmt.end]);
  // Outermost spans only, removed from the end.
  spans.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const outer: Array<[number, number]> = [];
  for (const sp of spans) if (!outer.length || sp[0] >= outer[outer.length - 1][1]) outer.push(sp);
  let out = text;
  for (const [a, b] of outer.reverse()) out = removeSpan(out, a, b);
  const empty = calls.length > 0 && calls.every((c) => chosen.has(c));
  return { text: out, removed, missing, empty };
}

/** Identifiers named in a test file (the fallback when there is no coverage trace). */
export function referencedNames(file: string, text: string): Set<string> {
  try {
    return new Set(identifiers(parseJs(file, text)));
  } catch {
    return new Set(text.match(/[A-Za-z_$][\w$]*/g) ?? []);
  }
}
