/**
 * A binary Merkle tree with OpenZeppelin's commutative pair hash (MerkleProof.sol
 * `_hashPair`: keccak256 of the two 32-byte nodes, smaller first), over leaves given in order;
 * an odd node at the end of a level moves up unchanged. The whole tree is one flat buffer of
 * 32-byte nodes, level after level (leaves first, root last), so it is built without a string or
 * an allocation per node and kept (or stored) as one blob from which any proof is read off.
 */
import type { Hex } from 'viem';
import { CryptoError } from './cryptoError.js';
import { keccak256Into } from './keccak256.js';

/** Bytes of a node. */
export const NODE_BYTES = 32;

/** The number of nodes in each level of a tree of `count` leaves, leaves first. */
export function levelSizes(count: number): number[] {
  const sizes = [count];
  while ((sizes.at(-1) as number) > 1) sizes.push(Math.ceil((sizes.at(-1) as number) / 2));
  return sizes;
}

/** The byte length of the levels of a tree of `count` leaves. */
export const levelsBytes = (count: number): number =>
  levelSizes(count).reduce((a, s) => a + s, 0) * NODE_BYTES;

/** Whether the node at `ai` in `a` is below the one at `bi` in `b`, as 256-bit big-endian numbers. */
function less(a: Uint8Array, ai: number, b: Uint8Array, bi: number): boolean {
  for (let k = 0; k < NODE_BYTES; k++) {
    const x = a[ai + k] as number;
    const y = b[bi + k] as number;
    if (x !== y) return x < y;
  }
  return false;
}

/** Hash the level of `size` nodes at byte `from` of `buf` into the next level at byte `to`. */
function hashLevel(buf: Uint8Array, from: number, size: number, to: number, pair: Uint8Array): void {
  for (let i = 0; i + 1 < size; i += 2) {
    const a = from + i * NODE_BYTES;
    const b = a + NODE_BYTES;
    const into = to + (i >> 1) * NODE_BYTES;
    // In order already: the two nodes are side by side in the level, hashed where they lie.
    if (!less(buf, b, buf, a)) keccak256Into(buf, a, 2 * NODE_BYTES, buf, into);
    else {
      pair.set(buf.subarray(b, b + NODE_BYTES), 0);
      pair.set(buf.subarray(a, a + NODE_BYTES), NODE_BYTES);
      keccak256Into(pair, 0, 2 * NODE_BYTES, buf, into);
    }
  }
  if (size % 2 === 1) {
    const last = from + (size - 1) * NODE_BYTES;
    buf.copyWithin(to + (size >> 1) * NODE_BYTES, last, last + NODE_BYTES);
  }
}

/**
 * The levels of the tree over `count` leaves, `fill(levels)` having written the leaves into its
 * first `count` nodes.
 */
export function buildLevels(count: number, fill: (levels: Uint8Array) => void): Uint8Array {
  if (!Number.isSafeInteger(count) || count < 1)
    throw new CryptoError('bad-argument', 'a Merkle tree has at least one leaf');
  const sizes = levelSizes(count);
  const levels = new Uint8Array(levelsBytes(count));
  fill(levels);
  const pair = new Uint8Array(2 * NODE_BYTES);
  let offset = 0;
  for (const size of sizes.slice(0, -1)) {
    hashLevel(levels, offset, size, offset + size * NODE_BYTES, pair);
    offset += size * NODE_BYTES;
  }
  return levels;
}

/** The node at byte `at` of `levels`, in hex. */
export const nodeHex = (levels: Uint8Array, at: number): Hex =>
  `0x${Buffer.from(levels.buffer, levels.byteOffset + at, NODE_BYTES).toString('hex')}`;

/** The root of a tree's levels. */
export const rootOf = (levels: Uint8Array): Hex => nodeHex(levels, levels.length - NODE_BYTES);

/** The proof (siblings from the leaf up) of leaf `index` of a tree of `count` leaves. */
export function proofFromLevels(levels: Uint8Array, count: number, index: number): Hex[] {
  if (!Number.isSafeInteger(index) || index < 0 || index >= count)
    throw new CryptoError('bad-argument', `leaf ${index} is not in a tree of ${count}`);
  if (levels.length !== levelsBytes(count))
    throw new CryptoError(
      'bad-argument',
      `a tree of ${count} leaves has ${levelsBytes(count)} bytes, not ${levels.length}`,
    );
  const path: Hex[] = [];
  let offset = 0;
  let i = index;
  for (const size of levelSizes(count).slice(0, -1)) {
    const sibling = i ^ 1;
    if (sibling < size) path.push(nodeHex(levels, offset + sibling * NODE_BYTES));
    offset += size * NODE_BYTES;
    i >>= 1;
  }
  return path;
}

/** The root a proof leads to from `leaf` (32 bytes), as MerkleProof.processProof computes it. */
export function processProof(leaf: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  const pair = new Uint8Array(2 * NODE_BYTES);
  const h = Uint8Array.from(leaf);
  for (const p of proof) {
    const [lo, hi] = less(p, 0, h, 0) ? [p, h] : [h, p];
    pair.set(lo, 0);
    pair.set(hi, NODE_BYTES);
    keccak256Into(pair, 0, 2 * NODE_BYTES, h, 0);
  }
  return h;
}
