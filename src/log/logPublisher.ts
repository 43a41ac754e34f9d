/**
 * What a member publishes about its log: the current signed tree head, and the heads it has
 * anchored on chain (recorded here when the anchoring transaction is confirmed).
 */
import type { Hex, LocalAccount, Hash as TxHash } from 'viem';
import type { Db } from '../store/database.js';
import type { TransparencyLog } from './transparencyLog.js';
import { type HeadDomain, type SignedTreeHead, signTreeHead } from './treeHead.js';

export interface AnchoredHead {
  treeSize: number;
  rootHash: Hex;
  timestamp: number;
  txHash: TxHash | null;
  blockNumber: number | null;
}

const hex = (b: Uint8Array): Hex => `0x${Buffer.from(b).toString('hex')}`;

export class LogPublisher {
  private cached: SignedTreeHead | undefined;

  constructor(
    readonly log: TransparencyLog,
    private readonly db: Db,
    private readonly signer: LocalAccount,
    readonly domain: HeadDomain,
    private readonly now: () => number = Date.now,
  ) {}

  /** The signed head of the log as it is now (re-signed only when the log has grown). */
  async head(): Promise<SignedTreeHead> {
    const size = this.log.size;
    if (this.cached?.treeSize === size) return this.cached;
    const head = { treeSize: size, rootHash: hex(this.log.root(size)), timestamp: this.now() };
    this.cached = { ...head, signature: await signTreeHead(this.signer, this.domain, head) };
    return this.cached;
  }

  /** The latest head confirmed on chain, or null. */
  latestAnchored(): AnchoredHead | null {
    const r = this.db
      .prepare(
        'SELECT tree_size, root_hash, timestamp, tx_hash, block FROM log_anchors ORDER BY tree_size DESC LIMIT 1',
      )
      .get() as
      | { tree_size: number; root_hash: Hex; timestamp: number; tx_hash: TxHash | null; block: number | null }
      | undefined;
    return r
      ? {
          treeSize: r.tree_size,
          rootHash: r.root_hash,
          timestamp: r.timestamp,
          txHash: r.tx_hash,
          blockNumber: r.block,
        }
      : null;
  }

  /** Every head recorded as anchored, oldest first. */
  anchoredHeads(): AnchoredHead[] {
    return (
      this.db
        .prepare('SELECT tree_size, root_hash, timestamp, tx_hash, block FROM log_anchors ORDER BY tree_size')
        .all() as {
        tree_size: number;
        root_hash: Hex;
        timestamp: number;
        tx_hash: TxHash | null;
        block: number | null;
      }[]
    ).map((r) => ({
      treeSize: r.tree_size,
      rootHash: r.root_hash,
      timestamp: r.timestamp,
      txHash: r.tx_hash,
      blockNumber: r.block,
    }));
  }

  recordAnchor(a: AnchoredHead): void {
    this.db
      .prepare(
        'INSERT INTO log_anchors (tree_size, root_hash, timestamp, tx_hash, block) VALUES (?, ?, ?, ?, ?) ON CONFLICT (tree_size) DO UPDATE SET tx_hash = excluded.tx_hash, block = excluded.block',
      )
      .run(a.treeSize, a.rootHash, a.timestamp, a.txHash, a.blockNumber);
  }
}
