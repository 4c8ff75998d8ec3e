/**
 * JavaScript and TypeScript for the bootstrap proposer, on a real parser
 * (@babel/parser, with its TypeScript and JSX plugins; its tree in
 * syntax.ts): the functions a file defines (mutation targets) and the three
 * single-function mutations (body, branch, block) as text edits on node
 * offsets. Test deletion is in testDeletion.ts. Pure functions on source
 * text; `sandbox.ts` reads and writes the files.
 */
import { isTypeScript } from '../../base/jsSyntax';
import { FUNCTION_TYPES, children, identifiers, isNode, keyName, lineStart, parseJs, removeSpan, type Node } from './syntax';

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

export { isTypeScript, parseJs };

function typeText(src: string, ann: unknown): string | undefined {
  if (!isNode(ann)) return undefined;
  const t = (ann as { typeAnnotation?: Node }).typeAnnotation;
  return isNode(t) ? src.slice(t.start, t.end) : undefined;
}

interface VisitContext {
  className?: string;
  nameHint?: string;
  inFunction: boolean;
}

/** The target a function node makes: when it is named, not nested, has a body, and is no accessor or abstract method. */
function functionTarget(n: Node, ctx: VisitContext, text: string): JsFunction | undefined {
  let name: string | undefined;
  const className = ctx.className;
  if (n.type === 'FunctionDeclaration' || n.type === 'FunctionExpression') name = keyName(n.id) ?? ctx.nameHint;
  else if (n.type === 'ArrowFunctionExpression') name = ctx.nameHint;
  else name = keyName(n.key);
  const body = n.body as Node;
  if (ctx.inFunction || !name || !isNode(body) || n.kind === 'get' || n.kind === 'set' || (n as { abstract?: boolean }).abstract) return undefined;
  const symbol = (n.type === 'ClassMethod' || n.type === 'ClassPrivateMethod' || n.type === 'ObjectMethod') && className ? `${className}.${name}` : name;
  return {
    symbol,
    name,
    line: n.loc.start.line,
    node: n,
    body,
    kind: n.type === 'ArrowFunctionExpression' ? 'arrow' : n.type.endsWith('Method') ? 'method' : 'function',
    className,
    returnType: typeText(text, n.returnType),
  };
}

/** Where the walk goes from a node that is not a function: its children, each with the names it gives them. */
function nextVisits(n: Node, ctx: VisitContext): Array<[Node, VisitContext]> {
  if (n.type === 'ClassDeclaration' || n.type === 'ClassExpression') {
    const cn = keyName(n.id) ?? ctx.nameHint;
    return children(n).map((c) => [c, { ...ctx, className: cn, nameHint: undefined }]);
  }
  if (n.type === 'ObjectExpression') return children(n).map((c) => [c, { ...ctx, className: ctx.nameHint ?? ctx.className, nameHint: undefined }]);
  if (n.type === 'VariableDeclarator') return isNode(n.init) ? [[n.init, { ...ctx, nameHint: keyName(n.id) }]] : [];
  if ((n.type === 'ObjectProperty' || n.type === 'ClassProperty') && isNode(n.value)) return [[n.value, { ...ctx, nameHint: keyName(n.key) }]];
  if (n.type === 'AssignmentExpression' && isNode(n.right)) {
    const left = n.left as Node;
    return [[n.right, { ...ctx, nameHint: left.type === 'MemberExpression' ? keyName(left.property) : keyName(left) }]];
  }
  if (n.type === 'ExportDefaultDeclaration' && isNode(n.declaration)) return [[n.declaration, { ...ctx, nameHint: 'default' }]];
  return children(n).map((c) => [c, { ...ctx, nameHint: undefined }]);
}

/** The named functions of a file that are not nested in another function. */
export function listFunctions(file: string, text: string): JsFunction[] {
  const program = parseJs(file, text);
  const out: JsFunction[] = [];
  const visit = (n: Node, ctx: VisitContext) => {
    if (FUNCTION_TYPES.has(n.type)) {
      const target = functionTarget(n, ctx, text);
      if (target) out.push(target);
      for (const c of children(n)) visit(c, { inFunction: true });
      return;
    }
    for (const [c, next] of nextVisits(n, ctx)) visit(c, next);
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
