/** Claim batches: every claim's proof verifies under the root; the corruption table must fail. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Hex } from 'viem';
import { loadEditTables } from '../claims/tableFiles.js';
import { buildClaimBatch, type ClaimLeaf, ruleSetId, verifyClaimProof } from './claimBatch.js';

const id = (i: number): Hex => `0x${i.toString(16).padStart(64, '0')}`;
const leaf = (i: number): ClaimLeaf => ({
  claimId: id(i + 1),
  provider: '0x2222222222222222222222222222222222222222',
  payer: '0x3333333333333333333333333333333333333333',
  patientCommitment: id(1000 + i),
  linesHash: id(2000 + i),
  billed: BigInt(10_000 + i),
});

describe('claim batches', () => {
  test('every proof verifies, for batches of 1 to 40 claims', () => {
    for (let n = 1; n <= 40; n++) {
      const leaves = Array.from({ length: n }, (_, i) => leaf(i));
      const b = buildClaimBatch(leaves);
      for (const l of leaves)
        assert.ok(verifyClaimProof(b.root, l, b.proofs.get(l.claimId) ?? []), `${n}/${l.claimId}`);
      assert.ok((b.proofs.get(leaves[0]?.claimId as Hex)?.length ?? 0) <= Math.ceil(Math.log2(n)));
    }
  });

  test('the root does not depend on the order of the claims', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.nat(), (n, seed) => {
        const leaves = Array.from({ length: n }, (_, i) => leaf(i));
        const rotated = [...leaves.slice(seed % n), ...leaves.slice(0, seed % n)];
        assert.equal(buildClaimBatch(rotated).root, buildClaimBatch(leaves).root);
      }),
    );
  });

  const leaves = Array.from({ length: 7 }, (_, i) => leaf(i));
  const b = buildClaimBatch(leaves);
  const l3 = leaves[3] as ClaimLeaf;
  const p3 = b.proofs.get(l3.claimId) as Hex[];
  const flip = (h: Hex): Hex => `${h.slice(0, -1)}${h.endsWith('0') ? '1' : '0'}` as Hex;
  const corrupt: [string, Hex, ClaimLeaf, Hex[]][] = [
    ['billed + 1', b.root, { ...l3, billed: l3.billed + 1n }, p3],
    ['another payer', b.root, { ...l3, payer: l3.provider }, p3],
    ['another patient commitment', b.root, { ...l3, patientCommitment: id(9) }, p3],
    ['another lines hash', b.root, { ...l3, linesHash: id(9) }, p3],
    ['a proof node flipped', b.root, l3, p3.map((p, i) => (i === 0 ? flip(p) : p))],
    ['a proof node dropped', b.root, l3, p3.slice(1)],
    ['a proof node added', b.root, l3, [...p3, p3[0] as Hex]],
    ['another claim’s proof', b.root, l3, b.proofs.get((leaves[4] as ClaimLeaf).claimId) as Hex[]],
    ['the root flipped', flip(b.root), l3, p3],
  ];
  for (const [name, root, l, proof] of corrupt) {
    test(`fails: ${name}`, () => assert.equal(verifyClaimProof(root, l, proof), false));
  }

  test('the rule set id changes with any table and with their order', () => {
    const t = loadEditTables();
    const id = ruleSetId([t.ptp, t.mue]);
    assert.match(id, /^0x[0-9a-f]{64}$/);
    assert.notEqual(ruleSetId([t.mue, t.ptp]), id);
    assert.notEqual(ruleSetId([{ ...t.ptp, sha256: '00'.repeat(32) }, t.mue]), id);
  });

  test('refuses an empty batch and repeated claim ids', () => {
    assert.throws(() => buildClaimBatch([]), /at least one/);
    assert.throws(() => buildClaimBatch([leaf(1), leaf(1)]), /unique/);
  });
});
