/**
 * The provider's batcher on the embedded chain: claims submitted together become one
 * `submitBatch` transaction whose root proves each claim; `maxClaims` splits; a batch the
 * contract refuses (to a payer that is not an insurer) rejects every claim in it.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Address } from 'viem';
import { startTestChain, type TestChain, type TestMember } from '../../test/support/testChain.js';
import { type ClaimLeaf, random32, verifyClaimProof } from '../chain/claimBatch.js';
import { chainClaims } from '../chain/claimsView.js';
import { Outbox } from '../chain/outbox.js';
import { openDatabase } from '../store/database.js';
import { NODE_MIGRATIONS } from '../store/nodeSchema.js';
import { ClaimBatcher } from './claimBatcher.js';

let t: TestChain;
let provider: TestMember;
let payer: TestMember;
let other: TestMember;
let outbox: Outbox;
let db: ReturnType<typeof openDatabase>;
before(async () => {
  t = await startTestChain({ memberCount: 3, memberRoles: [1, 8, 2] });
  [provider, payer, other] = t.members as [TestMember, TestMember, TestMember];
  db = openDatabase(path.join(t.dir, 'provider.db'), NODE_MIGRATIONS);
  outbox = new Outbox(db, t.conn, provider.wallet, { receiptTimeoutMs: 20_000 });
});
after(async () => {
  db?.close();
  await t?.close();
});

const leaf = (to: Address): ClaimLeaf => ({
  claimId: random32(),
  provider: provider.input.account,
  payer: to,
  patientCommitment: random32(),
  linesHash: random32(),
  billed: 10_000n,
});

test('claims submitted together go on chain as one batch; each proof verifies against its root', async () => {
  const batcher = new ClaimBatcher(outbox, t.manifest.contracts.Claims as Address, { windowMs: 200 });
  const before = outbox.recent(100).length;
  const leaves = Array.from({ length: 5 }, () => leaf(payer.input.account));
  const got = await Promise.all(leaves.map((l) => batcher.submit(l, [random32()])));
  const roots = new Set(got.map((g) => g.root));
  assert.equal(roots.size, 1, 'one batch');
  assert.equal(outbox.recent(100).length - before, 1, 'one transaction');
  leaves.forEach((l, i) => {
    assert.ok(verifyClaimProof(got[i]?.root as `0x${string}`, l, got[i]?.proof ?? []));
  });
  const onChain = await chainClaims(t.conn, t.manifest).batchOf(got[0]?.root as `0x${string}`);
  assert.equal(onChain.claimCount, 5);
  assert.equal(onChain.provider.toLowerCase(), provider.input.account.toLowerCase());
});

test('maxClaims splits a burst into several batches', async () => {
  const batcher = new ClaimBatcher(outbox, t.manifest.contracts.Claims as Address, {
    windowMs: 200,
    maxClaims: 2,
  });
  const got = await Promise.all(
    Array.from({ length: 3 }, () => batcher.submit(leaf(payer.input.account), [random32()])),
  );
  assert.equal(new Set(got.map((g) => g.root)).size, 2);
});

test('a batch to a member that is not an insurer is refused, for every claim in it', async () => {
  const batcher = new ClaimBatcher(outbox, t.manifest.contracts.Claims as Address, { windowMs: 50 });
  const results = await Promise.allSettled(
    [leaf(other.input.account), leaf(other.input.account)].map((l) => batcher.submit(l, [random32()])),
  );
  for (const r of results) {
    assert.equal(r.status, 'rejected');
    assert.match(String((r as PromiseRejectedResult).reason?.message), /refused the batch/);
  }
});
