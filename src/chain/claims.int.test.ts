/**
 * contracts/Claims.sol on the embedded chain: batched submission with per-claim proofs, the state
 * machine (and its custom error on an illegal move), the patient's signed dispute, duplicate
 * detection across payers, and gas per claim at batch sizes 1, 10 and 100 (printed).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Address, Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { startTestChain, type TestChain, type TestMember } from '../../test/support/testChain.js';
import { lineCommitment } from '../claims/lineCommitment.js';
import { lineKeyHash, providerLineKey } from '../claims/lineKey.js';
import { loadEditTables } from '../claims/tableFiles.js';
import type { ChainError } from './chainError.js';
import {
  buildClaimBatch,
  type ClaimBatch,
  type ClaimLeaf,
  linesHash,
  patientCommitment,
  random32,
  ruleSetId,
  signDispute,
} from './claimBatch.js';
import { deployClaimsContract } from './deploy.js';
import { claimsAbi } from './generated/index.js';
import { writeAndWait } from './transact.js';

const HOSPITAL = 1;
const CLINIC = 2;
const INSURER = 8;
/** Claims.State in declaration order. */
const S = { Submitted: 0, Pended: 1, Approved: 2, Denied: 3, Disputed: 4, Paid: 5, Appealed: 6 } as const;

let t: TestChain;
let claims: Address;
let provider: TestMember;
let otherProvider: TestMember;
let payer: TestMember;
let otherPayer: TestMember;
/** The shipped edit tables' rule set, as a payer anchors it. */
const RULES = ruleSetId([loadEditTables().ptp, loadEditTables().mue]);
/** Every provider here commits under one test key (the contract sees commitments, never keys). */
const key = new Uint8Array(32).fill(5);

before(async () => {
  t = await startTestChain({ memberCount: 4, memberRoles: [HOSPITAL, CLINIC, INSURER, INSURER] });
  [provider, otherProvider, payer, otherPayer] = t.members as [
    TestMember,
    TestMember,
    TestMember,
    TestMember,
  ];
  claims = (await deployClaimsContract(t.conn, provider.wallet, t.manifest)).contracts.Claims as Address;
  for (const p of [payer, otherPayer]) await send(p, 'anchorRuleSet', [RULES]);
  // Each provider pins its line key before its first batch (the contract refuses batches otherwise).
  for (const p of [provider, otherProvider]) await send(p, 'registerLineKey', [lineKeyHash(keyOf(p))]);
});
after(() => t.close());

// biome-ignore lint/suspicious/noExplicitAny: one helper for every Claims function
function send(by: TestMember, functionName: any, args: readonly unknown[]) {
  return writeAndWait(t.conn, by.wallet, { address: claims, abi: claimsAbi, functionName, args } as never);
}
/** A provider's line key as its node derives it (the key of its line commitments is `key` here). */
const keyOf = (m: TestMember) => providerLineKey(m.key, t.conn.chain.id, claims);
const read = <T>(functionName: string, args: readonly unknown[]) =>
  t.conn.publicClient.readContract({
    address: claims,
    abi: claimsAbi,
    functionName,
    args,
  } as never) as Promise<T>;

async function rejects(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (e: ChainError) => {
    assert.equal(e.code, code, e.message);
    return true;
  });
}

interface Billed {
  leaf: ClaimLeaf;
  lines: Hex[];
  patient: ReturnType<typeof privateKeyToAccount>;
  salt: Hex;
}

/** A claim of `lineCount` lines for a fresh patient, `day` making its lines distinct. */
function bill(
  from: TestMember,
  to: TestMember,
  lineCount: number,
  day = 1,
  patientKey = generatePrivateKey(),
): Billed {
  const patient = privateKeyToAccount(patientKey);
  const salt = random32();
  const lines = Array.from({ length: lineCount }, (_, i) =>
    lineCommitment(key, {
      patient: patient.address,
      provider: from.input.account,
      servicedDate: `2026-03-${String(day).padStart(2, '0')}`,
      code: `Z10${String(10 + i).padStart(2, '0')}`,
      modifiers: [],
    }),
  );
  return {
    patient,
    salt,
    lines,
    leaf: {
      claimId: random32(),
      provider: from.input.account,
      payer: to.input.account,
      patientCommitment: patientCommitment(patient.address, salt),
      linesHash: linesHash(lines),
      billed: 10_000n * BigInt(lineCount),
    },
  };
}

async function submit(from: TestMember, to: TestMember, billed: readonly Billed[]) {
  const batch = buildClaimBatch(billed.map((b) => b.leaf));
  const sent = await send(from, 'submitBatch', [
    to.input.account,
    batch.root,
    billed.length,
    billed.flatMap((b) => b.lines),
  ]);
  return { batch, sent };
}

const first = (by: TestMember, batch: ClaimBatch, leaf: ClaimLeaf, to: number, flags = 0, approved = 0n) =>
  send(by, 'decideFirst', [batch.root, leaf, batch.proofs.get(leaf.claimId), to, flags, approved, RULES]);
const stateOf = async (claimId: Hex) => (await read<{ state: number }>('claimOf', [claimId])).state;

describe('Claims', () => {
  test('a batch anchors many claims; each is decided with its own proof', async () => {
    const billed = [bill(provider, payer, 2), bill(provider, payer, 1), bill(provider, payer, 3)];
    const { batch, sent } = await submit(provider, payer, billed);
    assert.equal(sent.result, true);
    const stored = await read<{ provider: Address; claimCount: number }>('batchOf', [batch.root]);
    assert.equal(stored.provider, provider.input.account);
    assert.equal(stored.claimCount, 3);
    assert.equal((await submit(provider, payer, billed)).sent.result, false, 'a resubmission is a no-op');
    const [a, b, c] = billed as [Billed, Billed, Billed];
    await first(payer, batch, a.leaf, S.Approved, 0, 20_000n);
    await first(payer, batch, b.leaf, S.Denied, 1);
    await first(payer, batch, c.leaf, S.Pended, 16);
    assert.deepEqual(await Promise.all(billed.map((x) => stateOf(x.leaf.claimId))), [
      S.Approved,
      S.Denied,
      S.Pended,
    ]);
    const rec = await read<{ approved: bigint; fraudFlags: number; ruleSet: Hex }>('claimOf', [
      a.leaf.claimId,
    ]);
    assert.equal(rec.approved, 20_000n);
    assert.equal(rec.ruleSet, RULES);
    await rejects(first(payer, batch, a.leaf, S.Approved), 'ClaimsAlreadyRecorded');
  });

  test('a leaf not in the batch, another payer, a foreign proof or an unanchored rule set are refused', async () => {
    const billed = [bill(provider, payer, 1), bill(provider, payer, 1)];
    const { batch } = await submit(provider, payer, billed);
    const [a, b] = billed as [Billed, Billed];
    await rejects(
      first(payer, batch, { ...a.leaf, billed: a.leaf.billed + 1n }, S.Approved),
      'ClaimsNotInBatch',
    );
    await rejects(first(otherPayer, batch, a.leaf, S.Approved), 'ClaimsNotPayer');
    await rejects(
      send(payer, 'decideFirst', [
        batch.root,
        a.leaf,
        batch.proofs.get(b.leaf.claimId),
        S.Approved,
        0,
        0n,
        RULES,
      ]),
      'ClaimsNotInBatch',
    );
    await rejects(
      send(payer, 'decideFirst', [
        batch.root,
        a.leaf,
        batch.proofs.get(a.leaf.claimId),
        S.Approved,
        0,
        0n,
        random32(),
      ]),
      'ClaimsRuleSetNotAnchored',
    );
    await rejects(first(payer, batch, a.leaf, S.Approved, 0, a.leaf.billed + 1n), 'ClaimsAmountTooHigh');
    await rejects(first(payer, batch, a.leaf, S.Denied, 1 << 7), 'ClaimsUnknownFlags');
    await send(payer, 'registerLineKey', [lineKeyHash(keyOf(payer))]); // so that the payer check is reached
    await rejects(
      send(payer, 'submitBatch', [payer.input.account, random32(), 1, []]),
      'ClaimsPayerIsProvider',
    );
    await rejects(
      send(provider, 'submitBatch', [payer.input.account, `0x${'00'.repeat(32)}`, 1, []]),
      'ClaimsEmptyBatch',
    );
    await rejects(
      send(provider, 'submitBatch', [payer.input.account, random32(), 0, []]),
      'ClaimsEmptyBatch',
    );
    const taken = await submit(otherProvider, payer, [bill(otherProvider, payer, 1)]);
    await rejects(
      send(provider, 'submitBatch', [payer.input.account, taken.batch.root, 1, []]),
      'ClaimsBatchExists',
    );
    await rejects(
      send(provider, 'submitBatch', [provider.input.account, random32(), 1, []]),
      'ClaimsNotInsurer',
    );
    await rejects(
      send(t.outsider(), 'submitBatch', [payer.input.account, random32(), 1, []]),
      'ClaimsNotMember',
    );
  });

  test('a provider pins its line key once; a batch from a member with no key reverts', async () => {
    const newcomer = otherPayer; // an active member that never registered a key
    assert.equal(BigInt(await read<Hex>('lineKeyOf', [newcomer.input.account])), 0n);
    await rejects(
      send(newcomer, 'submitBatch', [payer.input.account, random32(), 1, [random32()]]),
      'ClaimsNoLineKey',
    );
    await rejects(send(newcomer, 'registerLineKey', [`0x${'00'.repeat(32)}`]), 'ClaimsEmptyLineKey');
    await rejects(send(t.outsider(), 'registerLineKey', [random32()]), 'ClaimsNotMember');
    const h = lineKeyHash(keyOf(newcomer));
    const set = await send(newcomer, 'registerLineKey', [h]);
    assert.equal(set.result, true);
    const events = await t.conn.publicClient.getContractEvents({
      address: claims,
      abi: claimsAbi,
      eventName: 'LineKeyRegistered',
      blockHash: set.receipt.blockHash,
    });
    assert.deepEqual(
      events.map((e) => [e.args.provider, e.args.keyHash]),
      [[newcomer.input.account, h]],
    );
    process.stdout.write(`\n# Claims gas: registerLineKey ${set.receipt.gasUsed}\n`);
    assert.equal(await read<Hex>('lineKeyOf', [newcomer.input.account]), h);
    // The same hash again is a no-op (an outbox retry); another hash is refused: the key is final.
    const again = await send(newcomer, 'registerLineKey', [h]);
    assert.equal(again.result, false);
    assert.equal(
      (
        await t.conn.publicClient.getContractEvents({
          address: claims,
          abi: claimsAbi,
          eventName: 'LineKeyRegistered',
          blockHash: again.receipt.blockHash,
        })
      ).length,
      0,
      'no event for a no-op',
    );
    await rejects(send(newcomer, 'registerLineKey', [random32()]), 'ClaimsLineKeyAlreadySet');
    assert.equal(await read<Hex>('lineKeyOf', [newcomer.input.account]), h);
    // Once pinned, its batches are taken (to another insurer).
    const { sent } = await submit(newcomer, payer, [bill(newcomer, payer, 1)]);
    assert.equal(sent.result, true);
  });

  test('legal transitions: approve, pay; deny, appeal, approve; pend, deny', async () => {
    const billed = [bill(provider, payer, 1), bill(provider, payer, 1), bill(provider, payer, 1)];
    const { batch } = await submit(provider, payer, billed);
    const [a, b, c] = billed as [Billed, Billed, Billed];
    await first(payer, batch, a.leaf, S.Approved, 0, 10_000n);
    await send(payer, 'markPaid', [a.leaf.claimId]);
    assert.equal(await stateOf(a.leaf.claimId), S.Paid);
    await first(payer, batch, b.leaf, S.Denied, 8);
    await send(provider, 'appeal', [b.leaf.claimId]);
    assert.equal(await stateOf(b.leaf.claimId), S.Appealed);
    await send(payer, 'decide', [b.leaf.claimId, S.Approved, 0, 10_000n, RULES]);
    assert.equal(await stateOf(b.leaf.claimId), S.Approved);
    await first(payer, batch, c.leaf, S.Pended, 16);
    await send(payer, 'decide', [c.leaf.claimId, S.Denied, 0, 0n, RULES]);
    const rec = await read<{ state: number; fraudFlags: number }>('claimOf', [c.leaf.claimId]);
    assert.equal(rec.state, S.Denied);
    assert.equal(rec.fraudFlags, 16, 'flags are kept across decisions');
  });

  test('illegal transitions revert with ClaimsIllegalTransition', async () => {
    const billed = [bill(provider, payer, 1), bill(provider, payer, 1)];
    const { batch } = await submit(provider, payer, billed);
    const [denied, approved] = billed as [Billed, Billed];
    await first(payer, batch, denied.leaf, S.Denied);
    await first(payer, batch, approved.leaf, S.Approved, 0, 1n);
    await rejects(send(payer, 'markPaid', [denied.leaf.claimId]), 'ClaimsIllegalTransition');
    await rejects(send(provider, 'appeal', [approved.leaf.claimId]), 'ClaimsIllegalTransition');
    await rejects(
      send(payer, 'decide', [approved.leaf.claimId, S.Denied, 0, 0n, RULES]),
      'ClaimsIllegalTransition',
    );
    await rejects(
      send(payer, 'decide', [approved.leaf.claimId, S.Paid, 0, 0n, RULES]),
      'ClaimsIllegalTransition',
    );
    await rejects(
      send(payer, 'decide', [denied.leaf.claimId, S.Pended, 0, 0n, RULES]),
      'ClaimsIllegalTransition',
    );
    await send(payer, 'markPaid', [approved.leaf.claimId]);
    await rejects(send(payer, 'markPaid', [approved.leaf.claimId]), 'ClaimsIllegalTransition');
    // who may move it: only the payer decides and pays, only the provider appeals
    await rejects(
      send(provider, 'decide', [denied.leaf.claimId, S.Approved, 0, 0n, RULES]),
      'ClaimsNotPayer',
    );
    await rejects(send(payer, 'appeal', [denied.leaf.claimId]), 'ClaimsNotProvider');
    await rejects(send(payer, 'markPaid', [random32()]), 'ClaimsUnknownClaim');
  });

  test('the patient disputes with a signature; a replay, another signer or a wrong salt is refused', async () => {
    const claim = bill(provider, payer, 1);
    const { batch } = await submit(provider, payer, [claim]);
    await first(payer, batch, claim.leaf, S.Approved, 0, 10_000n);
    const domain = { chainId: t.conn.chain.id, verifyingContract: claims };
    const deadline = BigInt(Math.floor(Date.now() / 1000) + 3600);
    const sig = await signDispute(claim.patient, domain, { claimId: claim.leaf.claimId, round: 0, deadline });
    const stranger = privateKeyToAccount(generatePrivateKey());
    const strangerSig = await signDispute(stranger, domain, {
      claimId: claim.leaf.claimId,
      round: 0,
      deadline,
    });
    const dispute = (s: Hex, salt = claim.salt, round = 0, dl = deadline) =>
      send(t.outsider(), 'dispute', [claim.leaf.claimId, round, dl, salt, s]);
    await rejects(dispute(strangerSig), 'ClaimsNotPatient');
    await rejects(dispute(sig, random32()), 'ClaimsNotPatient');
    await rejects(dispute(sig, claim.salt, 0, 1n), 'ClaimsSignatureExpired');
    await dispute(sig);
    assert.equal(await stateOf(claim.leaf.claimId), S.Disputed);
    await rejects(send(payer, 'markPaid', [claim.leaf.claimId]), 'ClaimsIllegalTransition');
    const decided = await send(payer, 'decide', [claim.leaf.claimId, S.Denied, 16, 0n, RULES]);
    // Sent with a fifth over its estimate: with the bare estimate it once reverted when mined on a loaded CI.
    const tx = await t.conn.publicClient.getTransaction({ hash: decided.hash });
    assert.ok(
      tx.gas >= (decided.receipt.gasUsed * 12n) / 10n,
      `gas ${tx.gas} for ${decided.receipt.gasUsed} used`,
    );
    await rejects(dispute(sig), 'ClaimsNotPatient');
    await rejects(dispute(sig, claim.salt, 1), 'ClaimsNotPatient');
  });

  test('the same line billed to two payers is detected, neither payer reading the other’s claim', async () => {
    const patientKey = generatePrivateKey();
    const toPayer = bill(provider, payer, 2, 20, patientKey);
    const toOther = bill(provider, otherPayer, 1, 20, patientKey); // its one line is toPayer's first
    const unrelated = bill(provider, payer, 1, 21);
    assert.equal(toOther.lines[0], toPayer.lines[0]);
    // Another member planting the provider's line with another payer first marks nothing of the provider's.
    const planted = bill(otherProvider, otherPayer, 1, 22);
    await submit(otherProvider, otherPayer, [{ ...planted, lines: [toPayer.lines[0] as Hex] }]);
    assert.equal(
      await read('heldByOtherPayer', [provider.input.account, toPayer.lines[0], payer.input.account]),
      false,
    );
    assert.equal(await read('isCommitted', [provider.input.account, toPayer.lines[0]]), false);
    await submit(provider, payer, [toPayer, unrelated]);
    for (const c of [...toPayer.lines, ...unrelated.lines]) {
      assert.equal(await read('heldByOtherPayer', [provider.input.account, c, payer.input.account]), false);
      assert.equal(
        await read('heldByOtherPayer', [provider.input.account, c, otherPayer.input.account]),
        true,
      );
    }
    const { batch, sent } = await submit(provider, otherPayer, [toOther]);
    const hits = await t.conn.publicClient.getContractEvents({
      address: claims,
      abi: claimsAbi,
      eventName: 'LineHeldByOtherPayer',
      args: { root: batch.root },
      blockHash: sent.receipt.blockHash,
    });
    assert.deepEqual(
      hits.map((h) => h.args.commitment),
      [toPayer.lines[0]],
    );
    assert.equal(
      await read('heldByOtherPayer', [provider.input.account, toPayer.lines[0], payer.input.account]),
      true,
    );
    assert.equal(
      await read('heldByOtherPayer', [provider.input.account, toPayer.lines[0], otherPayer.input.account]),
      true,
    );
    assert.equal(
      await read('heldByOtherPayer', [provider.input.account, toPayer.lines[1], payer.input.account]),
      false,
    );
    // a repeat at the same payer is not "another payer" (that is the CARC 18 rule's job)
    const again = bill(provider, payer, 1, 21);
    await submit(provider, payer, [{ ...again, lines: unrelated.lines }]);
    assert.equal(
      await read('heldByOtherPayer', [provider.input.account, unrelated.lines[0], payer.input.account]),
      false,
    );
    // another provider's claim to the other payer for a different service does not collide
    const elsewhere = bill(otherProvider, otherPayer, 1, 20, patientKey);
    assert.notEqual(elsewhere.lines[0], toPayer.lines[0]);
  });

  test('first decisions in one transaction: all recorded, or none when one is bad', async () => {
    const billed = [bill(provider, payer, 1), bill(provider, payer, 1), bill(provider, payer, 1)];
    const { batch } = await submit(provider, payer, billed);
    const decisions = (to: number) =>
      billed.map((b) => ({
        leaf: b.leaf,
        proof: batch.proofs.get(b.leaf.claimId),
        to,
        fraudFlags: 0,
        approved: to === S.Approved ? b.leaf.billed : 0n,
      }));
    const bad = decisions(S.Approved);
    bad[2] = { ...(bad[2] as (typeof bad)[number]), approved: (billed[2] as Billed).leaf.billed + 1n };
    await rejects(send(payer, 'decideFirstBatch', [batch.root, bad, RULES]), 'ClaimsAmountTooHigh');
    assert.deepEqual(await Promise.all(billed.map((b) => stateOf(b.leaf.claimId))), [0, 0, 0]);
    await rejects(
      send(otherPayer, 'decideFirstBatch', [batch.root, decisions(S.Denied), RULES]),
      'ClaimsNotPayer',
    );
    await send(payer, 'decideFirstBatch', [batch.root, decisions(S.Approved), RULES]);
    assert.deepEqual(await Promise.all(billed.map((b) => stateOf(b.leaf.claimId))), [
      S.Approved,
      S.Approved,
      S.Approved,
    ]);
  });

  test('gas per claim falls with the batch size (printed)', async () => {
    const rows: string[] = [];
    const perClaim: Record<string, number> = {};
    for (const linesPerClaim of [1, 3]) {
      for (const n of [1, 10, 100]) {
        const billed = Array.from({ length: n }, () => bill(provider, payer, linesPerClaim));
        const { batch, sent } = await submit(provider, payer, billed);
        const gas = Number(sent.receipt.gasUsed);
        perClaim[`${linesPerClaim}/${n}`] = gas / n;
        const decided = await send(payer, 'decideFirstBatch', [
          batch.root,
          billed.map((b) => ({
            leaf: b.leaf,
            proof: batch.proofs.get(b.leaf.claimId),
            to: S.Approved,
            fraudFlags: 0,
            approved: b.leaf.billed,
          })),
          RULES,
        ]);
        const decidedGas = Number(decided.receipt.gasUsed);
        perClaim[`decide/${n}`] = decidedGas / n;
        rows.push(
          `batch ${String(n).padStart(3)} x ${linesPerClaim} line(s): submit ${gas} gas = ${Math.round(gas / n)}/claim; first decisions ${decidedGas} gas = ${Math.round(decidedGas / n)}/claim`,
        );
      }
    }
    const single = bill(provider, payer, 1);
    const one = await submit(provider, payer, [single, bill(provider, payer, 1)]);
    const alone = await first(payer, one.batch, single.leaf, S.Approved, 0, single.leaf.billed);
    rows.push(`one first decision alone (decideFirst): ${alone.receipt.gasUsed} gas`);
    process.stdout.write(`\n# Claims gas\n${rows.map((r) => `#   ${r}`).join('\n')}\n`);
    for (const k of ['1', '3', 'decide']) {
      assert.ok((perClaim[`${k}/10`] as number) < (perClaim[`${k}/1`] as number), k);
      assert.ok((perClaim[`${k}/100`] as number) < (perClaim[`${k}/10`] as number), k);
    }
  });
});
