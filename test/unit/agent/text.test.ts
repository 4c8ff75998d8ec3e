import { strict as assert } from 'node:assert';
import { budgetLine, estimateTokens, numberedContext, seededRandom, truncateMiddle } from '../../../src/core/agents/text';
import { pickStrategy } from '../../../src/core/agents/prompts';

describe('agent text helpers', () => {
  it('leaves short output alone', () => {
    assert.deepEqual(truncateMiddle('hello', 100), { text: 'hello', truncated: false });
  });

  it('cuts long output to head and tail with a marker', () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i}`).join('\n');
    const r = truncateMiddle(lines, 2000);
    assert.ok(r.truncated);
    assert.ok(r.text.length <= 2000 + 200, `length ${r.text.length}`);
    assert.ok(r.text.startsWith('line 0\nline 1\n'));
    assert.ok(r.text.endsWith('line 4999'));
    assert.match(r.text, /\[\.\.\. \d+ characters \(\d+ lines\) cut from the middle of this output/);
  });

  it('writes the budget line', () => {
    assert.equal(budgetLine({ turnsLeft: 12 }), '[turns left: 12]');
    assert.equal(
      budgetLine({ turnsLeft: 3, tokensLeft: 81_234, msLeft: 14 * 60_000 + 5000 }),
      '[turns left: 3 | context left: ~81k tokens | time left: 14 min]',
    );
    assert.equal(budgetLine({ turnsLeft: -1, tokensLeft: 900, msLeft: 45_000 }), '[turns left: 0 | context left: ~900 tokens | time left: 45 s]');
  });

  it('estimates tokens as characters / 4', () => {
    assert.equal(estimateTokens(''), 0);
    assert.equal(estimateTokens('abcdefgh'), 2);
    assert.equal(estimateTokens('abcdefghi'), 3);
  });

  it('numbers context lines', () => {
    const text = Array.from({ length: 20 }, (_, i) => `l${i + 1}`).join('\n') + '\n';
    assert.equal(numberedContext(text, 10, 10, 1), ' 9| l9\n10| l10\n11| l11');
  });

  it('draws mix strategies reproducibly and about 50/50', () => {
    assert.equal(pickStrategy('mix', 42), pickStrategy('mix', 42));
    assert.equal(pickStrategy('direct', 1), 'direct');
    const draws = Array.from({ length: 400 }, (_, i) => pickStrategy('mix', i));
    const removal = draws.filter((s) => s === 'removal').length;
    assert.ok(draws.every((s) => s === 'removal' || s === 'history'));
    assert.ok(removal > 150 && removal < 250, `removal ${removal}/400`);
    const r = seededRandom(7);
    const a = [r(), r(), r()];
    const r2 = seededRandom(7);
    assert.deepEqual(a, [r2(), r2(), r2()]);
  });
});
