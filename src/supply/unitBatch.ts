/**
 * The Merkle tree of a commissioning run, as DrugLedger.sol checks it with OpenZeppelin's
 * MerkleProof: leaf = keccak256(keccak256(abi.encode(unit))) (StandardMerkleTree's double hash,
 * so a leaf is never an inner node), each pair hashed in sorted order. Built once per batch; a
 * proof is needed only the first time a unit leaves its batch's path on chain.
 */
import { concat, encodeAbiParameters, type Hex, keccak256 } from 'viem';
import { InvalidInputError } from '../errors.js';
import type { Commitment } from './unitCommitment.js';

/** The leaf of one unit commitment. */
export function unitLeaf(unit: Commitment): Hex {
  return keccak256(keccak256(encodeAbiParameters([{ type: 'bytes32' }], [unit])));
}

const hashPair = (a: Hex, b: Hex): Hex =>
  BigInt(a) < BigInt(b) ? keccak256(concat([a, b])) : keccak256(concat([b, a]));

/** A batch's tree: its root and the proof of each unit. */
export interface UnitBatchTree {
  root: Hex;
  count: number;
  proof(unit: Commitment): Hex[];
}

/** Build the tree of `units` (distinct commitments, at least one). */
export function buildUnitBatch(units: readonly Commitment[]): UnitBatchTree {
  if (units.length === 0) throw new InvalidInputError('a batch has at least one unit');
  const index = new Map<string, number>();
  units.forEach((u, i) => {
    if (index.has(u.toLowerCase())) throw new InvalidInputError(`unit ${u} is twice in the batch`);
    index.set(u.toLowerCase(), i);
  });
  const levels: Hex[][] = [units.map(unitLeaf)];
  for (let level = levels[0] as Hex[]; level.length > 1; ) {
    const next: Hex[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const a = level[i] as Hex;
      const b = level[i + 1];
      next.push(b === undefined ? a : hashPair(a, b)); // an odd node moves up unchanged
    }
    levels.push(next);
    level = next;
  }
  return {
    root: (levels.at(-1) as Hex[])[0] as Hex,
    count: units.length,
    proof(unit) {
      let i = index.get(unit.toLowerCase());
      if (i === undefined) throw new InvalidInputError(`unit ${unit} is not in this batch`);
      const path: Hex[] = [];
      for (const level of levels.slice(0, -1)) {
        const sibling = level[i ^ 1];
        if (sibling !== undefined) path.push(sibling);
        i >>= 1;
      }
      return path;
    },
  };
}

/** Check a proof off chain exactly as MerkleProof.verify does on chain. */
export function verifyUnitProof(root: Hex, unit: Commitment, proof: readonly Hex[]): boolean {
  return proof.reduce<Hex>((h, p) => hashPair(h, p), unitLeaf(unit)) === root;
}
