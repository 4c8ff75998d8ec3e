/**
 * Where each JavaScript/TypeScript name is declared, for the behaviour-neutral
 * test (`neutralJs.ts`): a file's declarations grouped by name and scope, which
 * of them are locals a consistent renaming may touch, and which declaration a
 * use of a name refers to. Scopes are source ranges of @babel/parser nodes
 * (a function for `var` and parameters, the nearest block for `let`, `const`
 * and `class`, the catch clause for its parameter), so a use belongs to the
 * innermost range around it that declares its name.
 */

/** A @babel/parser node, read loosely. */
export interface JsNode {
  type: string;
  start: number;
  end: number;
  [k: string]: unknown;
}

export type DeclKind = 'param' | 'var' | 'lexical' | 'catch' | 'fixed';

/** Every declaration of one name in one scope. */
export interface DeclGroup {
  name: string;
  scope: JsNode;
  kind: DeclKind;
  ids: JsNode[];
  /** A local whose name nothing outside can see: renaming it consistently changes nothing. */
  renamable: boolean;
}

const SKIP = new Set(['loc', 'range', 'leadingComments', 'trailingComments', 'innerComments', 'extra', 'comments', 'tokens']);
const FUNCTIONS = new Set([
  'FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression', 'ObjectMethod', 'ClassMethod', 'ClassPrivateMethod',
]);
const BLOCKS = new Set(['BlockStatement', 'ForStatement', 'ForInStatement', 'ForOfStatement', 'SwitchStatement', 'StaticBlock', 'Program']);

export function isNode(v: unknown): v is JsNode {
  return Boolean(v && typeof v === 'object' && typeof (v as JsNode).type === 'string');
}

export function isFunction(n: JsNode): boolean {
  return FUNCTIONS.has(n.type);
}

/** The node's children with the field they sit in, in source order. */
export function children(n: JsNode): Array<[JsNode, string]> {
  const out: Array<[JsNode, string]> = [];
  for (const k in n) {
    if (SKIP.has(k)) continue;
    const v = n[k];
    if (!v || typeof v !== 'object') continue;
    if (Array.isArray(v)) { for (const c of v) if (isNode(c)) out.push([c, k]); }
    else if (isNode(v)) out.push([v, k]);
  }
  return out;
}

/** Pre-order walk with the chain of ancestors (nearest last). */
export function walk(n: JsNode, fn: (n: JsNode, ancestors: JsNode[], key: string) => void, ancestors: JsNode[] = [], key = ''): void {
  fn(n, ancestors, key);
  ancestors.push(n);
  for (const [c, k] of children(n)) walk(c, fn, ancestors, k);
  ancestors.pop();
}

/** Whether an Identifier in this field of its parent names a property, label or type, not a variable. */
export function isNameOnly(parent: JsNode | undefined, key: string): boolean {
  if (!parent) return false;
  const t = parent.type;
  if ((t === 'MemberExpression' || t === 'OptionalMemberExpression') && key === 'property') return !parent.computed;
  if (key === 'key' && /Property|Method|Signature/.test(t)) return !parent.computed;
  if (key === 'label' || t === 'MetaProperty' || /Specifier$/.test(t)) return true;
  if (t.startsWith('TS') && key !== 'expression') return true;
  return false;
}

/** The Identifiers a binding pattern declares. */
export function patternIds(p: unknown): JsNode[] {
  if (!isNode(p)) return [];
  switch (p.type) {
    case 'Identifier': return [p];
    case 'AssignmentPattern': return patternIds(p.left);
    case 'RestElement': return patternIds(p.argument);
    case 'ArrayPattern': return (p.elements as unknown[]).flatMap(patternIds);
    case 'ObjectPattern': return (p.properties as JsNode[]).flatMap((q) => patternIds(q.type === 'RestElement' ? q : q.value));
    case 'TSParameterProperty': return patternIds(p.parameter);
    default: return [];
  }
}

function nearest(ancestors: JsNode[], types: Set<string>): JsNode {
  for (let i = ancestors.length - 1; i >= 0; i--) if (types.has(ancestors[i].type)) return ancestors[i];
  return ancestors[0];
}

/** [identifier, scope, kind] for each declaration a node makes. */
function declarations(n: JsNode, anc: JsNode[]): Array<[JsNode, JsNode, DeclKind]> {
  const fnOrProgram = new Set([...FUNCTIONS, 'Program']);
  if (isFunction(n)) {
    const params = (n.params as JsNode[]).flatMap((p) => patternIds(p).map((id): [JsNode, JsNode, DeclKind] => [id, n, p.type === 'TSParameterProperty' ? 'fixed' : 'param']));
    const id = n.id as JsNode | undefined;
    if (!id) return params;
    return [[id, n.type === 'FunctionDeclaration' ? nearest(anc, BLOCKS) : n, 'fixed'], ...params];
  }
  if (n.type === 'VariableDeclaration') {
    const ids = (n.declarations as JsNode[]).flatMap((d) => patternIds(d.id));
    const scope = n.kind === 'var' ? nearest(anc, fnOrProgram) : nearest(anc, BLOCKS);
    return ids.map((id) => [id, scope, n.kind === 'var' ? 'var' : 'lexical']);
  }
  if ((n.type === 'ClassDeclaration' || n.type === 'ClassExpression') && n.id) {
    return [[n.id as JsNode, n.type === 'ClassDeclaration' ? nearest(anc, BLOCKS) : n, 'fixed']];
  }
  if (n.type === 'CatchClause') return patternIds(n.param).map((id) => [id, n, 'catch']);
  if (/^Import.*Specifier$/.test(n.type)) return [[n.local as JsNode, anc[0], 'fixed']];
  return [];
}

function inside(inner: JsNode, outer: JsNode): boolean {
  return outer.start <= inner.start && inner.end <= outer.end;
}

/**
 * The file's declaration groups, by name. Nothing is renamable in a file that uses
 * `eval` or `with` (a name could be looked up by text), nor a name declared
 * again in a scope nested in this one, nor anything at the module's top level.
 */
export function declarationGroups(program: JsNode): Map<string, DeclGroup[]> {
  const groups = new Map<string, DeclGroup>();
  const keys = new Map<JsNode, number>();
  let dynamic = false;
  walk(program, (n, anc, key) => {
    if (n.type === 'WithStatement' || (n.type === 'Identifier' && n.name === 'eval' && !isNameOnly(anc[anc.length - 1], key))) dynamic = true;
    for (const [id, scope, kind] of declarations(n, anc)) {
      if (!keys.has(scope)) keys.set(scope, keys.size);
      const k = `${keys.get(scope)}:${id.name as string}`;
      const g = groups.get(k) ?? { name: id.name as string, scope, kind, ids: [], renamable: true };
      if (kind === 'fixed') g.kind = 'fixed';
      g.ids.push(id);
      groups.set(k, g);
    }
  });
  const byName = new Map<string, DeclGroup[]>();
  for (const g of groups.values()) byName.set(g.name, [...(byName.get(g.name) ?? []), g]);
  for (const g of groups.values()) {
    const shadowed = byName.get(g.name)!.some((o) => o.scope !== g.scope && inside(o.scope, g.scope));
    g.renamable = !dynamic && g.kind !== 'fixed' && g.scope.type !== 'Program' && !shadowed;
  }
  return byName;
}

/** The group a use of a name at this identifier refers to (the innermost scope around it that declares the name). */
export function groupOf(byName: Map<string, DeclGroup[]>, id: JsNode): DeclGroup | undefined {
  let best: DeclGroup | undefined;
  for (const g of byName.get(id.name as string) ?? []) {
    if (!inside(id, g.scope)) continue;
    if (!best || inside(g.scope, best.scope)) best = g;
  }
  return best;
}
