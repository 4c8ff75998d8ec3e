import { strict as assert } from 'node:assert';
import {
  FORMAT_REMINDER,
  formatToolCall,
  nativeCallToToolCall,
  nativeToolSchemas,
  parseCreateArgs,
  parseEditArgs,
  parseSubmitArgs,
  parseToolCall,
} from '../../../src/core/agents/protocol';

describe('agent protocol: parseToolCall', () => {
  it('parses a well-formed call with a thought before it', () => {
    const r = parseToolCall('Let me look.\n\n<tool: bash>\nls -la\ncd src\n</tool>');
    assert.ok(r.ok);
    assert.equal(r.call.name, 'bash');
    assert.equal(r.call.args, 'ls -la\ncd src');
    assert.equal(r.call.unclosed, false);
    assert.equal(r.call.extraCalls, 0);
    assert.equal(r.call.raw, '<tool: bash>\nls -la\ncd src\n</tool>');
  });

  it('accepts no space after the colon and CRLF line ends', () => {
    const r = parseToolCall('<tool:bash>\r\necho hi\r\n</tool>');
    assert.ok(r.ok);
    assert.equal(r.call.name, 'bash');
    assert.equal(r.call.args, 'echo hi');
  });

  it('keeps inner blank lines and indentation of the arguments', () => {
    const r = parseToolCall('<tool: create>\na.py\n\n    x = 1\n\n</tool>');
    assert.ok(r.ok);
    assert.equal(r.call.args, 'a.py\n\n    x = 1\n');
  });

  it('marks a call whose close tag is missing (the server stopped on </tool>)', () => {
    const r = parseToolCall('<tool: bash>\npytest -q\n');
    assert.ok(r.ok);
    assert.equal(r.call.unclosed, true);
    assert.equal(r.call.args, 'pytest -q');
  });

  it('keeps the arguments byte for byte when the server stopped on </tool>: only the protocol newline goes', () => {
    // A diff whose last context line is blank, written with `create` and cut at the stop string.
    const diff = '--- a/t.py\n+++ b/t.py\n@@ -1,3 +1,2 @@\n-assert x\n \n \n';
    const stopped = parseToolCall(`<tool: create>\ntest_weaken.diff\n${diff}\n`);
    const closed = parseToolCall(`<tool: create>\ntest_weaken.diff\n${diff}\n</tool>`);
    assert.ok(stopped.ok && closed.ok);
    assert.equal(stopped.call.args, `test_weaken.diff\n${diff}`);
    assert.equal(stopped.call.args, closed.call.args);
    const created = parseCreateArgs(stopped.call.args);
    assert.ok(created.ok);
    assert.equal(created.value.content, diff);
    // Trailing spaces on the last line are the model's, not the protocol's.
    const spaces = parseToolCall('<tool: bash>\necho "a  "  \n');
    assert.ok(spaces.ok);
    assert.equal(spaces.call.args, 'echo "a  "  ');
  });

  it('reports a reply with no tool call, with the exact format', () => {
    const r = parseToolCall('I think the bug is in parse().');
    assert.ok(!r.ok);
    assert.match(r.error, /No tool call found/);
    assert.ok(r.error.includes(FORMAT_REMINDER));
  });

  it('reports a malformed open tag', () => {
    const r = parseToolCall('<tool bash>\nls\n</tool>');
    assert.ok(!r.ok);
    assert.match(r.error, /Malformed tool tag/);
  });

  it('reports an empty tool name', () => {
    const r = parseToolCall('<tool: >\nls\n</tool>');
    assert.ok(!r.ok);
    assert.match(r.error, /names no tool/);
  });

  it('returns an unknown tool name as written (the loop rejects it)', () => {
    const r = parseToolCall('<tool: python>\nprint(1)\n</tool>');
    assert.ok(r.ok);
    assert.equal(r.call.name, 'python');
  });

  it('takes the first of two calls and counts the rest', () => {
    const r = parseToolCall('<tool: bash>\nls\n</tool>\n<tool: bash>\npwd\n</tool>\n<tool: submit>\n</tool>');
    assert.ok(r.ok);
    assert.equal(r.call.args, 'ls');
    assert.equal(r.call.extraCalls, 2);
  });

  it('parses a call with empty arguments', () => {
    const r = parseToolCall('<tool: submit>\n</tool>');
    assert.ok(r.ok);
    assert.equal(r.call.name, 'submit');
    assert.equal(r.call.args, '');
  });

  it('round-trips formatToolCall', () => {
    for (const args of ['ls', 'a\nb', '']) {
      const r = parseToolCall(formatToolCall('bash', args));
      assert.ok(r.ok);
      assert.equal(r.call.args, args);
    }
  });
});

describe('agent protocol: arguments', () => {
  it('parses an edit block', () => {
    const r = parseEditArgs('src/a.py\n<<<<<<< SEARCH\n    x = 1\n    y = 2\n=======\n    x = 3\n>>>>>>> REPLACE');
    assert.ok(r.ok);
    assert.deepEqual(r.value, { path: 'src/a.py', search: '    x = 1\n    y = 2', replace: '    x = 3' });
  });

  it('allows an empty REPLACE (a deletion)', () => {
    const r = parseEditArgs('a.py\n<<<<<<< SEARCH\nx = 1\n=======\n>>>>>>> REPLACE');
    assert.ok(r.ok);
    assert.equal(r.value.replace, '');
  });

  it('rejects edits without path, markers, or with an empty SEARCH', () => {
    const cases: Array<[string, RegExp]> = [
      ['<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE', /first line must be the file path/],
      ['a.py\nx\n=======\ny\n>>>>>>> REPLACE', /no `<<<<<<< SEARCH`/],
      ['a.py\n<<<<<<< SEARCH\nx\ny\n>>>>>>> REPLACE', /no `=======`/],
      ['a.py\n<<<<<<< SEARCH\nx\n=======\ny', /no `>>>>>>> REPLACE`/],
      ['a.py\n<<<<<<< SEARCH\n\n=======\ny\n>>>>>>> REPLACE', /SEARCH part is empty/],
      ['a.py\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n<<<<<<< SEARCH', /one block per edit/],
      ['', /no file path/],
    ];
    for (const [args, re] of cases) {
      const r = parseEditArgs(args);
      assert.ok(!r.ok, args);
      assert.match(r.error, re);
      assert.match(r.error, /<<<<<<< SEARCH/);
    }
  });

  it('parses create: path then content, with a final newline', () => {
    const r = parseCreateArgs('dir/new.py\nimport os\nprint(os.getcwd())');
    assert.ok(r.ok);
    assert.deepEqual(r.value, { path: 'dir/new.py', content: 'import os\nprint(os.getcwd())\n' });
    const empty = parseCreateArgs('empty.txt');
    assert.ok(empty.ok);
    assert.equal(empty.value.content, '');
    assert.ok(!parseCreateArgs('').ok);
  });

  it('parses submit paths on lines or separated by spaces', () => {
    const r = parseSubmitArgs('a b\n c\n\n');
    assert.ok(r.ok);
    assert.deepEqual(r.value.paths, ['a', 'b', 'c']);
    const none = parseSubmitArgs('');
    assert.ok(none.ok);
    assert.deepEqual(none.value.paths, []);
  });
});

describe('agent protocol: native function calls', () => {
  it('offers four JSON-schema tools', () => {
    const names = nativeToolSchemas('solver').map((t) => t.function.name);
    assert.deepEqual(names, ['bash', 'edit', 'create', 'submit']);
  });

  it('maps native calls onto the text arguments', () => {
    const b = nativeCallToToolCall({ id: 'c1', function: { name: 'bash', arguments: '{"command":"ls"}' } });
    assert.ok(b.ok);
    assert.equal(b.call.args, 'ls');
    assert.equal(b.call.nativeId, 'c1');
    const e = nativeCallToToolCall({ id: 'c2', function: { name: 'edit', arguments: JSON.stringify({ path: 'a.py', search: 'x', replace: 'y' }) } });
    assert.ok(e.ok);
    const ea = parseEditArgs(e.call.args);
    assert.ok(ea.ok);
    assert.deepEqual(ea.value, { path: 'a.py', search: 'x', replace: 'y' });
    const c = nativeCallToToolCall({ function: { name: 'create', arguments: JSON.stringify({ path: 'n.txt', content: 'hello\n' }) } });
    assert.ok(c.ok);
    const ca = parseCreateArgs(c.call.args);
    assert.ok(ca.ok);
    assert.deepEqual(ca.value, { path: 'n.txt', content: 'hello\n' });
    const s = nativeCallToToolCall({ function: { name: 'submit', arguments: JSON.stringify({ paths: ['/artifact'] }) } });
    assert.ok(s.ok);
    assert.equal(s.call.args, '/artifact');
  });

  it('reports arguments that are not a JSON object', () => {
    const r = nativeCallToToolCall({ function: { name: 'bash', arguments: 'ls -la' } });
    assert.ok(!r.ok);
    assert.match(r.error, /not a JSON object/);
  });
});
