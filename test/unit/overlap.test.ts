/** The next round's proposal made ahead: taken once, made fresh when none was started, and when it is started at all. */
import { strict as assert } from 'node:assert';
import { ProposalsAhead, proposeAhead } from '../../src/core/bootstrap/overlap';

describe('proposals made ahead', () => {
  it('a proposal started ahead is the one its round takes, once; otherwise the round makes its own', async () => {
    const ahead = new ProposalsAhead<string>();
    let made = 0;
    ahead.start(1, async () => `ahead-${++made}`);
    ahead.start(1, async () => `again-${++made}`); // already started: not made twice
    assert.equal(await ahead.take(1, async () => 'fresh'), 'ahead-1');
    assert.equal(await ahead.take(1, async () => 'fresh'), 'fresh');
    assert.equal(made, 1);
  });

  it('an error of a proposal made ahead surfaces when its round takes it, not before', async () => {
    const ahead = new ProposalsAhead<string>();
    ahead.start(2, async () => {
      throw new Error('engine gone');
    });
    await new Promise((r) => setImmediate(r)); // no unhandled rejection in between
    await assert.rejects(ahead.take(2, async () => 'fresh'), /engine gone/);
  });

  it('only bootstrap proposals, with cores to spare, before the last round, without a wall budget, not for a done round', () => {
    const cfg = { proposer: 'bootstrap', rounds: 3, concurrency: 2 };
    assert.equal(proposeAhead(cfg, 0, false), true);
    assert.equal(proposeAhead(cfg, 2, false), false);
    assert.equal(proposeAhead({ ...cfg, concurrency: 1 }, 0, false), false);
    assert.equal(proposeAhead({ ...cfg, proposer: 'policy' }, 0, false), false);
    assert.equal(proposeAhead({ ...cfg, maxWallMs: 60_000 }, 0, false), false);
    assert.equal(proposeAhead(cfg, 0, true), false);
  });
});
