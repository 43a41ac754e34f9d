/**
 * RFC 9162 (Certificate Transparency v2) Merkle trees with SHA-256: leaf hash = H(0x00 || entry),
 * interior = H(0x01 || left || right), split at the largest power of two smaller than n, empty
 * tree = H(""). Proof generation (§2.1.3.1 PATH, §2.1.4.1 SUBPROOF) over any source of subtree
 * hashes, proof verification (§2.1.3.2, §2.1.4.2), and one in-memory tree that keeps every
 * complete subtree in one flat byte array per level (64 bytes per leaf in all).
 */
import { createHash, hash as oneShotHash } from 'node:crypto';

export type Hash = Uint8Array;

/** Bytes in a SHA-256 hash. */
export const HASH_BYTES = 32;

const LEAF = Uint8Array.of(0);

export const EMPTY_ROOT: Hash = new Uint8Array(createHash('sha256').digest());

/**
 * SHA-256 of `data` written into `out` at `offset`. node:crypto is asked for the digest as a latin1
 * string (one character a byte, a small string on the heap): making a Buffer for it costs more than
 * hashing inputs this short, and a latin1 digest takes about half the time of a Buffer one (0.4 vs
 * 0.9-1.1 us for 65 or 159 bytes), which is what every leaf, interior node and proof step pays.
 */
function sha256Into(data: Uint8Array, out: Uint8Array, offset: number): void {
  const d = oneShotHash('sha256', data, 'binary'); // 'binary' is node's name for latin1
  for (let i = 0; i < HASH_BYTES; i++) out[offset + i] = d.charCodeAt(i);
}

const sha256 = (data: Uint8Array): Hash => {
  const out = new Uint8Array(HASH_BYTES);
  sha256Into(data, out, 0);
  return out;
};

// Entries are a few hundred bytes: 0x00 || entry is assembled in one reused buffer and hashed in
// one call (a streaming hash object costs more than the hashing itself at this size).
const leafScratch = new Uint8Array(1024);

export function leafHash(entry: Uint8Array): Hash {
  if (entry.length >= leafScratch.length)
    return new Uint8Array(createHash('sha256').update(LEAF).update(entry).digest());
  leafScratch[0] = 0;
  leafScratch.set(entry, 1);
  return sha256(leafScratch.subarray(0, entry.length + 1));
}

/**
 * The leaf hash of the entry that `prefixed` holds after its first byte, which must be 0x00: for a
 * caller that lays the entry out behind a zero byte itself (the log's group commit), so that the
 * bytes are hashed where they lie instead of copied behind one. Equals leafHash(prefixed.subarray(1)).
 */
export function leafHashPrefixed(prefixed: Uint8Array): Hash {
  if (prefixed[0] !== 0) throw new RangeError('a leaf is hashed as 0x00 || entry');
  return sha256(prefixed);
}

// One scratch buffer for interior nodes: 0x01 || left || right, hashed in one call (about twice as
// fast as a streaming hash of three parts, and interior hashing is what proofs and restarts cost).
const scratch = new Uint8Array(1 + 2 * HASH_BYTES);
scratch[0] = 1;

/** H(0x01 || left || right) written into `out` at `offset`. */
export function nodeHashInto(left: Hash, right: Hash, out: Uint8Array, offset: number): void {
  scratch.set(left, 1);
  scratch.set(right, 1 + HASH_BYTES);
  sha256Into(scratch, out, offset);
}

export const nodeHash = (left: Hash, right: Hash): Hash => {
  const out = new Uint8Array(HASH_BYTES);
  nodeHashInto(left, right, out, 0);
  return out;
};

/** Largest power of two strictly smaller than n (n >= 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** MTH(D[start:end]) from wherever the caller keeps its nodes. */
export type SubtreeHash = (start: number, end: number) => Hash;

/** RFC 9162 §2.1.3.1 PATH(m, D[0:size]): the audit path of leaf `index`, leaf-side first. */
export function inclusionPath(index: number, size: number, subtree: SubtreeHash): Hash[] {
  const path: Hash[] = [];
  const walk = (m: number, start: number, end: number) => {
    const n = end - start;
    if (n === 1) return;
    const k = splitPoint(n);
    if (m < k) {
      walk(m, start, start + k);
      path.push(subtree(start + k, end));
    } else {
      walk(m - k, start + k, end);
      path.push(subtree(start, start + k));
    }
  };
  walk(index, 0, size);
  return path;
}

/** RFC 9162 §2.1.4.1 PROOF(first, D[0:second]) (first >= 1). */
export function consistencyPath(first: number, second: number, subtree: SubtreeHash): Hash[] {
  const path: Hash[] = [];
  const sub = (m: number, start: number, end: number, complete: boolean) => {
    const n = end - start;
    if (m === n) {
      if (!complete) path.push(subtree(start, end));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      sub(m, start, start + k, complete);
      path.push(subtree(start + k, end));
    } else {
      sub(m - k, start + k, end, false);
      path.push(subtree(start, start + k));
    }
  };
  sub(first, 0, second, true);
  return path;
}

const isPowerOfTwo = (n: number) => n > 0 && 2 ** Math.round(Math.log2(n)) === n;

/**
 * An append-only tree over leaf hashes. Level j holds the hash of every complete subtree of 2^j
 * leaves, node i covering leaves [i * 2^j, (i + 1) * 2^j), so any subtree hash costs O(log n).
 * `append` stores the leaf only; the interior nodes it completes are hashed when something first
 * reads the tree (or on `hashPending`), so a caller can append a batch, commit it, and hash while
 * it waits for the disk.
 */
export class MerkleTree {
  /** levels[j]: nodes of level j, 32 bytes each, in a buffer with room to grow. */
  private levels: Uint8Array[] = [];
  /** counts[j]: how many nodes level j holds (floor(hashed / 2^j) above level 0). */
  private counts: number[] = [];
  /** Leaves whose interior nodes are all hashed: the levels above 0 are those of a tree this size. */
  private hashed = 0;

  get size(): number {
    return this.counts[0] ?? 0;
  }

  /** Number of complete subtrees of 2^level leaves (the nodes of that level). */
  levelSize(level: number): number {
    if (level > 0) this.hashPending();
    return this.counts[level] ?? 0;
  }

  /** Levels that hold at least one node. */
  get height(): number {
    this.hashPending();
    let h = 0;
    while ((this.counts[h] ?? 0) > 0) h++;
    return h;
  }

  /** Nodes [from, to) of `level`, concatenated (a view: copy it to keep it). */
  levelBytes(level: number, from: number, to: number): Uint8Array {
    if (from < 0 || to > this.levelSize(level) || from > to)
      throw new RangeError(`no nodes [${from}, ${to}) at level ${level} (it has ${this.levelSize(level)})`);
    return (this.levels[level] as Uint8Array).subarray(from * HASH_BYTES, to * HASH_BYTES);
  }

  /** Make room for node `index` of `level`. */
  private reserve(level: number, index: number): Uint8Array {
    let buf = this.levels[level];
    const need = (index + 1) * HASH_BYTES;
    if (!buf || buf.length < need) {
      const grown = new Uint8Array(Math.max(need, (buf?.length ?? 0) * 2, 64 * HASH_BYTES));
      if (buf) grown.set(buf.subarray(0, (this.counts[level] ?? 0) * HASH_BYTES));
      this.levels[level] = buf = grown;
      this.counts[level] ??= 0;
    }
    return buf;
  }

  private node(level: number, index: number): Hash {
    const at = index * HASH_BYTES;
    return (this.levels[level] as Uint8Array).subarray(at, at + HASH_BYTES);
  }

  /** Append a leaf hash; returns its index. The subtrees it completes are hashed on the next read. */
  append(leaf: Hash): number {
    if (leaf.length !== HASH_BYTES) throw new RangeError('a leaf hash is 32 bytes');
    const index = this.size;
    this.reserve(0, index).set(leaf, index * HASH_BYTES);
    this.counts[0] = index + 1;
    return index;
  }

  /** Hash every interior node the leaves appended since the last read complete (reads do it anyway). */
  hashPending(): void {
    const size = this.size;
    if (this.hashed === size) return;
    for (let j = 1; Math.floor(size / 2 ** j) > 0; j++) {
      const n = Math.floor(size / 2 ** j);
      const have = this.counts[j] ?? 0;
      if (have >= n) continue;
      const buf = this.reserve(j, n - 1);
      for (let i = have; i < n; i++)
        nodeHashInto(this.node(j - 1, 2 * i), this.node(j - 1, 2 * i + 1), buf, i * HASH_BYTES);
      this.counts[j] = n;
    }
    this.hashed = size;
  }

  /** Forget every leaf from `size` on (undoes appends whose commit failed). */
  truncate(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.size)
      throw new RangeError(`cannot truncate a tree of ${this.size} to ${size}`);
    // Levels above 0 may not be hashed up to the old size yet: never claim nodes not computed.
    for (let j = 0; j < this.counts.length; j++)
      this.counts[j] = Math.min(this.counts[j] ?? 0, Math.floor(size / 2 ** j));
    this.counts[0] = size;
    this.hashed = Math.min(this.hashed, size);
    this.partial.clear();
  }

  leaf(index: number): Hash {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.size)
      throw new RangeError(`no leaf ${index} in a tree of ${this.size}`);
    return this.node(0, index).slice();
  }

  /**
   * Hashes of incomplete subtrees (the right edge of some tree size), which proofs at that size
   * all need: a subtree of leaves that exist never changes, so they are kept until a truncate
   * (or until there are many).
   */
  private readonly partial = new Map<string, Hash>();

  /** MTH(D[start:end]), possibly a view into the tree. */
  private hashOf = (start: number, end: number): Hash => {
    const n = end - start;
    if (isPowerOfTwo(n) && start % n === 0) return this.node(Math.log2(n), start / n);
    const key = `${start}:${end}`;
    let h = this.partial.get(key);
    if (!h) {
      const k = splitPoint(n);
      h = nodeHash(this.hashOf(start, start + k), this.hashOf(start + k, end));
      if (this.partial.size >= 4096) this.partial.clear();
      this.partial.set(key, h);
    }
    return h;
  };

  /** MTH(D[start:end]) for 0 <= start < end <= size, as RFC 9162 §2.1.1 defines it. */
  subtree(start: number, end: number): Hash {
    if (
      !Number.isSafeInteger(start) ||
      !Number.isSafeInteger(end) ||
      start < 0 ||
      end <= start ||
      end > this.size
    )
      throw new RangeError(`bad subtree [${start}, ${end}) of ${this.size}`);
    this.hashPending();
    return this.hashOf(start, end).slice();
  }

  /** Root of the first `size` leaves (default: all). */
  root(size = this.size): Hash {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.size)
      throw new RangeError(`no tree of size ${size} (log has ${this.size})`);
    return size === 0 ? EMPTY_ROOT.slice() : this.subtree(0, size);
  }

  /** Inclusion proof of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1). */
  inclusionProof(index: number, size = this.size): Hash[] {
    if (
      !Number.isSafeInteger(index) ||
      !Number.isSafeInteger(size) ||
      size > this.size ||
      index < 0 ||
      index >= size
    )
      throw new RangeError(`no leaf ${index} in a tree of ${size}`);
    this.hashPending();
    return inclusionPath(index, size, this.hashOf).map((h) => h.slice());
  }

  /** Consistency proof between the trees of `first` and `second` leaves (RFC 9162 §2.1.4.1). */
  consistencyProof(first: number, second = this.size): Hash[] {
    if (
      !Number.isSafeInteger(first) ||
      !Number.isSafeInteger(second) ||
      first < 1 ||
      first > second ||
      second > this.size
    ) {
      throw new RangeError(`no consistency proof from ${first} to ${second} (log has ${this.size})`);
    }
    this.hashPending();
    return consistencyPath(first, second, this.hashOf).map((h) => h.slice());
  }

  /**
   * A tree of `size` leaves over the given level buffers, which it adopts: `levels[j]` has room
   * for the floor(size / 2^j) nodes of level j and its first `filled[j]` nodes are set (level 0
   * must be full). Every node not filled is computed from the level below, so
   * `fromNodes(n, [leaves], [n])` builds a tree from scratch and persisted nodes save the hashing.
   */
  static fromNodes(size: number, levels: readonly Uint8Array[], filled: readonly number[]): MerkleTree {
    const t = new MerkleTree();
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`no tree of ${size} leaves`);
    if (size === 0) return t;
    if (filled[0] !== size) throw new RangeError('every leaf hash must be given');
    for (let j = 0; Math.floor(size / 2 ** j) > 0; j++) {
      const n = Math.floor(size / 2 ** j);
      const have = filled[j] ?? 0;
      const buf = levels[j] ?? new Uint8Array(n * HASH_BYTES);
      if (buf.length < n * HASH_BYTES || !Number.isSafeInteger(have) || have < 0 || have > n)
        throw new RangeError(`level ${j} of a tree of ${size} has ${n} nodes`);
      t.levels[j] = buf;
      t.counts[j] = n;
      for (let i = have; i < n; i++)
        nodeHashInto(t.node(j - 1, 2 * i), t.node(j - 1, 2 * i + 1), buf, i * HASH_BYTES);
    }
    t.hashed = size;
    return t;
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
  const r = Uint8Array.from(leaf);
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      nodeHashInto(p, r, r, 0);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      nodeHashInto(r, p, r, 0);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(r, root);
}

/** One inclusion proof of a batch under one head. */
export interface InclusionItem {
  leaf: Hash;
  index: number;
  path: readonly Hash[];
}

/** A node a proof of the batch computed and that proof verified: the rest of its path from there. */
interface VerifiedNode {
  /** The proof's computed nodes, 32 bytes each; this one at `at`. */
  nodes: Uint8Array;
  at: number;
  path: readonly Hash[];
  next: number;
}

/**
 * Many inclusion proofs under one head (`size`, `root`), each answered exactly as
 * {@link verifyInclusion} answers it, with the work they share done once. In a tree of fixed size a
 * node of the RFC 9162 §2.1.3.2 walk is named by its level and index; once a proof is verified, every
 * node it computed is known good together with the rest of its path. A later proof that computes the
 * same hash at a known node, and whose remaining path equals the known one byte for byte, would
 * repeat the same hashes to the same root, so it is verified there; on any difference it is walked to
 * the root like a lone proof. Spread proofs under one head share their upper levels.
 */
export function verifyInclusions(items: readonly InclusionItem[], size: number, root: Hash): boolean[] {
  const known: Map<number, VerifiedNode>[] = [];
  const levels: number[] = [];
  const fns: number[] = [];
  return items.map(({ leaf, index, path }) => {
    if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size)
      return false;
    if (leaf.length !== 32 || root.length !== 32) return false;
    for (let i = 0; i < path.length; i++) if ((path[i] as Hash).length !== 32) return false;
    const nodes = new Uint8Array(HASH_BYTES * path.length);
    let fn = index;
    let sn = size - 1;
    let level = 0;
    let r: Hash = leaf;
    let done = 0;
    let verified: boolean | undefined;
    for (let step = 0; step < path.length; step++) {
      const p = path[step] as Hash;
      if (sn === 0) {
        verified = false;
        break;
      }
      const at = step * HASH_BYTES;
      if (fn % 2 === 1 || fn === sn) {
        nodeHashInto(p, r, nodes, at);
        if (fn % 2 === 0) {
          while (fn % 2 === 0 && fn !== 0) {
            fn = Math.floor(fn / 2);
            sn = Math.floor(sn / 2);
            level++;
          }
        }
      } else {
        nodeHashInto(r, p, nodes, at);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
      level++;
      r = nodes.subarray(at, at + HASH_BYTES);
      const k = known[level]?.get(fn);
      if (k && equalAt(k.nodes, k.at, nodes, at) && sameRest(path, step + 1, k.path, k.next)) {
        verified = true;
        break;
      }
      levels[done] = level;
      fns[done] = fn;
      done++;
    }
    const ok = verified ?? (sn === 0 && equal(r, root));
    if (ok) {
      for (let i = 0; i < done; i++) {
        let m = known[levels[i] as number];
        if (!m) known[levels[i] as number] = m = new Map();
        if (!m.has(fns[i] as number))
          m.set(fns[i] as number, { nodes, at: i * HASH_BYTES, path, next: i + 1 });
      }
    }
    return ok;
  });
}

/** Whether the 32 bytes of `a` at `i` equal those of `b` at `j`. */
function equalAt(a: Uint8Array, i: number, b: Uint8Array, j: number): boolean {
  for (let k = 0; k < HASH_BYTES; k++) if (a[i + k] !== b[j + k]) return false;
  return true;
}

/** Whether a[i..] and b[j..] are the same hashes. */
function sameRest(a: readonly Hash[], i: number, b: readonly Hash[], j: number): boolean {
  if (a.length - i !== b.length - j) return false;
  for (let k = 0; i + k < a.length; k++) if (!equal(a[i + k] as Hash, b[j + k] as Hash)) return false;
  return true;
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
