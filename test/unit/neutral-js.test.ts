/**
 * The behaviour-neutral test for JavaScript and TypeScript (judge/neutralJs.ts):
 * comments, formatting, no-op statements, independent statements swapped and a
 * consistent renaming of locals leave a program the same; real bugs do not.
 */
import { strict as assert } from 'node:assert';
import { compareJs } from '../../src/core/judge/neutralJs';

const ORIGINAL = `import { rate } from './rate';
const TAX = 2;
export function total(items, extra) {
  'use strict';
  let sum = 0;
  for (const item of items) {
    sum += item.price;
  }
  const fee = TAX * 3;
  const bonus = extra + 1;
  return sum * bonus + fee + rate;
}
export function pick({ name, size }) {
  try {
    return name.slice(0, size);
  } catch (err) {
    return String(err);
  }
}
`;

function variant(old: string, now: string): string {
  assert.ok(ORIGINAL.includes(old), old);
  return ORIGINAL.replace(old, now);
}

const check = (after: string, before = ORIGINAL, file = 'lib/total.js') => compareJs(file, before, after);

describe('behaviour-neutral changes (JavaScript/TypeScript)', () => {
  it('comments and formatting only', () => {
    const r = check(variant('const fee = TAX * 3;', '// three\n  const fee = (TAX*3)  ;'));
    assert.ok(r.neutral);
    assert.deepEqual(r.reasons, ['only comments or formatting']);
  });

  it('a consistent renaming of locals, parameters, loop and catch variables, names the renaming', () => {
    let after = ORIGINAL.replace(/\bsum\b/g, 'acc').replace(/\bitem\b/g, 'it').replace(/\bextra\b/g, 'more');
    after = after.replace(/\berr\b/g, 'e');
    const r = check(after);
    assert.ok(r.neutral, JSON.stringify(r));
    assert.deepEqual(r.reasons, ['a consistent renaming of locals: err->e, extra->more, item->it, sum->acc']);
  });

  it('a destructured parameter renamed keeps its property: { name: n }', () => {
    const r = check(ORIGINAL.replace('{ name, size }', '{ name: n, size }').replace('name.slice', 'n.slice'));
    assert.ok(r.neutral, JSON.stringify(r));
  });

  it('two independent statements swapped', () => {
    const r = check(variant('  const fee = TAX * 3;\n  const bonus = extra + 1;\n', '  const bonus = extra + 1;\n  const fee = TAX * 3;\n'));
    assert.ok(r.neutral);
    assert.deepEqual(r.reasons, ['independent statements reordered']);
  });

  for (const noop of [';', '{}', '42;', '"text";', 'void 0;', 'extra;', 'extra = extra;', 'const unused = 7;', 'let nothing;', 'if (false) {}', 'try {} catch (e) { throw e; }']) {
    it(`a statement that does nothing: ${noop}`, () => {
      const r = check(variant('  const fee = TAX * 3;\n', `  const fee = TAX * 3;\n  ${noop}\n`));
      assert.ok(r.neutral, JSON.stringify(r));
      assert.deepEqual(r.reasons, ['a statement that does nothing added or removed']);
    });
  }

  it('a rename, a swap and a no-op together', () => {
    const after = variant('  const fee = TAX * 3;\n  const bonus = extra + 1;\n  return sum * bonus + fee + rate;',
      '  const b = extra + 1;\n  ;\n  const fee = TAX * 3;\n  return sum * b + fee + rate;');
    const r = check(after);
    assert.ok(r.neutral, JSON.stringify(r));
    assert.equal(r.reasons.length, 3);
  });

  it('TypeScript: a renamed local in a typed function', () => {
    const before = 'export function f(a: number): number {\n  const d: number = a * 2;\n  return d as number;\n}\n';
    const after = 'export function f(x: number): number {\n  const twice: number = x * 2;\n  return twice as number;\n}\n';
    assert.ok(compareJs('src/f.ts', before, after).neutral);
  });

  it('a changed operator or constant is a bug', () => {
    assert.ok(!check(variant('TAX * 3', 'TAX + 3')).neutral);
    assert.ok(!check(variant('TAX * 3', 'TAX * 4')).neutral);
    assert.ok(!check(variant('sum += item.price', 'sum -= item.price')).neutral);
  });

  it('swapped dependent statements, or swapped calls, are a bug', () => {
    const before = 'function f(a) {\n  let x = a + 1;\n  let y = x * 2;\n  return y;\n}\n';
    assert.ok(!check('function f(a) {\n  let y = x * 2;\n  let x = a + 1;\n  return y;\n}\n', before).neutral);
    const calls = 'function f(log) {\n  log.push(1);\n  log.push(2);\n}\n';
    assert.ok(!check('function f(log) {\n  log.push(2);\n  log.push(1);\n}\n', calls).neutral);
    const g = 'function f() {\n  const a = g();\n  const b = h();\n  return [a, b];\n}\n';
    assert.ok(!check('function f() {\n  const b = h();\n  const a = g();\n  return [a, b];\n}\n', g).neutral);
  });

  it('module-level statements keep their order, and top-level names, properties, imports and functions keep their names', () => {
    assert.ok(!check('const B = 2;\nconst A = 1;\n', 'const A = 1;\nconst B = 2;\n').neutral);
    assert.ok(!check(ORIGINAL.replace(/\bTAX\b/g, 'RATE')).neutral);
    assert.ok(!check(ORIGINAL.replace(/\.price/g, '.cost')).neutral);
    assert.ok(!check(ORIGINAL.replace(/\brate\b/g, 'r')).neutral);
    assert.ok(!check(ORIGINAL.replace('function pick', 'function choose')).neutral);
    assert.ok(!check(ORIGINAL.replace("'use strict'", "'use sloppy'")).neutral);
  });

  it('renaming onto an outer name, or a used new local, is a bug', () => {
    assert.ok(!check(ORIGINAL.replace(/\bbonus\b/g, 'TAX')).neutral);
    assert.ok(!check(variant('  const fee = TAX * 3;\n', '  const fee = TAX * 3;\n  extra = 0;\n')).neutral);
    assert.ok(!check(variant('  const fee = TAX * 3;\n', '  const fee = TAX * 3;\n  undefinedName;\n')).neutral);
  });

  it('a block-scoped local shadowing another is not renamed by mistake', () => {
    const before = 'function f(a) {\n  { let v = 1; a += v; }\n  return v;\n}\n';
    const after = 'function f(a) {\n  { let w = 1; a += w; }\n  return v;\n}\n';
    assert.ok(check(after, before).neutral);
    assert.ok(!check('function f(a) {\n  { let w = 1; a += w; }\n  return w;\n}\n', before).neutral);
  });

  it('nothing is renamed in a file that uses eval', () => {
    const before = 'function f(a) {\n  const x = a;\n  return eval("x");\n}\n';
    assert.ok(!check('function f(a) {\n  const y = a;\n  return eval("x");\n}\n', before).neutral);
  });

  it('syntax errors: an after that does not parse is a bug; an original that does not parse is undecided', () => {
    assert.ok(!check(ORIGINAL + '\nfunction (').neutral);
    const r = check(ORIGINAL, 'function (');
    assert.ok(!r.neutral && /does not parse/.test(r.error ?? ''));
  });
});

describe('behaviour-neutral changes: limits', () => {
  it('a file over the size limit is not compared, and says so', () => {
    const big = `const x = [${'1,'.repeat(300_000)}];\n`;
    const r = compareJs('big.js', big, big + '// same\n');
    assert.ok(!r.neutral && /too large/.test(r.error ?? ''));
  });

  it('a long run of simple statements is compared in its own order, quickly', () => {
    const body = Array.from({ length: 1000 }, (_, i) => `  const v${i} = a + ${i};`).join('\n');
    const src = `function f(a) {\n${body}\n  return a;\n}\n`;
    const started = Date.now();
    assert.ok(compareJs('long.js', src, src.replace('const v0 = a + 0;', 'const w0 = a + 0;')).neutral);
    assert.ok(Date.now() - started < 20_000);
  });
});

describe('behaviour-neutral changes: JavaScript scopes', () => {
  const cases: Array<[string, string, string]> = [
    ['arrow parameters', 'export const f = (a, b) => a * b;\n', 'export const f = (x, y) => x * y;\n'],
    ['a class method parameter', 'export class C {\n  m(v) { return this.k + v; }\n}\n', 'export class C {\n  m(w) { return this.k + w; }\n}\n'],
    ['a closure over a local', 'export function f(xs) {\n  const k = 2;\n  return xs.map((v) => v * k);\n}\n', 'export function f(xs) {\n  const n = 2;\n  return xs.map((v) => v * n);\n}\n'],
    ['a hoisted var used before its declaration', 'export function f() {\n  t = 3;\n  var t;\n  return t;\n}\n', 'export function f() {\n  u = 3;\n  var u;\n  return u;\n}\n'],
  ];
  for (const [what, before, after] of cases) {
    it(`${what} renamed is neutral`, () => assert.ok(compareJs('m.js', before, after).neutral, what));
  }

  it('a closure that now captures a different variable is a bug', () => {
    const before = 'const k = 1;\nexport function f(xs) {\n  const n = 2;\n  return xs.map((v) => v * k + n);\n}\n';
    const after = 'const k = 1;\nexport function f(xs) {\n  const k = 2;\n  return xs.map((v) => v * k + k);\n}\n';
    assert.ok(!compareJs('m.js', before, after).neutral);
  });

  it('a shorthand property keeps the key: renaming { a } to { b } changes the object', () => {
    const before = 'export function f(a) {\n  return { a };\n}\n';
    assert.ok(!compareJs('m.js', before, 'export function f(b) {\n  return { b };\n}\n').neutral);
    assert.ok(compareJs('m.js', before, 'export function f(b) {\n  return { a: b };\n}\n').neutral);
  });
});
