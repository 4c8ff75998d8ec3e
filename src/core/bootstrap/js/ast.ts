/**
 * JavaScript and TypeScript for the bootstrap proposer, on a real parser
 * (@babel/parser, with its TypeScript and JSX plugins): the functions a file
 * defines (mutation targets), the three single-function mutations (body,
 * branch, block) as text edits on node offsets, and test deletion for the
 * describe/it/test style shared by jest, vitest, mocha and node:test.
 * Pure functions on source text; `sandbox.ts` reads and writes the files.
 */
import { isTypeScript, parseJsProgram } from '../../base/jsSyntax';

// Babel's node type, kept loose: we read a few fields of many node kinds.
interface Node {
  type: string;
  start: number;
  end: number;
  loc: { start: { line: number; column: number }; end: { line: number } };
  [k: string]: unknown;
}

export interface JsFunction {
  symbol: string;
  name: string;
  line: number;
  node: Node;
  /** The body: a BlockStatement, or an expression for `=> expr`. */
  body: Node;
  kind: 'function' | 'method' | 'arrow';
  className?: string;
  returnType?: string;
}

export { isTypeScript };

export function parseJs(file: string, text: string): Node {
  return parseJsProgram<Node>(file, text);
}

function isNode(v: unknown): v is Node {
  return Boolean(v && typeof v === 'object' && typeof (v as Node).type === 'string' && typeof (v as Node).start === 'number');
}

function children(n: Node): Node[] {
  const out: Node[] = [];
  for (const [k, v] of Object.entries(n)) {
    if (k === 'loc' || k === 'leadingComments' || k === 'trailingComments' || k === 'innerComments' || k === 'extra') continue;
    if (Array.isArray(v)) {
      for (const x of v) if (isNode(x)) out.push(x);
    } else if (isNode(v)) out.push(v);
  }
  return out;
}

const FUNCTION_TYPES = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression', 'ClassMethod', 'ClassPrivateMethod', 'ObjectMethod']);

function keyName(key: unknown): string | undefined {
  if (!isNode(key)) return undefined;
  if (key.type === 'Identifier' || key.type === 'PrivateName') return String((key as { name?: string }).name ?? ((key as { id?: { name: string } }).id?.name ?? ''));
  if (key.type === 'StringLiteral') return String((key as unknown as { value: string }).value);
  return undefined;
}

function typeText(src: string, ann: unknown): string | undefined {
  if (!isNode(ann)) return undefined;
  const t = (ann as { typeAnnotation?: Node }).typeAnnotation;
  return isNode(t) ? src.slice(t.start, t.end) : undefined;
}

/** The named functions of a file that are not nested in another function. */
export function listFunctions(file: string, text: string): JsFunction[] {
  const program = parseJs(file, text);
  const out: JsFunction[] = [];
  const visit = (n: Node, ctx: { className?: string; nameHint?: string; inFunction: boolean }) => {
    if (FUNCTION_TYPES.has(n.type)) {
      let name: string | undefined;
      let className = ctx.className;
      if (n.type === 'FunctionDeclaration' || n.type === 'FunctionExpression') name = keyName(n.id) ?? ctx.nameHint;
      else if (n.type === 'ArrowFunctionExpression') name = ctx.nameHint;
      else name = keyName(n.key);
      const body = n.body as Node;
      if (!ctx.inFunction && name && isNode(body) && !(n.kind === 'get' || n.kind === 'set') && !(n as { abstract?: boolean }).abstract) {
        const symbol = (n.type === 'ClassMethod' || n.type === 'ClassPrivateMethod' || n.type === 'ObjectMethod') && className ? `${className}.${name}` : name;
        out.push({
          symbol,
          name,
          line: n.loc.start.line,
          node: n,
          body,
          kind: n.type === 'ArrowFunctionExpression' ? 'arrow' : n.type.endsWith('Method') ? 'method' : 'function',
          className,
          returnType: typeText(text, n.returnType),
        });
      }
      for (const c of children(n)) visit(c, { inFunction: true });
      return;
    }
    if (n.type === 'ClassDeclaration' || n.type === 'ClassExpression') {
      const cn = keyName(n.id) ?? ctx.nameHint;
      for (const c of children(n)) visit(c, { ...ctx, className: cn, nameHint: undefined });
      return;
    }
    if (n.type === 'ObjectExpression') {
      for (const c of children(n)) visit(c, { ...ctx, className: ctx.nameHint ?? ctx.className, nameHint: undefined });
      return;
    }
    if (n.type === 'VariableDeclarator') {
      const hint = keyName(n.id);
      if (isNode(n.init)) visit(n.init, { ...ctx, nameHint: hint });
      return;
    }
    if ((n.type === 'ObjectProperty' || n.type === 'ClassProperty') && isNode(n.value)) {
      visit(n.value as Node, { ...ctx, nameHint: keyName(n.key) });
      return;
    }
    if (n.type === 'AssignmentExpression' && isNode(n.right)) {
      const left = n.left as Node;
      const hint = left.type === 'MemberExpression' ? keyName(left.property) : keyName(left);
      visit(n.right as Node, { ...ctx, nameHint: hint });
      return;
    }
    if (n.type === 'ExportDefaultDeclaration' && isNode(n.declaration)) {
      visit(n.declaration as Node, { ...ctx, nameHint: 'default' });
      return;
    }
    for (const c of children(n)) visit(c, { ...ctx, nameHint: undefined });
  };
  visit(program, { inFunction: false });
  // One target per symbol (overloads: the one with a body).
  const seen = new Set<string>();
  return out.filter((f) => (seen.has(f.symbol) ? false : (seen.add(f.symbol), true)));
}

/** Nodes inside a function, not descending into nested functions. */
function ownNodes(fn: JsFunction): Node[] {
  const out: Node[] = [];
  const visit = (n: Node) => {
    out.push(n);
    for (const c of children(n)) if (!FUNCTION_TYPES.has(c.type)) visit(c);
  };
  visit(fn.body);
  return out;
}

function ifStatements(fn: JsFunction): Node[] {
  return ownNodes(fn).filter((n) => n.type === 'IfStatement');
}

/** Windows of 1-3 consecutive removable statements in the function's blocks. */
function blockWindows(fn: JsFunction, text: string): Array<[Node, Node]> {
  const out: Array<[Node, Node]> = [];
  const blocks = ownNodes(fn).filter((n) => n.type === 'BlockStatement');
  for (const b of blocks) {
    const body = (b.body as Node[]) ?? [];
    for (let i = 0; i < body.length; i++) {
      for (let k = 1; k <= 3 && i + k <= body.length; k++) {
        const win = body.slice(i, i + k);
        if (win.some((s) => s.type === 'ReturnStatement' || s.type === 'ThrowStatement' || s.type.startsWith('TS'))) break;
        // Declarations whose names are used after the window cannot go.
        const declared = win.flatMap((s) => (s.type === 'VariableDeclaration' ? (s.declarations as Node[]).flatMap((d) => identifiers(d.id as Node)) : []));
        const rest = text.slice(win[win.length - 1].end, b.end);
        if (declared.some((name) => new RegExp(`(^|[^\\w$.])${name.replace(/\$/g, '\\$')}([^\\w$]|$)`).test(rest))) continue;
        if (body.length - k < 1) continue; // keep at least one statement
        out.push([win[0], win[win.length - 1]]);
      }
    }
  }
  return out;
}

function identifiers(n: Node | undefined): string[] {
  if (!isNode(n)) return [];
  if (n.type === 'Identifier') return [String(n.name)];
  return children(n).flatMap(identifiers);
}

export interface Strategies {
  body: boolean;
  branch: number;
  block: number;
}

export function strategiesOf(fn: JsFunction, text: string): Strategies {
  const bodyOk = fn.body.type === 'BlockStatement' ? ((fn.body.body as Node[]) ?? []).length > 0 : true;
  return { body: bodyOk && !(fn.kind === 'method' && fn.name === 'constructor'), branch: ifStatements(fn).length, block: blockWindows(fn, text).length };
}

/** A plausible wrong value of the function's return type. */
function stubValue(fn: JsFunction, text: string): string {
  const rt = (fn.returnType ?? '').replace(/\s+/g, '');
  if (/^string$/.test(rt)) return '""';
  if (/^number$/.test(rt)) return '0';
  if (/^boolean$/.test(rt)) return 'false';
  if (/\[\]$|^Array</.test(rt)) return '[]';
  if (/^void$|^Promise<void>$/.test(rt)) return '';
  const rets = ownNodes(fn).filter((n) => n.type === 'ReturnStatement' && isNode(n.argument)).map((n) => n.argument as Node);
  const first = fn.body.type === 'BlockStatement' ? rets[0] : fn.body;
  if (!first) return '';
  switch (first.type) {
    case 'StringLiteral':
    case 'TemplateLiteral':
      return '""';
    case 'NumericLiteral':
      return '0';
    case 'BooleanLiteral':
      return String(!(first as unknown as { value: boolean }).value);
    case 'ArrayExpression':
      return '[]';
    case 'ObjectExpression':
      return '{}';
    case 'BinaryExpression':
      return ['===', '!==', '==', '!=', '<', '>', '<=', '>=', 'in', 'instanceof'].includes(String(first.operator)) ? 'false' : '0';
    case 'UnaryExpression':
      return first.operator === '!' ? 'false' : '0';
    default:
      return text.slice(first.start, first.end).startsWith('`') ? '""' : 'undefined';
  }
}

export interface Mutation {
  ok: boolean;
  text?: string;
  description?: string;
  reason?: string;
}

function lineStart(text: string, off: number): number {
  return text.lastIndexOf('\n', off - 1) + 1;
}

function lineEnd(text: string, off: number): number {
  const i = text.indexOf('\n', off);
  return i < 0 ? text.length : i + 1;
}

/** Removes [a, b) and, when the statements stand alone on their lines, the whole lines. */
function removeSpan(text: string, a: number, b: number): string {
  const ls = lineStart(text, a);
  const le = lineEnd(text, b);
  if (!text.slice(ls, a).trim() && !text.slice(b, le).trim()) return text.slice(0, ls) + text.slice(le);
  return text.slice(0, a) + text.slice(b);
}

function indentAt(text: string, off: number): string {
  const ls = lineStart(text, off);
  return /^[ \t]*/.exec(text.slice(ls))![0];
}

export function mutate(file: string, text: string, symbol: string, line: number | undefined, strategy: 'body' | 'branch' | 'block', rng: () => number): Mutation {
  let fns: JsFunction[];
  try {
    fns = listFunctions(file, text);
  } catch (e) {
    return { ok: false, reason: `cannot parse ${file}: ${(e as Error).message}` };
  }
  const fn = fns.find((f) => f.symbol === symbol && (line === undefined || f.line === line)) ?? fns.find((f) => f.symbol === symbol);
  if (!fn) return { ok: false, reason: `no function ${symbol} in ${file}` };
  let out: string;
  let description: string;
  if (strategy === 'body') {
    const stub = stubValue(fn, text);
    if (fn.body.type === 'BlockStatement') {
      const ind = indentAt(text, fn.node.start);
      const inner = stub ? `\n${ind}  return ${stub};\n${ind}` : '';
      out = text.slice(0, fn.body.start) + `{${inner}}` + text.slice(fn.body.end);
    } else {
      if (!stub || stub === 'undefined') return { ok: false, reason: 'no plausible wrong value for an expression body' };
      const paren = stub === '{}' ? '({})' : stub;
      out = text.slice(0, fn.body.start) + paren + text.slice(fn.body.end);
    }
    description = `the body of ${symbol} is replaced by ${stub ? `\`return ${stub}\`` : 'nothing'}`;
  } else if (strategy === 'branch') {
    const ifs = ifStatements(fn);
    if (!ifs.length) return { ok: false, reason: `${symbol} has no if statement` };
    const node = ifs[Math.floor(rng() * ifs.length)];
    const test = node.test as Node;
    const alt = node.alternate as Node | null;
    const variants: Array<() => [string, string]> = [
      () => [text.slice(0, test.start) + `!(${text.slice(test.start, test.end)})` + text.slice(test.end), `the condition of the if at line ${node.loc.start.line} is inverted`],
    ];
    if (!alt) variants.push(() => [removeSpan(text, node.start, node.end), `the if at line ${node.loc.start.line} is removed`]);
    else {
      const cons = node.consequent as Node;
      variants.push(() => [text.slice(0, cons.end) + text.slice(alt.end), `the else branch of the if at line ${node.loc.start.line} is removed`]);
    }
    const [t, d] = variants[Math.floor(rng() * variants.length)]();
    out = t;
    description = `${symbol}: ${d}`;
  } else {
    const wins = blockWindows(fn, text);
    if (!wins.length) return { ok: false, reason: `${symbol} has no removable statements` };
    const [a, b] = wins[Math.floor(rng() * wins.length)];
    out = removeSpan(text, a.start, b.end);
    description = `${symbol}: lines ${a.loc.start.line}-${b.loc.end.line} are removed`;
  }
  try {
    parseJs(file, out);
  } catch (e) {
    return { ok: false, reason: `the mutated ${file} does not parse: ${(e as Error).message}` };
  }
  if (out === text) return { ok: false, reason: 'the mutation changes nothing' };
  return { ok: true, text: out, description };
}

// ------------------------------------------------------------- test deletion

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
