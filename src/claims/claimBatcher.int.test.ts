/**
 * The provider's batcher on the embedded chain: claims submitted together become one
 * `submitBatch` transaction whose root proves each claim; `maxClaims` splits; a batch the
 * contract refuses (to a payer that is not an insurer) rejects every claim in it. Then the
 * payer's DecisionRecorder records first decisions of one batch in one transaction, and each
 * claim reads back in its state with its flags and approved amount. A provider's first batch
 * pins its line key first (LineKeyRegistrar, once; a conflicting key is refused).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Address, Hex } from 'viem';
import { startTestChain, type TestChain, type TestMember } from '../../test/support/testChain.js';
import { WAIT_DEADLINE_MS, waitFor } from '../../test/support/waitFor.js';
import { type ClaimLeaf, random32, ruleSetId, verifyClaimProof } from '../chain/claimBatch.js';
import { chainClaims } from '../chain/claimsView.js';
import { claimsAbi } from '../chain/generated/index.js';
import { Outbox } from '../chain/outbox.js';
import { writeAndWait } from '../chain/transact.js';
import { openDatabase } from '../store/database.js';
import { NODE_MIGRATIONS } from '../store/nodeSchema.js';
import { chainDecision } from './chainDecision.js';
import { ClaimBatcher } from './claimBatcher.js';
import { DecisionRecorder } from './decisionRecorder.js';
import { LINE_KEY_OUTBOX_KEY, LineKeyRegistrar, lineKeyHash, providerLineKey } from './lineKey.js';
import { FRAUD } from './model.js';
import { loadEditTables } from './tableFiles.js';

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
  // The provider pins its line key directly (the registrar's own test below uses another member).
  await writeAndWait(t.conn, provider.wallet, {
    address: t.manifest.contracts.Claims as Address,
    abi: claimsAbi,
    functionName: 'registerLineKey',
    args: [random32()],
  });
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

test('a batch enqueued while another flush of the outbox is under way is still mined', async () => {
  // A transaction of its own (as the anchorer's), signed and in flight before the claim arrives:
  // the flush running then never saw the batch, and sharing it would leave the batch unsent.
  const key = `bench-other:${random32()}`;
  outbox.enqueue({
    key,
    contract: 'Claims',
    address: t.manifest.contracts.Claims as Address,
    functionName: 'submitBatch',
    args: [payer.input.account, random32(), 1, [random32()]],
    description: 'another transaction',
  });
  const running = outbox.flush();
  await waitFor(
    'the other transaction signed by the running flush',
    () => outbox.get(key)?.status !== 'queued',
    WAIT_DEADLINE_MS,
    1,
  );
  const batcher = new ClaimBatcher(outbox, t.manifest.contracts.Claims as Address, { windowMs: 0 });
  const l = leaf(payer.input.account);
  const got = await batcher.submit(l, [random32()]);
  await running;
  assert.equal((await chainClaims(t.conn, t.manifest).batchOf(got.root)).claimCount, 1);
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

test('the payer records first decisions of a batch in one transaction; states, flags and amounts read back', async () => {
  const batcher = new ClaimBatcher(outbox, t.manifest.contracts.Claims as Address, { windowMs: 100 });
  const leaves = [leaf(payer.input.account), leaf(payer.input.account), leaf(payer.input.account)];
  const batched = await Promise.all(leaves.map((l) => batcher.submit(l, [random32()])));
  const payerDb = openDatabase(path.join(t.dir, 'payer.db'), NODE_MIGRATIONS);
  try {
    const payerOutbox = new Outbox(payerDb, t.conn, payer.wallet, { receiptTimeoutMs: 20_000 });
    const tables = loadEditTables();
    const rules = ruleSetId([tables.ptp, tables.mue]);
    const recorder = new DecisionRecorder(payerOutbox, t.manifest.contracts.Claims as Address, rules, 100);
    const decisions = [
      chainDecision({
        kind: 'adjudicated',
        state: 'approved',
        lines: [],
        fraudFlags: 0,
        submitted: 10_000,
        benefit: 10_000,
        tables: [],
      }),
      chainDecision({
        kind: 'adjudicated',
        state: 'pended',
        lines: [],
        fraudFlags: FRAUD.noEvidenceOfService,
        submitted: 10_000,
        benefit: 0,
        tables: [],
      }),
      chainDecision({ kind: 'rejected', carc: '27', text: 'after coverage ended' }),
    ];
    const before = payerOutbox.recent(100).length;
    await Promise.all(
      leaves.map((l, i) =>
        recorder.record(
          batched[i]?.root as `0x${string}`,
          l,
          batched[i]?.proof ?? [],
          decisions[i] as (typeof decisions)[0],
        ),
      ),
    );
    assert.equal(
      payerOutbox.recent(100).length - before,
      2,
      'the rule set, then one transaction of decisions',
    );
    const view = chainClaims(t.conn, t.manifest);
    const read = await Promise.all(leaves.map((l) => view.claimOf(l.claimId)));
    assert.deepEqual(
      read.map((r) => [r?.state, r?.fraudFlags, r?.approved, r?.ruleSet]),
      [
        ['approved', 0, 10_000n, rules],
        ['pended', FRAUD.noEvidenceOfService, 0n, rules],
        ['denied', 0, 0n, rules],
      ],
    );
  } finally {
    payerDb.close();
  }
});

test('a provider’s first batch pins its line key through the outbox first; then once only, and a conflicting key is refused', async () => {
  const claims = t.manifest.contracts.Claims as Address;
  const otherDb = openDatabase(path.join(t.dir, 'other.db'), NODE_MIGRATIONS);
  try {
    const otherOutbox = new Outbox(otherDb, t.conn, other.wallet, { receiptTimeoutMs: 20_000 });
    const view = chainClaims(t.conn, t.manifest);
    const pinned = () => view.lineKeyOf(other.input.account);
    const hash = lineKeyHash(providerLineKey(other.key, t.conn.chain.id, claims));
    assert.equal(BigInt(await pinned()), 0n);
    const registrar = new LineKeyRegistrar(otherOutbox, claims, hash, pinned);
    const batcher = new ClaimBatcher(otherOutbox, claims, {
      windowMs: 0,
      beforeBatch: () => registrar.ensure(),
    });
    const l = { ...leaf(payer.input.account), provider: other.input.account };
    const got = await batcher.submit(l, [random32()]);
    assert.ok(verifyClaimProof(got.root, l, got.proof));
    assert.equal(otherOutbox.get(LINE_KEY_OUTBOX_KEY)?.status, 'confirmed');
    assert.equal(await pinned(), hash);
    // Another registrar (a restarted node) finds the hash pinned on chain and sends nothing.
    const before = otherOutbox.recent(100).length;
    await new LineKeyRegistrar(otherOutbox, claims, hash, pinned).ensure();
    assert.equal(otherOutbox.recent(100).length, before);
    // Another key for the same account: refused before anything is sent, and on chain.
    const conflicting = new LineKeyRegistrar(otherOutbox, claims, random32() as Hex, pinned);
    await assert.rejects(conflicting.ensure(), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'claims-line-key-conflict', e.message);
      return true;
    });
    await assert.rejects(
      writeAndWait(t.conn, other.wallet, {
        address: claims,
        abi: claimsAbi,
        functionName: 'registerLineKey',
        args: [random32()],
      }),
      /ClaimsLineKeyAlreadySet/,
    );
  } finally {
    otherDb.close();
  }
});
