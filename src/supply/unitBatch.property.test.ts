/**
 * The flat-buffer unit tree against an independent model of what DrugLedger checks: leaves
 * keccak256(keccak256(abi.encode(bytes32))) and OpenZeppelin's sorted-pair hash, written with
 * viem's encoders and one array of hex strings per level (the tree as it was built before the
 * flat one). Same root and the same proof for every unit, on random batches of 1 to 300 units;
 * the levels read back from storage give the same proofs. (The chain's own acceptance of such
 * proofs: src/chain/drugLedger.int.test.ts, "trees of many sizes".)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { concat, encodeAbiParameters, type Hex, keccak256 } from 'viem';
import { buildUnitBatch, treeFromLevels, unitLeaf, verifyUnitProof } from './unitBatch.js';
import type { Commitment } from './unitCommitment.js';

const modelLeaf = (u: Hex): Hex => keccak256(keccak256(encodeAbiParameters([{ type: 'bytes32' }], [u])));
const modelPair = (a: Hex, b: Hex): Hex =>
  BigInt(a) < BigInt(b) ? keccak256(concat([a, b])) : keccak256(concat([b, a]));

/** The model tree: its root and each unit's proof, level by level in hex. */
function model(units: readonly Hex[]): { root: Hex; proofs: Hex[][] } {
  const levels: Hex[][] = [units.map(modelLeaf)];
  while ((levels.at(-1) as Hex[]).length > 1) {
    const level = levels.at(-1) as Hex[];
    const next: Hex[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const b = level[i + 1];
      next.push(b === undefined ? (level[i] as Hex) : modelPair(level[i] as Hex, b));
    }
    levels.push(next);
  }
  const proofs = units.map((_, at) => {
    const path: Hex[] = [];
    let i = at;
    for (const level of levels.slice(0, -1)) {
      const sibling = level[i ^ 1];
      if (sibling !== undefined) path.push(sibling);
      i >>= 1;
    }
    return path;
  });
  return { root: (levels.at(-1) as Hex[])[0] as Hex, proofs };
}

const commitment = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((b) => `0x${Buffer.from(b).toString('hex')}` as Commitment);
const batch = fc.uniqueArray(commitment, { minLength: 1, maxLength: 300 });

test('the flat tree has the model root and every unit the model proof', () => {
  fc.assert(
    fc.property(batch, (units) => {
      const tree = buildUnitBatch(units);
      const m = model(units);
      assert.equal(tree.root, m.root);
      assert.equal(tree.count, units.length);
      const stored = treeFromLevels(units.length, new Uint8Array(tree.levels));
      assert.equal(stored.root, m.root);
      units.forEach((u, i) => {
        assert.deepEqual(tree.proof(u), m.proofs[i]);
        assert.deepEqual(tree.proofAt(i), m.proofs[i]);
        assert.deepEqual(stored.proofAt(i), m.proofs[i]);
        assert.ok(verifyUnitProof(m.root, u, m.proofs[i] as Hex[]));
      });
      assert.deepEqual(stored.proof(units[0] as Commitment), m.proofs[0], 'found by its leaf when read back');
    }),
    { numRuns: 150 },
  );
});

test('a leaf is the double hash of the abi-encoded commitment; case does not matter', () => {
  fc.assert(
    fc.property(commitment, (u) => {
      assert.equal(unitLeaf(u), modelLeaf(u));
      assert.equal(unitLeaf(u.toUpperCase().replace('0X', '0x') as Commitment), modelLeaf(u));
    }),
  );
});

test('a proof of one unit proves no other unit, in no other batch', () => {
  fc.assert(
    fc.property(batch, fc.nat(), commitment, (units, pick, stray) => {
      fc.pre(units.length > 1 && !units.includes(stray));
      const tree = buildUnitBatch(units);
      const i = pick % units.length;
      const proof = tree.proofAt(i);
      assert.ok(verifyUnitProof(tree.root, units[i] as Commitment, proof));
      assert.equal(verifyUnitProof(tree.root, units[(i + 1) % units.length] as Commitment, proof), false);
      assert.equal(verifyUnitProof(tree.root, stray, proof), false);
      assert.equal(
        verifyUnitProof(buildUnitBatch([...units, stray]).root, units[i] as Commitment, proof),
        false,
      );
    }),
    { numRuns: 100 },
  );
});
