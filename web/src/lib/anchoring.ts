/**
 * The administrator's one reading of how much of this member's log is anchored: the chain's latest
 * head (the authority) read together with the node's log head, never two sizes side by side; the
 * transaction is the node's record of that same head, shown only when the two agree. Pure.
 */

export interface LogHead {
  treeSize: number;
  anchored: { treeSize: number; txHash: string | null; blockNumber: number | null } | null;
}

export interface AnchorReading {
  /** Entries in the log now. */
  entries: number;
  /** Entries covered by the latest head anchored on chain. */
  anchored: number;
  /** Entries not yet covered (the next anchor takes them). */
  waiting: number;
  /** Where the chain's head came from: read from the chain, or (chain unreadable) the node's record. */
  source: 'chain' | 'node';
  /** The anchoring transaction of that head, when the node has recorded it. */
  tx: { hash: string | null; block: number | null } | null;
}

export function anchorReading(head: LogHead, chainSize: number | null): AnchorReading {
  const anchored = chainSize ?? head.anchored?.treeSize ?? 0;
  const tx =
    head.anchored && head.anchored.treeSize === anchored
      ? { hash: head.anchored.txHash, block: head.anchored.blockNumber }
      : null;
  return {
    entries: Math.max(head.treeSize, anchored),
    anchored,
    waiting: Math.max(0, head.treeSize - anchored),
    source: chainSize === null ? 'node' : 'chain',
    tx,
  };
}
