/**
 * The block numbers a node's event-kept caches (consortiumCache.ts, src/supply/unitChainState.ts)
 * have learned, each stamped with when its `eth_blockNumber` call was sent, so that the reads of
 * one request share them. A read must answer as of a block no older than the latest block when
 * its request arrived: any number learned by a call sent after that moment will do, so the second
 * read of a request (the unit's chain state after the caller's Registry entry) need not ask again.
 *
 *   const mark = board.mark();          // when the request arrives
 *   ...                                  // a cache's call is sent (stamp) and answers (publish)
 *   board.learnedSince(mark);            // that answer, or undefined while none sent since has answered
 *
 * A mark is a count of calls sent, not a clock: a call stamped after a mark was sent after it.
 */

/** A moment, as the number of block-number calls sent before it. */
export type BlockMark = number;

/** Block numbers learned by a node's caches, stamped by when each call was sent (see the module comment). */
export class BlockBoard {
  private sent = 0;
  private newest: { seq: number; block: bigint } | undefined;

  /** Now: calls stamped after this mark are sent after this moment. */
  mark(): BlockMark {
    return this.sent;
  }

  /** Stamp a block-number call about to be sent; pass the stamp to `publish` with its answer. */
  stamp(): number {
    this.sent += 1;
    return this.sent;
  }

  /** What the call stamped `seq` learned. */
  publish(seq: number, block: bigint): void {
    if (!this.newest || seq > this.newest.seq) this.newest = { seq, block };
  }

  /** The block learned by the last call sent after `since`, once it answered; else undefined. */
  learnedSince(since: BlockMark): bigint | undefined {
    return this.newest && this.newest.seq > since ? this.newest.block : undefined;
  }
}
