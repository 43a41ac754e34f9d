import assert from 'node:assert/strict';
import { test } from 'node:test';
import { anchorReading } from './anchoring.js';

test('one reading of the anchored size: the chain’s, with the node’s transaction when they agree', () => {
  const node = { treeSize: 120, anchored: { treeSize: 118, txHash: '0xabc', blockNumber: 40 } };
  assert.deepEqual(anchorReading(node, 118), {
    entries: 120,
    anchored: 118,
    waiting: 2,
    source: 'chain',
    tx: { hash: '0xabc', block: 40 },
  });
  // The chain is ahead of what the node has recorded so far: the chain's size, no stale transaction.
  assert.deepEqual(anchorReading(node, 120), {
    entries: 120,
    anchored: 120,
    waiting: 0,
    source: 'chain',
    tx: null,
  });
  // The chain cannot be read: the node's record, said to be that.
  assert.equal(anchorReading(node, null).source, 'node');
  assert.equal(anchorReading(node, null).anchored, 118);
  assert.deepEqual(anchorReading({ treeSize: 5, anchored: null }, 0), {
    entries: 5,
    anchored: 0,
    waiting: 5,
    source: 'chain',
    tx: null,
  });
});
