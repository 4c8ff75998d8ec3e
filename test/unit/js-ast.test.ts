/**
 * JavaScript/TypeScript mutation and test deletion on @babel/parser ASTs:
 * functions found in classes, objects and arrow bindings; each strategy
 * gives code that parses and differs; tests deleted by their ids, loops of
 * generated tests and .each tables included, never commented out.
 */
import { strict as assert } from 'node:assert';
import { listFunctions, mutate, parseJs, strategiesOf } from '../../src/core/bootstrap/js/ast';
import { deleteTests } from '../../src/core/bootstrap/js/testDeletion';
import { seededRandom } from '../../src/core/base/random';

const SRC = `export function clamp(x: number, lo: number, hi: number): number {
  if (x < lo) {
    return lo;
  }
  if (x > hi) return hi;
  const y = x * 1;
  log(y);
  return y;
}
export const twice = (s: string): string => s + s;
class Stack<T> {
  items: T[] = [];
  push(x: T): void {
    this.items.push(x);
  }
  get size() { return this.items.length; }
}
const util = { isEven(n) { return n % 2 === 0; } };
function log(_v: unknown) {}
`;

const TESTS = `import { describe, it, test, expect } from "vitest";
describe("clamp", () => {
  it("low", () => expect(1).toBe(1));
  it("high", () => expect(1).toBe(1));
  for (const input of ["a", "b"]) {
    test(input, () => expect(input).toBeTruthy());
  }
});
describe("twice", () => {
  test.each([[1, 2], [2, 4]])("twice(%i) is %i", (a, b) => expect(a * 2).toBe(b));
});
test("top level", () => {});
`;

describe('JS/TS on @babel/parser', () => {
  it('lists named functions, methods and arrows (not getters, not nested ones) with their strategies', () => {
    const fns = listFunctions('src/x.ts', SRC);
    assert.deepEqual(fns.map((f) => f.symbol), ['clamp', 'twice', 'Stack.push', 'util.isEven', 'log']);
    const clamp = fns[0];
    assert.deepEqual(strategiesOf(clamp, SRC), { body: true, branch: 2, block: strategiesOf(clamp, SRC).block });
    assert.ok(strategiesOf(clamp, SRC).block >= 1);
  });

  it('each strategy gives code that parses and differs, with a description', () => {
    for (const strategy of ['body', 'branch', 'block'] as const) {
      for (let seed = 0; seed < 5; seed++) {
        const m = mutate('src/x.ts', SRC, 'clamp', undefined, strategy, seededRandom(seed));
        assert.ok(m.ok, `${strategy}: ${m.reason}`);
        assert.notEqual(m.text, SRC);
        parseJs('src/x.ts', m.text!);
        assert.match(m.description!, /clamp/);
      }
    }
    const body = mutate('src/x.ts', SRC, 'twice', undefined, 'body', seededRandom(1));
    assert.match(body.text!, /export const twice = \(s: string\): string => "";/);
    assert.equal(mutate('src/x.ts', SRC, 'nope', undefined, 'body', seededRandom(1)).ok, false);
  });

  it('deletes tests by id: literal titles, generated ones in loops, .each tables; empty suites go too', () => {
    const w = deleteTests('test/x.test.ts', TESTS, ['clamp > low', 'clamp > a', 'twice > twice(2) is 4', 'missing > x']);
    assert.deepEqual(w.removed, ['clamp > low', 'clamp > a', 'twice > twice(2) is 4']);
    assert.deepEqual(w.missing, ['missing > x']);
    assert.doesNotMatch(w.text, /"low"|test\(input|twice\(%i\)/);
    assert.match(w.text, /it\("high"/);
    assert.doesNotMatch(w.text, /describe\("twice"/, 'a suite left with no test is removed');
    assert.doesNotMatch(w.text, /\/\//, 'nothing is commented out');
    parseJs('test/x.test.ts', w.text);
    assert.equal(w.empty, false);
    const all = deleteTests('test/x.test.ts', TESTS, ['clamp > low', 'clamp > high', 'clamp > a', 'twice > twice(1) is 2', 'top level']);
    assert.equal(all.empty, true);
  });
});
