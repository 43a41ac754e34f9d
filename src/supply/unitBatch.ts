/**
 * The Merkle tree of a commissioning run, as DrugLedger.sol checks it with OpenZeppelin's
 * MerkleProof: leaf = keccak256(keccak256(abi.encode(unit))) (StandardMerkleTree's double hash,
 * so a leaf is never an inner node; abi.encode of one bytes32 is its 32 bytes), each pair hashed
 * in sorted order (src/crypto/sortedPairTree.ts). Leaves stay in the order given. Built once per
 * batch; the manufacturer keeps the tree's levels once per batch and reads a unit's proof off
 * them (`proofAt`) when the unit first leaves its batch's path on chain.
 */
import type { Hex } from 'viem';
import { keccak256Into } from '../crypto/keccak256.js';
import {
  buildLevels,
  levelsBytes,
  NODE_BYTES,
  nodeHex,
  processProof,
  proofFromLevels,
  rootOf,
} from '../crypto/sortedPairTree.js';
import { InvalidInputError } from '../errors.js';
import type { Commitment } from './unitCommitment.js';

/** A batch's tree: its root, every level and the proof of each unit. */
export interface UnitBatchTree {
  root: Hex;
  count: number;
  /** Every level, leaves first, root last (32 bytes a node): what `treeFromLevels` reads back. */
  levels: Uint8Array;
  /** The proof of the unit at position `index` (in the order the batch was built). */
  proofAt(index: number): Hex[];
  proof(unit: Commitment): Hex[];
}

const HEX32 = /^0x[0-9a-fA-F]{64}$/;

/** Bytes of a 32-byte commitment (`0x` + 64 hex digits). */
function commitmentBytes(unit: Commitment): Uint8Array {
  if (typeof unit !== 'string' || !HEX32.test(unit))
    throw new InvalidInputError(`a unit commitment is 32 bytes in hex, not ${JSON.stringify(unit)}`);
  return Buffer.from(unit.slice(2), 'hex');
}

/** Write the leaf of `unit` (its commitment's bytes hashed twice) at byte `at` of `buf`. */
function writeLeaf(unit: Commitment, buf: Uint8Array, at: number): void {
  buf.set(commitmentBytes(unit), at);
  keccak256Into(buf, at, NODE_BYTES, buf, at);
  keccak256Into(buf, at, NODE_BYTES, buf, at);
}

function leafBytes(unit: Commitment): Uint8Array {
  const leaf = new Uint8Array(NODE_BYTES);
  writeLeaf(unit, leaf, 0);
  return leaf;
}

/** The leaf of one unit commitment. */
export function unitLeaf(unit: Commitment): Hex {
  return `0x${Buffer.from(leafBytes(unit)).toString('hex')}`;
}

/** A tree over `levels`; `indexOf` gives a unit's position from its commitment (lowercase). */
function treeOver(
  count: number,
  levels: Uint8Array,
  indexOf: (unit: string) => number | undefined,
): UnitBatchTree {
  const proofAt = (index: number): Hex[] => {
    if (!Number.isSafeInteger(index) || index < 0 || index >= count)
      throw new InvalidInputError(`position ${index} is not in a batch of ${count} units`);
    return proofFromLevels(levels, count, index);
  };
  return {
    root: rootOf(levels),
    count,
    levels,
    proofAt,
    proof(unit) {
      const at = typeof unit === 'string' ? indexOf(unit.toLowerCase()) : undefined;
      if (at === undefined) throw new InvalidInputError(`unit ${unit} is not in this batch`);
      return proofAt(at);
    },
  };
}

/** Build the tree of `units` (distinct commitments, at least one). */
export function buildUnitBatch(units: readonly Commitment[]): UnitBatchTree {
  if (units.length === 0) throw new InvalidInputError('a batch has at least one unit');
  const index = new Map<string, number>();
  units.forEach((u, i) => {
    const k = typeof u === 'string' ? u.toLowerCase() : u;
    if (index.has(k)) throw new InvalidInputError(`unit ${u} is twice in the batch`);
    index.set(k, i);
  });
  const levels = buildLevels(units.length, (buf) => {
    units.forEach((u, i) => {
      writeLeaf(u, buf, i * NODE_BYTES);
    });
  });
  return treeOver(units.length, levels, (u) => index.get(u));
}

/** The tree of a batch of `count` units from its stored `levels` (UnitBatchTree.levels). */
export function treeFromLevels(count: number, levels: Uint8Array): UnitBatchTree {
  if (!Number.isSafeInteger(count) || count < 1 || levels.length !== levelsBytes(count))
    throw new InvalidInputError(`${levels.length} bytes are not the levels of a tree of ${count} units`);
  // A stored tree knows its leaves, not the commitments: a unit is looked up by its leaf.
  let byLeaf: Map<string, number> | undefined;
  return treeOver(count, levels, (unit) => {
    if (!HEX32.test(unit)) return undefined;
    if (!byLeaf) {
      byLeaf = new Map();
      for (let i = 0; i < count; i++) byLeaf.set(nodeHex(levels, i * NODE_BYTES), i);
    }
    return byLeaf.get(unitLeaf(unit as Commitment));
  });
}

/** Check a proof off chain exactly as MerkleProof.verify does on chain. */
export function verifyUnitProof(root: Hex, unit: Commitment, proof: readonly Hex[]): boolean {
  if (
    typeof unit !== 'string' ||
    !HEX32.test(unit) ||
    !proof.every((p) => typeof p === 'string' && HEX32.test(p))
  )
    return false;
  const end = processProof(
    leafBytes(unit),
    proof.map((p) => Buffer.from(p.slice(2), 'hex')),
  );
  return `0x${Buffer.from(end).toString('hex')}` === root.toLowerCase();
}
