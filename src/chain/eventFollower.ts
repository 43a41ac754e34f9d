/**
 * What the node's event-kept chain caches share (src/chain/consortiumCache.ts for Registry and
 * Consent, src/supply/unitChainState.ts for DrugLedger): learning the latest block and applying
 * the events of the blocks not seen yet, so a cache answers as of a block no older than the latest
 * one when a read began.
 *
 * `current()` resolves to the latest block once its events are applied, from a block-number call
 * sent after the call to `current()` began: reads that begin in the same turn join one call, sent
 * once they all have; a read that begins after a call was sent waits for the next one (joining it
 * would miss a block mined since it was sent). Made for chains with immediate finality (Besu QBFT,
 * the embedded anvil): a chain that went back (a lower block number), a gap longer than
 * `maxLogRange` blocks (cheaper than fetching it, and within what RPCs allow), or a failed sync
 * (a half-applied range is not trusted) makes the cache forget everything.
 */
import type { Address, Hex } from 'viem';
import type { BlockBoard } from './blockBoard.js';
import type { ChainConnection } from './clients.js';
import { type LatestBlock, latestBlockOf } from './latestBlock.js';

/** A log as the caches read it. */
export interface FollowedLog {
  address: Address;
  data: Hex;
  topics: [] | [Hex, ...Hex[]];
}

/** The cache a follower keeps current. */
export interface FollowingCache {
  /** One event of a block not applied before, in chain order. */
  apply(log: FollowedLog): void;
  /** Forget everything held. */
  forget(): void;
}

export interface EventFollowerOptions {
  /** How the latest block number is learned (default: eth_blockNumber on a kept-alive connection). */
  latestBlock?: LatestBlock | undefined;
  /** Blocks of events fetched in one sync at most (Besu's --rpc-max-logs-range); default 1,000. */
  maxLogRange?: number | undefined;
  /** Where the node's caches share the block numbers they learn (src/chain/blockBoard.ts). */
  board?: BlockBoard | undefined;
}

/** Counters of a followed cache, for tests and the benchmarks. */
export interface FollowedCacheStats {
  hits: number;
  misses: number;
  /** Block-number calls made (each shared by the reads waiting on it). */
  readonly syncs: number;
  /** Times cached entries were dropped because of an event. */
  invalidations: number;
}

/** The events of `addresses`, applied to `cache` up to the latest block (see the module comment). */
export class EventFollower {
  private applied: bigint | undefined;
  private inflight: Promise<bigint> | undefined;
  /** The next block-number call, not sent yet: reads beginning now join it. */
  private next: Promise<bigint> | undefined;
  private readonly latestBlock: LatestBlock;
  /** Block-number calls made (each shared by the reads waiting on it). */
  syncs = 0;

  constructor(
    private readonly conn: ChainConnection,
    private readonly addresses: Address | readonly Address[],
    private readonly cache: FollowingCache,
    private readonly opts: EventFollowerOptions = {},
  ) {
    this.latestBlock = opts.latestBlock ?? latestBlockOf(conn.rpcUrl);
  }

  /** Counters for the cache this follower keeps: `syncs` read from the follower. */
  newStats(): FollowedCacheStats {
    const follower = this;
    return {
      hits: 0,
      misses: 0,
      get syncs() {
        return follower.syncs;
      },
      invalidations: 0,
    };
  }

  /**
   * The block whose events are applied (undefined: none yet, or forgotten). A value read from
   * the chain at block B may be kept only while this is still B: a later block's events may have
   * changed it.
   */
  get block(): bigint | undefined {
    return this.applied;
  }

  /** The latest block, its events applied, from a call sent after this one began. */
  current(): Promise<bigint> {
    if (this.next) return this.next;
    const previous = this.inflight ?? Promise.resolve(0n);
    const next = previous
      .catch(() => 0n)
      .then(() => {
        // From here on, a new read must wait for a call sent after it: this one is being sent now.
        this.next = undefined;
        const inflight = this.sync().finally(() => {
          if (this.inflight === inflight) this.inflight = undefined;
        });
        this.inflight = inflight;
        return inflight;
      });
    this.next = next;
    return next;
  }

  private async sync(): Promise<bigint> {
    this.syncs++;
    try {
      const seq = this.opts.board?.stamp();
      const latest = await this.latestBlock();
      if (seq !== undefined) this.opts.board?.publish(seq, latest);
      const from = this.applied;
      if (from === undefined || latest < from || latest - from > BigInt(this.opts.maxLogRange ?? 1_000))
        this.restart(latest);
      else if (latest > from) {
        const logs = await this.conn.publicClient.getLogs({
          address: Array.isArray(this.addresses) ? [...this.addresses] : (this.addresses as Address),
          fromBlock: from + 1n,
          toBlock: latest,
        });
        for (const log of logs) this.cache.apply(log as FollowedLog);
        this.applied = latest;
      }
      return latest;
    } catch (err) {
      this.restart(undefined);
      throw err;
    }
  }

  private restart(block: bigint | undefined): void {
    this.cache.forget();
    this.applied = block;
  }
}
