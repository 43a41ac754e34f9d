/**
 * Anchors the member's log heads on the AuditAnchor contract through the outbox: at most every
 * `intervalMs` (default 1 s) or as soon as `maxEntries` (default 10,000) new entries are waiting,
 * whichever comes first. Which heads are anchored is read back from the chain's HeadAnchored
 * events, so a restart never loses or double-counts an anchor.
 */
import type { Hex } from 'viem';
import type { ChainConnection } from '../chain/clients.js';
import { auditAnchorAbi } from '../chain/generated/index.js';
import type { DeploymentManifest } from '../chain/manifest.js';
import type { Outbox } from '../chain/outbox.js';
import type { LogPublisher } from '../log/logPublisher.js';

export interface AnchorerOptions {
  intervalMs?: number;
  maxEntries?: number;
  now?: () => number;
}

export class Anchorer {
  private timer: NodeJS.Timeout | undefined;
  private lastQueued = 0;
  private lastQueuedAt = 0;
  private syncedBlock: bigint;
  private running: Promise<void> | undefined;
  private readonly intervalMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(
    private readonly publisher: LogPublisher,
    private readonly outbox: Outbox,
    private readonly conn: ChainConnection,
    private readonly manifest: DeploymentManifest,
    opts: AnchorerOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? 1000;
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.now = opts.now ?? Date.now;
    this.syncedBlock = BigInt(manifest.deploymentBlock) - 1n;
    this.lastQueued = publisher.latestAnchored()?.treeSize ?? 0;
  }

  /** Check every quarter interval (so the interval bound holds within 25 %). */
  start(): void {
    this.timer = setInterval(
      () => void this.tick().catch(() => undefined),
      Math.max(50, this.intervalMs / 4),
    );
    this.timer.unref();
  }

  /** Stop the timer and let a round in progress finish; its failure (e.g. the chain is down) is not the caller's. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** One round: sync anchors from chain, queue a new head when due, send the outbox, sync again. */
  tick(force = false): Promise<void> {
    this.running ??= this.round(force).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async round(force: boolean): Promise<void> {
    await this.sync();
    const size = this.publisher.log.size;
    const waiting = size - this.lastQueued;
    const due =
      waiting > 0 &&
      (force || waiting >= this.maxEntries || this.now() - this.lastQueuedAt >= this.intervalMs);
    if (due) {
      const head = await this.publisher.head();
      this.outbox.enqueue({
        key: `anchor:${head.treeSize}`,
        contract: 'AuditAnchor',
        address: this.manifest.contracts.AuditAnchor,
        functionName: 'anchor',
        args: [BigInt(head.treeSize), head.rootHash, BigInt(head.timestamp)],
        description: `anchor log head of size ${head.treeSize}`,
      });
      this.lastQueued = head.treeSize;
      this.lastQueuedAt = this.now();
    }
    if (this.outbox.pending().length > 0) {
      await this.outbox.flush();
      await this.sync();
    }
  }

  /** Record every HeadAnchored event of this member not yet seen. */
  async sync(): Promise<void> {
    const latest = await this.conn.publicClient.getBlockNumber({ cacheTime: 0 });
    if (latest <= this.syncedBlock) return;
    const events = await this.conn.publicClient.getContractEvents({
      address: this.manifest.contracts.AuditAnchor,
      abi: auditAnchorAbi,
      eventName: 'HeadAnchored',
      args: { member: this.publisher.log.member },
      fromBlock: this.syncedBlock + 1n,
      toBlock: latest,
    });
    for (const e of events) {
      this.publisher.recordAnchor({
        treeSize: Number(e.args.treeSize),
        rootHash: e.args.rootHash as Hex,
        timestamp: Number(e.args.timestamp),
        txHash: e.transactionHash,
        blockNumber: Number(e.blockNumber),
      });
      this.lastQueued = Math.max(this.lastQueued, Number(e.args.treeSize));
    }
    this.syncedBlock = latest;
  }
}
