/**
 * The verifier's step 2, done while the log streams past: at every anchored size, the root of the
 * entries read so far must be the anchored root, and the consistency proof between consecutive
 * anchored heads, built from the log's own nodes (the proof MerkleTree.consistencyProof gives),
 * must verify against both anchored roots. Memory is O(log n): the tree's right edge, its edge at
 * the previous anchored size, and the O(log n) nodes the next proof needs, kept as they form.
 */
import type { Hex } from 'viem';
import { consistencyPath, type Hash, verifyConsistency } from './merkle.js';
import { type FrontierNode, MerkleFrontier } from './merkleFrontier.js';

export interface ChainHead {
  treeSize: number;
  rootHash: Hex;
}

export type HeadProblem = 'log-truncated' | 'log-rewritten' | 'anchors-inconsistent';

const hex = (b: Uint8Array): Hex => `0x${Buffer.from(b).toString('hex')}`;
const bytes = (h: Hex) => new Uint8Array(Buffer.from(h.slice(2), 'hex'));
const isAligned = (start: number, size: number) =>
  size > 0 && 2 ** Math.round(Math.log2(size)) === size && start % size === 0;
const PLACEHOLDER = new Uint8Array(32);

export class HeadChecks {
  private readonly frontier = new MerkleFrontier();
  private readonly heads: readonly ChainHead[];
  private next = 0;
  private previous: ChainHead | undefined;
  /** The right edge at previous.treeSize: the proof's nodes left of it are among these. */
  private previousEdge: readonly FrontierNode[] = [];

  constructor(
    anchored: readonly ChainHead[],
    private readonly report: (kind: HeadProblem, where: string, detail: string) => void,
  ) {
    this.heads = [...anchored].sort((a, b) => a.treeSize - b.treeSize);
    this.reach();
  }

  get count(): number {
    return this.heads.length;
  }

  /** The next leaf hash of the log, in order. */
  append(leaf: Hash): void {
    this.frontier.append(leaf);
    if (this.next < this.heads.length && (this.heads[this.next] as ChainHead).treeSize === this.frontier.size)
      this.reach();
  }

  /** After the last entry: heads beyond the end of the log name entries that are gone. */
  finish(): void {
    for (; this.next < this.heads.length; this.next++) {
      const h = this.heads[this.next] as ChainHead;
      this.report(
        'log-truncated',
        `anchored head size ${h.treeSize}`,
        `the local log has only ${this.frontier.size} entries: entries anchored on chain are gone`,
      );
      this.previous = h;
    }
  }

  private reach(): void {
    for (let h = this.heads[this.next]; h && h.treeSize === this.frontier.size; h = this.heads[++this.next]) {
      this.check(h);
      this.previous = h;
      this.prepare(this.heads[this.next + 1]);
    }
  }

  private check(h: ChainHead): void {
    const previous = this.previous;
    if (hex(this.frontier.root()) !== h.rootHash) {
      this.report(
        'log-rewritten',
        `anchored head size ${h.treeSize}`,
        `the log no longer has the root anchored on chain; an entry between index ${previous?.treeSize ?? 0} and ${h.treeSize - 1} was changed, removed or inserted`,
      );
    }
    // An empty earlier head is a prefix of anything: there is nothing to prove.
    if (!previous || previous.treeSize < 1) return;
    const proof = consistencyPath(previous.treeSize, h.treeSize, (start, end) => this.node(start, end));
    if (
      !verifyConsistency(previous.treeSize, h.treeSize, bytes(previous.rootHash), bytes(h.rootHash), proof)
    ) {
      this.report(
        'anchors-inconsistent',
        `anchored heads ${previous.treeSize} -> ${h.treeSize}`,
        'the local log does not prove that the later anchored head extends the earlier one',
      );
    }
  }

  /** At an anchored size: remember the edge, and ask for the nodes the proof to `upcoming` needs. */
  private prepare(upcoming: ChainHead | undefined): void {
    this.frontier.clearWanted();
    const at = this.frontier.size;
    this.previousEdge = this.frontier.nodes();
    if (!upcoming || at < 1 || upcoming.treeSize <= at) return;
    consistencyPath(at, upcoming.treeSize, (start, end) => {
      if (start >= at && isAligned(start, end - start)) this.frontier.want(start, end - start);
      return PLACEHOLDER;
    });
  }

  /** MTH(D[start:end]) for a node of the proof from previous.treeSize to the current size. */
  private node(start: number, end: number): Hash {
    const size = end - start;
    const edge = this.previousEdge.find((n) => n.start === start && n.size === size);
    if (edge) return edge.hash;
    const kept = isAligned(start, size) ? this.frontier.keptNode(start, size) : undefined;
    if (kept) return kept;
    if (end === this.frontier.size) return this.frontier.suffix(start);
    throw new Error(`internal: proof node [${start}, ${end}) was not kept`);
  }
}
