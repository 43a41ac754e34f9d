/** Final Claims facts read once; anything not final (or a failed read) read again every time. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Address, Hex } from 'viem';
import { withFinalClaimsFactsCached } from './claimsReadCache.js';
import type { AnchoredHeadView, ClaimBatchRecord, ClaimsView } from './claimsView.js';

const A = '0x00000000000000000000000000000000000000aa' as Address;
const ROOT = `0x${'11'.repeat(32)}` as Hex;
const OTHER = `0x${'22'.repeat(32)}` as Hex;

function fakeView() {
  const calls = { batchOf: 0, anchoredHead: 0, claimOf: 0 };
  let fail = false;
  const batches = new Map<Hex, ClaimBatchRecord>([
    [ROOT, { provider: A, payer: A, claimCount: 3, submittedAt: 1 }],
  ]);
  const heads = new Map<number, AnchoredHeadView>([[7, { treeSize: 7, rootHash: ROOT, anchoredAt: 1000 }]]);
  const view: ClaimsView = {
    address: A,
    heldByOtherPayer: async () => false,
    isCommitted: async () => true,
    ruleSetAnchored: async () => true,
    lineKeyOf: async () => ROOT,
    claimOf: async () => {
      calls.claimOf++;
      return undefined;
    },
    batchOf: async (root) => {
      calls.batchOf++;
      if (fail) throw new Error('chain down');
      return batches.get(root) ?? { provider: A, payer: A, claimCount: 0, submittedAt: 0 };
    },
    anchoredHead: async (_m, size) => {
      calls.anchoredHead++;
      if (fail) throw new Error('chain down');
      return heads.get(size);
    },
  };
  return { view, calls, batches, heads, setFail: (f: boolean) => (fail = f) };
}

test('a submitted batch and an anchored head are read once, concurrent reads included', async () => {
  const f = fakeView();
  const v = withFinalClaimsFactsCached(f.view);
  const got = await Promise.all(Array.from({ length: 10 }, () => v.batchOf(ROOT)));
  await v.batchOf(ROOT.toUpperCase().replace('0X', '0x') as Hex);
  assert.ok(got.every((b) => b.claimCount === 3));
  assert.equal(f.calls.batchOf, 1);
  await Promise.all(Array.from({ length: 10 }, () => v.anchoredHead(A, 7)));
  assert.equal((await v.anchoredHead(A, 7))?.rootHash, ROOT);
  assert.equal(f.calls.anchoredHead, 1);
});

test('a batch not yet on chain and a head not yet anchored are read afresh, and then kept', async () => {
  const f = fakeView();
  const v = withFinalClaimsFactsCached(f.view);
  assert.equal((await v.batchOf(OTHER)).claimCount, 0);
  assert.equal(await v.anchoredHead(A, 9), undefined);
  f.batches.set(OTHER, { provider: A, payer: A, claimCount: 1, submittedAt: 2 });
  f.heads.set(9, { treeSize: 9, rootHash: OTHER, anchoredAt: 2000 });
  assert.equal((await v.batchOf(OTHER)).claimCount, 1);
  assert.equal((await v.anchoredHead(A, 9))?.treeSize, 9);
  await v.batchOf(OTHER);
  await v.anchoredHead(A, 9);
  assert.deepEqual([f.calls.batchOf, f.calls.anchoredHead], [2, 2]);
});

test('a failed read is not kept; other reads pass straight through', async () => {
  const f = fakeView();
  const v = withFinalClaimsFactsCached(f.view);
  f.setFail(true);
  await assert.rejects(v.batchOf(ROOT), /chain down/);
  await assert.rejects(v.anchoredHead(A, 7), /chain down/);
  f.setFail(false);
  assert.equal((await v.batchOf(ROOT)).claimCount, 3);
  assert.equal((await v.anchoredHead(A, 7))?.treeSize, 7);
  await v.claimOf(ROOT);
  await v.claimOf(ROOT);
  assert.deepEqual([f.calls.batchOf, f.calls.anchoredHead, f.calls.claimOf], [2, 2, 2]);
});
