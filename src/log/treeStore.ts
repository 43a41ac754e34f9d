/**
 * The transparency log's Merkle tree, persisted beside its entries (table log_tree_chunks,
 * migration 7), so that a node restarting with a long log reads its tree instead of rehashing
 * every entry. Each level's nodes are stored in chunks of 256 consecutive complete-subtree hashes,
 * written in the same transaction as the entries that complete them; the incomplete chunk at the
 * end of each level (at most 255 nodes) is recomputed on open from the last leaf hashes.
 *
 * On open the persisted tree is checked, cheaply (about 12,000 hashes at any size), against what
 * it summarizes: the chunks must be exactly those a log of this size has; at every level the
 * first and newest chunk and 64 nodes spread between them must equal the stored leaf hashes
 * (level 0) or hash from the level below; and the root at the newest anchored head must be the
 * anchored root. If any of that fails the tree is rebuilt from the entries (and saved again),
 * and stderr says so. A persisted node changed elsewhere, consistently with the levels above it,
 * is not caught here: `medchain verify` recomputes the whole tree from the entry bytes, and every
 * proof the node serves is checked by its receiver against the anchored root.
 */
import type { Hex } from 'viem';
import { MedchainError } from '../errors.js';
import type { Db } from '../store/database.js';
import { HASH_BYTES, MerkleTree, nodeHashInto } from './merkle.js';

/** Nodes per persisted chunk. */
export const CHUNK_NODES = 256;
const CHUNK_BYTES = CHUNK_NODES * HASH_BYTES;

/** Nodes spread over each level that the check on open recomputes, besides its first and newest chunk. */
const SAMPLES = 64;

const nodesAt = (size: number, level: number) => Math.floor(size / 2 ** level);

/** The persisted nodes [0, n) of a level that open checks: the first and newest chunk, and a spread. */
function* checkedNodes(n: number): Generator<number> {
  for (let i = 0; i < Math.min(CHUNK_NODES, n); i++) yield i;
  for (let k = 0; k < SAMPLES; k++) {
    const i = Math.floor((k * n) / SAMPLES);
    if (i >= CHUNK_NODES && i < n - CHUNK_NODES) yield i;
  }
  for (let i = Math.max(CHUNK_NODES, n - CHUNK_NODES); i < n; i++) yield i;
}
const asBuffer = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
const hex = (b: Uint8Array): Hex => `0x${Buffer.from(b).toString('hex')}`;

/** What opening found: the tree, and why it had to be rebuilt (null when the persisted one held). */
export interface OpenedTree {
  tree: MerkleTree;
  rebuilt: string | null;
}

export class TreeStore {
  private readonly insertChunk;

  constructor(
    private readonly db: Db,
    private readonly warn: (message: string) => void,
  ) {
    this.insertChunk = db.prepare('INSERT INTO log_tree_chunks (level, chunk, hashes) VALUES (?, ?, ?)');
  }

  /** The tree of the stored log: the persisted one when it checks out, else rebuilt from the entries. */
  open(): OpenedTree {
    const size = this.logSize();
    const loaded = this.load(size);
    if (typeof loaded === 'string') return this.rebuild(size, loaded);
    const problem = this.check(loaded.tree, loaded.persisted);
    if (problem) return this.rebuild(size, problem);
    const missing = loaded.persisted.reduce(
      (n, have, level) => n + Math.floor(nodesAt(size, level) / CHUNK_NODES) - have,
      0,
    );
    if (missing > 0) {
      this.saveQuietly(() => this.persist(loaded.tree, (level) => loaded.persisted[level] ?? 0));
      this.warn(
        `medchain log: saved ${missing} chunks of the Merkle tree that were not persisted yet (a store from before schema 6, or entries written around the log)`,
      );
    }
    return { tree: loaded.tree, rebuilt: null };
  }

  /**
   * Inside the transaction that appended leaves [from, tree.size): write the chunks they completed.
   * `firstChunk(level)` overrides where each level's new chunks start.
   */
  persist(tree: MerkleTree, firstChunk: number | ((level: number) => number)): void {
    // Sizes from the leaf count, not the tree's levels: reading a level above the leaves hashes the
    // nodes appended since the last read, which a commit that completes no chunk does not need.
    for (let level = 0; nodesAt(tree.size, level) >= CHUNK_NODES; level++) {
      const from =
        typeof firstChunk === 'number'
          ? Math.floor(nodesAt(firstChunk, level) / CHUNK_NODES)
          : firstChunk(level);
      const to = Math.floor(nodesAt(tree.size, level) / CHUNK_NODES);
      for (let c = from; c < to; c++)
        this.insertChunk.run(
          level,
          c,
          asBuffer(tree.levelBytes(level, c * CHUNK_NODES, (c + 1) * CHUNK_NODES)),
        );
    }
  }

  /** Entries in the log; refuses a log whose indexes are not 0..n-1. */
  private logSize(): number {
    const r = this.db
      .prepare('SELECT count(*) AS n, min(idx) AS lo, max(idx) AS hi FROM log_entries')
      .get() as { n: number; lo: number | null; hi: number | null };
    if (r.n === 0) return 0;
    if (r.lo === 0 && r.hi === r.n - 1) return r.n;
    // Find where, for the message (the verifier reports gaps and tampering in full).
    let expected = 0;
    for (const row of this.db.prepare('SELECT idx FROM log_entries ORDER BY idx').iterate() as Iterable<{
      idx: number;
    }>) {
      if (row.idx !== expected) break;
      expected++;
    }
    throw new MedchainError('log-corrupt', `the log has a gap at index ${expected}; run medchain verify`);
  }

  /** The persisted chunks, with the tail of each level computed, or why they cannot be used. */
  private load(size: number): { tree: MerkleTree; persisted: number[] } | string {
    const levels: Uint8Array[] = [];
    const persisted: number[] = [];
    for (let level = 0; nodesAt(size, level) > 0; level++) {
      levels.push(new Uint8Array(nodesAt(size, level) * HASH_BYTES));
      persisted.push(0);
    }
    for (const r of this.db
      .prepare('SELECT level, chunk, hashes FROM log_tree_chunks ORDER BY level, chunk')
      .iterate() as Iterable<{ level: number; chunk: number; hashes: Buffer }>) {
      const buf = levels[r.level];
      if (!buf || (r.chunk + 1) * CHUNK_NODES > nodesAt(size, r.level))
        return `chunk ${r.chunk} of level ${r.level} is beyond a log of ${size} entries`;
      if (r.chunk !== persisted[r.level]) return `level ${r.level} lacks chunk ${persisted[r.level]}`;
      if (r.hashes.length !== CHUNK_BYTES) return `chunk ${r.chunk} of level ${r.level} is cut short`;
      buf.set(r.hashes, r.chunk * CHUNK_BYTES);
      persisted[r.level] = r.chunk + 1;
    }
    if (size === 0) return { tree: new MerkleTree(), persisted };
    // Leaf hashes after the persisted chunks come from the entries.
    const from = (persisted[0] ?? 0) * CHUNK_NODES;
    const problem = this.readLeaves(levels[0] as Uint8Array, from, size);
    if (problem) return problem;
    const filled = persisted.map((chunks) => chunks * CHUNK_NODES);
    filled[0] = size;
    return { tree: MerkleTree.fromNodes(size, levels, filled), persisted };
  }

  /** Copy the stored leaf hashes of entries [from, to) into `into` (at their index). */
  private readLeaves(into: Uint8Array, from: number, to: number): string | null {
    let expected = from;
    for (const r of this.db
      .prepare('SELECT idx, leaf_hash FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx')
      .iterate(from, to) as Iterable<{ idx: number; leaf_hash: Buffer }>) {
      if (r.idx !== expected) return `entry ${expected} is missing`;
      if (r.leaf_hash.length !== HASH_BYTES) return `entry ${r.idx} has no 32-byte leaf hash`;
      into.set(r.leaf_hash, r.idx * HASH_BYTES);
      expected++;
    }
    return expected === to ? null : `entry ${expected} is missing`;
  }

  /**
   * The cheap checks of a loaded tree (see the file comment): at every level, the first and the
   * newest persisted chunk and SAMPLES nodes spread between them, against the stored leaf hashes
   * (level 0) or the level below; then the newest anchored root. The problem found, or null.
   */
  private check(tree: MerkleTree, persisted: readonly number[]): string | null {
    const leaf = this.db.prepare('SELECT leaf_hash FROM log_entries WHERE idx = ?').pluck();
    const out = new Uint8Array(HASH_BYTES);
    for (let level = 0; level < persisted.length; level++) {
      const nodes = (persisted[level] ?? 0) * CHUNK_NODES;
      if (nodes === 0) continue;
      for (const i of checkedNodes(nodes)) {
        const node = asBuffer(tree.levelBytes(level, i, i + 1));
        if (level === 0) {
          const stored = leaf.get(i) as Buffer | undefined;
          if (!stored?.equals(node)) return `leaf ${i} is not the stored leaf hash of entry ${i}`;
        } else {
          const below = tree.levelBytes(level - 1, 2 * i, 2 * i + 2);
          nodeHashInto(below.subarray(0, HASH_BYTES), below.subarray(HASH_BYTES), out, 0);
          if (!asBuffer(out).equals(node))
            return `node ${i} of level ${level} does not hash from the level below`;
        }
      }
    }
    return this.checkAnchor(tree);
  }

  /** The root at the newest anchored head the log covers must be the anchored root. */
  private checkAnchor(tree: MerkleTree): string | null {
    const a = this.db
      .prepare(
        'SELECT tree_size, root_hash FROM log_anchors WHERE tree_size <= ? ORDER BY tree_size DESC LIMIT 1',
      )
      .get(tree.size) as { tree_size: number; root_hash: Hex } | undefined;
    if (!a || hex(tree.root(a.tree_size)) === a.root_hash.toLowerCase()) return null;
    return `the root at size ${a.tree_size} is not the anchored root`;
  }

  private rebuild(size: number, reason: string): OpenedTree {
    this.warn(
      `medchain log: the persisted Merkle tree does not match the log (${reason}); rebuilding it from the ${size} entries`,
    );
    const leaves = new Uint8Array(size * HASH_BYTES);
    const problem = this.readLeaves(leaves, 0, size);
    if (problem)
      throw new MedchainError('log-corrupt', `the log cannot be read back (${problem}); run medchain verify`);
    const tree = MerkleTree.fromNodes(size, [leaves], [size]);
    this.saveQuietly(() => {
      this.db.prepare('DELETE FROM log_tree_chunks').run();
      this.persist(tree, 0);
    });
    const still = this.checkAnchor(tree);
    if (still)
      this.warn(`medchain log: ${still} even in the tree rebuilt from the entries; run medchain verify`);
    return { tree, rebuilt: reason };
  }

  /** Save what open computed; a store that refuses writes still opens (it is saved next time). */
  private saveQuietly(save: () => void): void {
    try {
      this.db.transaction(save)();
    } catch (err) {
      this.warn(
        `medchain log: could not save the Merkle tree (${(err as Error).message}); it is rebuilt on the next open`,
      );
    }
  }
}
