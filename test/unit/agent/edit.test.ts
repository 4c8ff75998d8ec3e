import { strict as assert } from 'node:assert';
import { applyEdit } from '../../../src/core/agents/edit';

const FILE = ['def add(a, b):', '    return a - b', '', '', 'def sub(a, b):', '    return a - b', ''].join('\n');

describe('agent edit tool', () => {
  it('replaces the single match and shows numbered context', () => {
    const r = applyEdit(FILE, 'def add(a, b):\n    return a - b', 'def add(a, b):\n    return a + b', 'm.py');
    assert.ok(r.ok);
    assert.equal(r.content, FILE.replace('def add(a, b):\n    return a - b', 'def add(a, b):\n    return a + b'));
    assert.equal(r.startLine, 1);
    assert.equal(r.endLine, 2);
    assert.match(r.context, /^1\| def add\(a, b\):\n2\|     return a \+ b/);
  });

  it('fails on zero matches, changes nothing, and points at a near match', () => {
    const r = applyEdit(FILE, 'def add(a, b):\n  return a - b', 'x', 'm.py');
    assert.ok(!r.ok);
    assert.equal(r.matches, 0);
    assert.match(r.error, /not found in m\.py/);
    assert.match(r.error, /line 1/);
    const none = applyEdit(FILE, 'def mul(a, b):', 'x', 'm.py');
    assert.ok(!none.ok);
    assert.match(none.error, /grep -n/);
  });

  it('fails on two matches and says where they are', () => {
    const r = applyEdit(FILE, '    return a - b', '    return 0', 'm.py');
    assert.ok(!r.ok);
    assert.equal(r.matches, 2);
    assert.match(r.error, /occurs 2 times in m\.py \(at line 2, 6\)/);
    assert.match(r.error, /exactly once/);
  });

  it('deletes a block with an empty replacement', () => {
    const r = applyEdit(FILE, 'def sub(a, b):\n    return a - b\n', '');
    assert.ok(r.ok);
    assert.equal(r.content, 'def add(a, b):\n    return a - b\n\n\n');
  });

  it('matches LF search text against a CRLF file and keeps CRLF', () => {
    const crlf = FILE.replace(/\n/g, '\r\n');
    const r = applyEdit(crlf, 'def add(a, b):\n    return a - b', 'def add(a, b):\n    return a + b');
    assert.ok(r.ok);
    assert.ok(r.content.startsWith('def add(a, b):\r\n    return a + b\r\n'));
  });
});
