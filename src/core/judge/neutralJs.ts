/**
 * Is a change to a JavaScript or TypeScript file behaviour-neutral? The same
 * test as `py/neutral.py`, on @babel/parser's syntax tree: two versions are
 * the same program when their trees (no comments, no formatting, no source
 * positions) are equal once each is normalised:
 *
 * 1. statements that do nothing are removed: `;`, an empty block, a bare
 *    literal or `void LITERAL`, a bare parameter or `p = p`, `if (LITERAL) {}`,
 *    a `try {}` with nothing to try, a directive that is not a `"use ..."` one,
 *    a local declared with a literal (or nothing) that nothing reads;
 * 2. in a function, runs of simple declarations and assignments of locals (no
 *    call in them, not inside a `try` block) are put in one canonical order
 *    that keeps what each reads and writes;
 * 3. locals (parameters, `var`, `let`, `const`, catch parameters, not at the
 *    module's top level) are renamed canonically, in order of first use.
 *    Names of functions and classes, properties, imports and globals are kept,
 *    and nothing is renamed in a file that uses `eval` or `with`.
 */
import { parseJsProgram } from '../base/jsSyntax';
import { type DeclGroup, type JsNode, children, declarationGroups, groupOf, isFunction, isNameOnly, isNode, walk } from './neutralJsScope';

/** One changed file's verdict. */
export interface NeutralVerdict {
  path: string;
  /** Both versions are the same program once parsed. */
  neutral: boolean;
  /** In words, what differs when neutral. */
  reasons: string[];
  /** Why it could not be decided (then not neutral). */
  error?: string;
}

export function isJsFile(p: string): boolean {
  return /\.(c|m)?(j|t)sx?$/.test(p);
}

function parseProgram(file: string, text: string): JsNode {
  return parseJsProgram<JsNode>(file, text);
}

const LITERALS = new Set(['StringLiteral', 'NumericLiteral', 'BooleanLiteral', 'NullLiteral', 'BigIntLiteral']);
const LISTS: Record<string, string> = { Program: 'body', BlockStatement: 'body', StaticBlock: 'body', SwitchCase: 'consequent' };

/** Each identifier that names a variable, with the declaration group it refers to. */
function variableUses(program: JsNode, byName: Map<string, DeclGroup[]>): Array<[JsNode, DeclGroup | undefined]> {
  const out: Array<[JsNode, DeclGroup | undefined]> = [];
  walk(program, (n, anc, key) => {
    if (n.type === 'Identifier' && !isNameOnly(anc[anc.length - 1], key)) out.push([n, groupOf(byName, n)]);
  });
  return out;
}

interface Names {
  byName: Map<string, DeclGroup[]>;
  uses: Map<DeclGroup, number>;
}

function names(program: JsNode): Names {
  const byName = declarationGroups(program);
  const uses = new Map<DeclGroup, number>();
  for (const [, g] of variableUses(program, byName)) if (g) uses.set(g, (uses.get(g) ?? 0) + 1);
  return { byName, uses };
}

const isParam = (ns: Names, id: unknown): boolean => isNode(id) && id.type === 'Identifier' && groupOf(ns.byName, id)?.kind === 'param';

function emptyBlock(n: unknown): boolean {
  return isNode(n) && (n.type === 'EmptyStatement' || (n.type === 'BlockStatement' && !(n.body as unknown[]).length && !(n.directives as unknown[]).length));
}

/** `let t = LITERAL;` (or `let t;`) of a local nothing else reads or writes. */
function deadLocal(s: JsNode, ns: Names): boolean {
  if (s.type !== 'VariableDeclaration' || (s.declarations as JsNode[]).length !== 1) return false;
  const d = (s.declarations as JsNode[])[0];
  const id = d.id as JsNode;
  if (id.type !== 'Identifier' || (d.init && !LITERALS.has((d.init as JsNode).type))) return false;
  const g = groupOf(ns.byName, id);
  return Boolean(g?.renamable && g.kind !== 'param' && ns.uses.get(g) === 1);
}

function doesNothing(s: JsNode, ns: Names): boolean {
  if (emptyBlock(s)) return true;
  if (s.type === 'ExpressionStatement') {
    const e = s.expression as JsNode;
    if (LITERALS.has(e.type) || isParam(ns, e)) return true;
    if (e.type === 'UnaryExpression' && e.operator === 'void' && LITERALS.has((e.argument as JsNode).type)) return true;
    return e.type === 'AssignmentExpression' && e.operator === '=' && isParam(ns, e.left) && isParam(ns, e.right) &&
      (e.left as JsNode).name === (e.right as JsNode).name;
  }
  if (s.type === 'IfStatement') return LITERALS.has((s.test as JsNode).type) && emptyBlock(s.consequent) && !s.alternate;
  if (s.type === 'TryStatement') return emptyBlock(s.block) && !s.finalizer;
  return deadLocal(s, ns);
}

function stripNoops(program: JsNode): void {
  const ns = names(program);
  const visit = (n: JsNode) => {
    for (const [c] of children(n)) visit(c);
    if (Array.isArray(n.directives)) n.directives = (n.directives as JsNode[]).filter((d) => /^use /.test(String((d.value as JsNode).value)));
    const field = LISTS[n.type];
    if (field) n[field] = (n[field] as JsNode[]).filter((s) => !doesNothing(s, ns));
  };
  visit(program);
}

const PURE = new Set([
  ...LITERALS, 'Identifier', 'BinaryExpression', 'LogicalExpression', 'UnaryExpression', 'ConditionalExpression', 'MemberExpression',
  'OptionalMemberExpression', 'ArrayExpression', 'ObjectExpression', 'ObjectProperty',
]);

/** Whether evaluating the expression calls no code of the program's (no call, no `new`, no `delete`, no template). */
function pure(e: unknown): boolean {
  if (!isNode(e)) return e === null;
  let ok = true;
  walk(e, (n) => {
    if (!(PURE.has(n.type) || n.type.startsWith('TS')) || (n.type === 'UnaryExpression' && n.operator === 'delete')) ok = false;
  });
  return ok;
}

/** The names an expression reads (variables, not properties). */
function reads(e: unknown): string[] {
  const out: string[] = [];
  if (isNode(e)) walk(e, (n, anc, key) => { if (n.type === 'Identifier' && !isNameOnly(anc[anc.length - 1], key)) out.push(n.name as string); });
  return out;
}

/** [reads, writes] of a declaration or assignment of locals with nothing called; undefined for any other statement. */
function simpleNames(s: JsNode, ns: Names): [Set<string>, Set<string>] | undefined {
  if (s.type === 'VariableDeclaration') {
    const ds = s.declarations as JsNode[];
    if (!ds.every((d) => (d.id as JsNode).type === 'Identifier' && pure(d.init))) return undefined;
    return [new Set(ds.flatMap((d) => reads(d.init))), new Set(ds.map((d) => (d.id as JsNode).name as string))];
  }
  if (s.type !== 'ExpressionStatement') return undefined;
  const e = s.expression as JsNode;
  const target = (e.type === 'AssignmentExpression' ? e.left : e.type === 'UpdateExpression' ? e.argument : undefined) as JsNode | undefined;
  if (!target || target.type !== 'Identifier' || !groupOf(ns.byName, target)?.renamable) return undefined;
  if (e.type === 'AssignmentExpression' && (!pure(e.right) || /^(&&|\|\||\?\?)=$/.test(e.operator as string))) return undefined;
  const r = new Set(e.type === 'AssignmentExpression' ? reads(e.right) : []);
  if (e.operator !== '=') r.add(target.name as string);
  return [r, new Set([target.name as string])];
}

/** The statement's shape with renamable locals' names erased, so that renaming cannot change the canonical order. */
function erasedKey(s: JsNode, ns: Names): string {
  const renamed = new Set<JsNode>();
  walk(s, (n, anc, key) => { if (n.type === 'Identifier' && !isNameOnly(anc[anc.length - 1], key) && groupOf(ns.byName, n)?.renamable) renamed.add(n); });
  return JSON.stringify(s, function (this: unknown, k, v) {
    if (SKIP_KEYS.has(k)) return undefined;
    return k === 'name' && renamed.has(this as JsNode) ? '%' : v;
  });
}

/** The smallest order (by erased key) of a run of simple statements that keeps every dependency. */
function canonicalRun(run: JsNode[], ns: Names): JsNode[] {
  const rw = run.map((s) => simpleNames(s, ns)!);
  const keys = run.map((s) => erasedKey(s, ns));
  const meets = (a: Set<string>, b: Set<string>) => [...a].some((x) => b.has(x));
  const before = run.map((_, i) => run.map((__, j) => j).filter((j) => j < i && (meets(rw[i][1], new Set([...rw[j][0], ...rw[j][1]])) || meets(rw[j][1], rw[i][0]))));
  const placed = new Set<number>();
  const out: JsNode[] = [];
  while (out.length < run.length) {
    const ready = run.map((_, i) => i).filter((i) => !placed.has(i) && before[i].every((j) => placed.has(j)));
    const i = ready.reduce((a, b) => (keys[b] < keys[a] ? b : a));
    placed.add(i);
    out.push(run[i]);
  }
  return out;
}

/** Longer runs keep their order (the canonical order costs the square of the run's length). */
const MAX_RUN = 200;
/** Larger files are not compared: the host's event loop would wait on them. */
const MAX_CHARS = 200_000;

function canonicalBlock(stmts: JsNode[], ns: Names): JsNode[] {
  const out: JsNode[] = [];
  let run: JsNode[] = [];
  for (const s of [...stmts, undefined]) {
    if (s && simpleNames(s, ns)) { run.push(s); continue; }
    out.push(...(run.length > 1 && run.length <= MAX_RUN ? canonicalRun(run, ns) : run));
    run = [];
    if (s) out.push(s);
  }
  return out;
}

/** Puts each function's statement lists in canonical order; not inside a `try` block (an exception could see the order). */
function reorder(program: JsNode): void {
  const ns = names(program);
  const visit = (n: JsNode, inFunction: boolean, guarded: boolean) => {
    for (const [c, key] of children(n)) {
      if (isFunction(c)) visit(c, true, false);
      else visit(c, inFunction, guarded || (n.type === 'TryStatement' && key === 'block'));
    }
    const field = LISTS[n.type];
    if (field && inFunction && !guarded) n[field] = canonicalBlock(n[field] as JsNode[], ns);
  };
  visit(program, false, false);
}

/** Renames every renamable local canonically (order of first use); returns {canonical: original}. */
function rename(program: JsNode): Map<string, string> {
  const ns = names(program);
  const canon = new Map<DeclGroup, string>();
  const out = new Map<string, string>();
  const edits: Array<[JsNode, string]> = [];
  for (const [id, g] of variableUses(program, ns.byName)) {
    if (!g?.renamable) continue;
    if (!canon.has(g)) canon.set(g, `%${canon.size}`);
    out.set(canon.get(g)!, g.name);
    edits.push([id, canon.get(g)!]);
  }
  for (const [id, name] of edits) id.name = name;
  return out;
}

const SKIP_KEYS = new Set(['start', 'end', 'loc', 'range', 'leadingComments', 'trailingComments', 'innerComments', 'extra', 'comments', 'shorthand']);

type Step = 'noops' | 'reorder' | 'rename';
const STEPS: Step[] = ['noops', 'reorder', 'rename'];

function normalForm(file: string, text: string, steps: Step[]): { form: string; names: Map<string, string> } {
  const program = parseProgram(file, text);
  if (steps.includes('noops')) stripNoops(program);
  if (steps.includes('reorder')) reorder(program);
  const names = steps.includes('rename') ? rename(program) : new Map<string, string>();
  return { form: JSON.stringify(program, (k, v) => (SKIP_KEYS.has(k) ? undefined : v)), names };
}

function same(file: string, before: string, after: string, steps: Step[]) {
  const b = normalForm(file, before, steps);
  const a = normalForm(file, after, steps);
  return { equal: b.form === a.form, before: b.names, after: a.names };
}

/** In words, what differs between two versions that are the same program. */
function why(file: string, before: string, after: string, nb: Map<string, string>, na: Map<string, string>): string[] {
  if (same(file, before, after, []).equal) return ['only comments or formatting'];
  const needed = STEPS.filter((s) => !same(file, before, after, STEPS.filter((t) => t !== s)).equal);
  const out: string[] = [];
  if (needed.includes('noops')) out.push('a statement that does nothing added or removed');
  if (needed.includes('reorder')) out.push('independent statements reordered');
  if (needed.includes('rename')) {
    const pairs = [...nb].filter(([c, n]) => na.has(c) && na.get(c) !== n).map(([c, n]) => `${n}->${na.get(c)}`).sort();
    out.push(`a consistent renaming of locals: ${pairs.join(', ')}`);
  }
  return out.length ? out : ['only comments or formatting'];
}

/** Whether two versions of a JavaScript/TypeScript file are the same program once parsed. */
export function compareJs(path: string, before: string, after: string): NeutralVerdict {
  if (before.length > MAX_CHARS || after.length > MAX_CHARS) return { path, neutral: false, reasons: [], error: `too large to compare (over ${MAX_CHARS} characters)` };
  try {
    parseProgram(path, before);
  } catch (err) {
    return { path, neutral: false, reasons: [], error: `the original does not parse: ${(err as Error).message}` };
  }
  try {
    const r = same(path, before, after, STEPS);
    return { path, neutral: r.equal, reasons: r.equal ? why(path, before, after, r.before, r.after) : [] };
  } catch (err) {
    // A version that does not parse (or is too deep to walk) is not the same program.
    return { path, neutral: false, reasons: [], ...(err instanceof RangeError ? { error: 'too deep to compare' } : {}) };
  }
}
