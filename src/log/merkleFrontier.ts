/**
 * The right edge of a growing RFC 9162 tree: the complete subtrees that make up leaves [0, size),
 * largest first (its "compact range"), in O(log n) memory. Enough for the root of every prefix as
 * the leaves stream past, and for the nodes of consistency proofs a caller asks for in advance.
 */
import { EMPTY_ROOT, type Hash, nodeHash } from './merkle.js';

/** A complete subtree: leaves [start, start + size), size a power of two, start a multiple of it. */
export interface FrontierNode {
  start: number;
  size: number;
  hash: Hash;
}

/** Key of the complete subtree of `size` leaves at `start` (size a power of two). */
export const nodeKey = (start: number, size: number): number => (start / size) * 64 + Math.log2(size);

export class MerkleFrontier {
  private readonly stack: FrontierNode[] = [];
  private count = 0;
  /** Complete subtrees to keep when they form (by nodeKey), and those kept so far. */
  private readonly wanted = new Set<number>();
  private readonly kept = new Map<number, Hash>();

  get size(): number {
    return this.count;
  }

  /** Append a leaf hash. */
  append(leaf: Hash): void {
    let node: FrontierNode = { start: this.count, size: 1, hash: leaf };
    this.keep(node);
    for (let top = this.stack.at(-1); top && top.size === node.size; top = this.stack.at(-1)) {
      this.stack.pop();
      node = { start: top.start, size: top.size * 2, hash: nodeHash(top.hash, node.hash) };
      this.keep(node);
    }
    this.stack.push(node);
    this.count++;
  }

  private keep(n: FrontierNode): void {
    if (this.wanted.size === 0) return;
    const key = nodeKey(n.start, n.size);
    if (this.wanted.delete(key)) this.kept.set(key, n.hash);
  }

  /** Keep the complete subtree [start, start + size) when it forms (it must lie beyond the current size). */
  want(start: number, size: number): void {
    this.wanted.add(nodeKey(start, size));
  }

  /** A kept subtree, if it formed since it was wanted. */
  keptNode(start: number, size: number): Hash | undefined {
    return this.kept.get(nodeKey(start, size));
  }

  /** Forget what was wanted and kept. */
  clearWanted(): void {
    this.wanted.clear();
    this.kept.clear();
  }

  /** The current complete subtrees, largest first. */
  nodes(): readonly FrontierNode[] {
    return [...this.stack];
  }

  /** MTH(D[start:size]); `start` must be where one of the current complete subtrees begins. */
  suffix(start: number): Hash {
    let acc: Hash | undefined;
    for (let i = this.stack.length - 1; i >= 0; i--) {
      const n = this.stack[i] as FrontierNode;
      if (n.start < start) break;
      acc = acc ? nodeHash(n.hash, acc) : n.hash;
      if (n.start === start) return acc;
    }
    throw new RangeError(`[${start}, ${this.count}) is not a suffix of the tree's right edge`);
  }

  /** MTH of all leaves so far. */
  root(): Hash {
    return this.count === 0 ? EMPTY_ROOT : this.suffix(0);
  }
}
