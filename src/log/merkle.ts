/**
 * RFC 9162 (Certificate Transparency v2) Merkle trees with SHA-256: leaf hash = H(0x00 || entry),
 * interior = H(0x01 || left || right), split at the largest power of two smaller than n, empty
 * tree = H(""). Proof generation (§2.1.3.1 PATH, §2.1.4.1 SUBPROOF) and verification (§2.1.3.2,
 * §2.1.4.2). Pure functions and one in-memory tree that caches every complete subtree.
 */
import { createHash } from 'node:crypto';

export type Hash = Uint8Array;

const sha256 = (...parts: Uint8Array[]): Hash => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

const LEAF = Uint8Array.of(0);
const NODE = Uint8Array.of(1);

export const EMPTY_ROOT: Hash = sha256();
export const leafHash = (entry: Uint8Array): Hash => sha256(LEAF, entry);
export const nodeHash = (left: Hash, right: Hash): Hash => sha256(NODE, left, right);

/** Largest power of two strictly smaller than n (n >= 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * An append-only tree over leaf hashes. `levels[j][i]` is the hash of the complete subtree of
 * 2^j leaves starting at leaf i * 2^j, so any subtree hash costs O(log n).
 */
export class MerkleTree {
  private readonly levels: Hash[][] = [[]];

  get size(): number {
    return (this.levels[0] as Hash[]).length;
  }

  /** Append a leaf hash; returns its index. */
  append(leaf: Hash): number {
    const index = this.size;
    (this.levels[0] as Hash[]).push(leaf);
    let j = 0;
    let i = index;
    // Complete every subtree this leaf finishes.
    while (i % 2 === 1) {
      const level = this.levels[j] as Hash[];
      const parent = nodeHash(level[i - 1] as Hash, level[i] as Hash);
      j++;
      i = (i - 1) / 2;
      if (!this.levels[j]) this.levels[j] = [];
      (this.levels[j] as Hash[]).push(parent);
    }
    return index;
  }

  leaf(index: number): Hash {
    const h = this.levels[0]?.[index];
    if (!h) throw new RangeError(`no leaf ${index} in a tree of ${this.size}`);
    return h;
  }

  /** MTH(D[start:end]) for 0 <= start < end <= size, as RFC 9162 §2.1.1 defines it. */
  subtree(start: number, end: number): Hash {
    const n = end - start;
    if (n <= 0 || end > this.size) throw new RangeError(`bad subtree [${start}, ${end}) of ${this.size}`);
    if ((n & (n - 1)) === 0 && start % n === 0) {
      const j = Math.log2(n);
      const cached = this.levels[j]?.[start / n];
      if (cached) return cached;
    }
    const k = splitPoint(n);
    return nodeHash(this.subtree(start, start + k), this.subtree(start + k, end));
  }

  /** Root of the first `size` leaves (default: all). */
  root(size = this.size): Hash {
    if (size < 0 || size > this.size) throw new RangeError(`no tree of size ${size} (log has ${this.size})`);
    return size === 0 ? EMPTY_ROOT : this.subtree(0, size);
  }

  /** Inclusion proof of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1). */
  inclusionProof(index: number, size = this.size): Hash[] {
    if (size > this.size || index < 0 || index >= size)
      throw new RangeError(`no leaf ${index} in a tree of ${size}`);
    const path: Hash[] = [];
    const walk = (m: number, start: number, end: number) => {
      const n = end - start;
      if (n === 1) return;
      const k = splitPoint(n);
      if (m < k) {
        walk(m, start, start + k);
        path.push(this.subtree(start + k, end));
      } else {
        walk(m - k, start + k, end);
        path.push(this.subtree(start, start + k));
      }
    };
    walk(index, 0, size);
    return path;
  }

  /** Consistency proof between the trees of `first` and `second` leaves (RFC 9162 §2.1.4.1). */
  consistencyProof(first: number, second = this.size): Hash[] {
    if (first < 1 || first > second || second > this.size) {
      throw new RangeError(`no consistency proof from ${first} to ${second} (log has ${this.size})`);
    }
    const path: Hash[] = [];
    const sub = (m: number, start: number, end: number, complete: boolean) => {
      const n = end - start;
      if (m === n) {
        if (!complete) path.push(this.subtree(start, end));
        return;
      }
      const k = splitPoint(n);
      if (m <= k) {
        sub(m, start, start + k, complete);
        path.push(this.subtree(start + k, end));
      } else {
        sub(m - k, start + k, end, false);
        path.push(this.subtree(start, start + k));
      }
    };
    sub(first, 0, second, true);
    return path;
  }
}

/** RFC 9162 §2.1.3.2: does `path` prove leaf `leaf` at `index` in the tree of `size` with `root`? */
export function verifyInclusion(
  leaf: Hash,
  index: number,
  size: number,
  path: readonly Hash[],
  root: Hash,
): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  if (leaf.length !== 32 || root.length !== 32 || path.some((p) => p.length !== 32)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(r, root);
}

/**
 * RFC 9162 §2.1.4.2: does `path` prove the tree of `first` leaves with `firstRoot` is a prefix of
 * the tree of `second` leaves with `secondRoot`? `first` must be at least 1 (an empty tree proves
 * nothing), `second` at least `first`; equal sizes need an empty path and equal roots.
 */
export function verifyConsistency(
  first: number,
  second: number,
  firstRoot: Hash,
  secondRoot: Hash,
  path: readonly Hash[],
): boolean {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 1 || second < first)
    return false;
  if (firstRoot.length !== 32 || secondRoot.length !== 32 || path.some((p) => p.length !== 32)) return false;
  if (first === second) return path.length === 0 && equal(firstRoot, secondRoot);
  if (path.length === 0) return false;
  const proof = (first & (first - 1)) === 0 ? [firstRoot, ...path] : [...path];
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = proof[0] as Hash;
  let sr = proof[0] as Hash;
  for (const c of proof.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(fr, firstRoot) && equal(sr, secondRoot);
}
