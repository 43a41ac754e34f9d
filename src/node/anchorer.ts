/**
 * Anchors the member's log heads on the AuditAnchor contract through the outbox: when the log has
 * grown, at most every `intervalMs` (default 500 ms) or as soon as `maxEntries` (default 10,000)
 * new entries are waiting, whichever comes first. Which heads are anchored is read back from the
 * chain's HeadAnchored events, so a restart never loses or double-counts an anchor.
 *
 * A round never waits for a block. It records receipts and HeadAnchored events mined since the last
 * round (only when a new block appeared), and when a new head is due it signs and broadcasts it
 * with the next nonce. So several anchors may be in flight at once, one per round, with
 * consecutive nonces. They cannot conflict: heads are queued, never replaced (a replacement at a
 * zero gas price is refused by Besu, and two signed transactions with one nonce would break the
 * outbox's "same bytes after a crash"), each queued head is strictly larger than the one before,
 * and nonces follow queueing order, so the chain applies them in order and every one grows the
 * anchored size. Heads are cumulative, so while `maxInFlight` anchors are unconfirmed (a stalled
 * chain) the anchorer simply waits: the next head covers every entry that waited.
 * An idle round (log unchanged, nothing in flight) makes no chain request at all.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Hex } from 'viem';
import { ChainError } from '../chain/chainError.js';
import type { ChainConnection } from '../chain/clients.js';
import { auditAnchorAbi } from '../chain/generated/index.js';
import type { DeploymentManifest } from '../chain/manifest.js';
import type { Outbox, OutboxEntry } from '../chain/outbox.js';
import type { LogPublisher } from '../log/logPublisher.js';

export interface AnchorerOptions {
  /** Anchor a grown log at most this often (ms). Default 500. */
  intervalMs?: number;
  /** Anchor at once when this many entries wait, whatever the interval. Default 10,000. */
  maxEntries?: number;
  /** Anchor transactions allowed unconfirmed at once. Default 4 (within Besu's per-sender pool limits). */
  maxInFlight?: number;
  /** How long `tick(true)` waits for its anchor to be confirmed. Default 60 s. */
  confirmTimeoutMs?: number;
  now?: () => number;
}

/** How often a growing log is anchored unless configured otherwise (ms). */
export const DEFAULT_ANCHOR_INTERVAL_MS = 500;

const KEY_PREFIX = 'anchor:';
const anchorKey = (treeSize: number) => `${KEY_PREFIX}${treeSize}`;
const isAnchor = (e: OutboxEntry) => e.key.startsWith(KEY_PREFIX);

export class Anchorer {
  private timer: NodeJS.Timeout | undefined;
  private lastQueued = 0;
  private lastQueuedAt = Number.NEGATIVE_INFINITY;
  private syncedBlock: bigint;
  private running: Promise<void> | undefined;
  private readonly intervalMs: number;
  private readonly maxEntries: number;
  private readonly maxInFlight: number;
  private readonly confirmTimeoutMs: number;
  private readonly now: () => number;
  /** Counters for tests and benchmarks: rounds run, heads queued, rounds that looked at the chain. */
  readonly stats = { rounds: 0, queued: 0, observed: 0 };

  constructor(
    private readonly publisher: LogPublisher,
    private readonly outbox: Outbox,
    private readonly conn: ChainConnection,
    private readonly manifest: DeploymentManifest,
    opts: AnchorerOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? DEFAULT_ANCHOR_INTERVAL_MS;
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 4);
    this.confirmTimeoutMs = opts.confirmTimeoutMs ?? 60_000;
    this.now = opts.now ?? Date.now;
    this.syncedBlock = BigInt(manifest.deploymentBlock) - 1n;
    // Heads queued before a restart and not yet confirmed count as queued.
    const open = this.inFlight().map((e) => Number(e.key.slice(KEY_PREFIX.length)));
    this.lastQueued = Math.max(publisher.latestAnchored()?.treeSize ?? 0, ...open);
  }

  /** Check every quarter interval (so the interval bound holds within 25 %). */
  start(): void {
    this.timer = setInterval(
      () => void this.tick().catch(() => undefined),
      Math.max(25, this.intervalMs / 4),
    );
    this.timer.unref();
  }

  /** Stop the timer and let a round in progress finish; its failure (e.g. the chain is down) is not the caller's. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /**
   * One round (see the module comment). `force`: anchor the current head now, whatever the
   * interval, and wait until the chain has it (and so every head before it) and it is recorded;
   * throws ChainError 'anchor-timeout' after `confirmTimeoutMs`.
   */
  async tick(force = false): Promise<void> {
    if (!force) return this.once(false);
    const target = this.publisher.log.size;
    const deadline = Date.now() + this.confirmTimeoutMs;
    for (;;) {
      // Forced until a head covering the target is queued (a full in-flight window may delay it).
      await this.once(this.lastQueued < target);
      if ((this.publisher.latestAnchored()?.treeSize ?? 0) >= target) return;
      if (Date.now() >= deadline) {
        throw new ChainError(
          'anchor-timeout',
          `the log head of size ${target} was not confirmed on chain within ${this.confirmTimeoutMs} ms; check that the chain at ${this.conn.rpcUrl} is producing blocks`,
        );
      }
      await sleep(50);
    }
  }

  private once(force: boolean): Promise<void> {
    this.running ??= this.round(force).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async round(force: boolean): Promise<void> {
    this.stats.rounds++;
    if (this.inFlight().length > 0) await this.observe();
    const waiting = this.publisher.log.size - this.lastQueued;
    const due =
      waiting > 0 &&
      this.inFlight().length < this.maxInFlight &&
      (force || waiting >= this.maxEntries || this.now() - this.lastQueuedAt >= this.intervalMs);
    if (due) {
      const head = await this.publisher.head();
      this.outbox.enqueue({
        key: anchorKey(head.treeSize),
        contract: 'AuditAnchor',
        address: this.manifest.contracts.AuditAnchor,
        functionName: 'anchor',
        args: [BigInt(head.treeSize), head.rootHash, BigInt(head.timestamp)],
        description: `anchor log head of size ${head.treeSize}`,
      });
      this.lastQueued = head.treeSize;
      this.lastQueuedAt = this.now();
      this.stats.queued++;
    }
    // Signs what is queued (this head, a relayed consent) and re-broadcasts what lingers; no RPC when neither.
    if (this.outbox.pending().length > 0) await this.outbox.submit();
  }

  /** When a block appeared since the last look: settle mined transactions and record new anchors. */
  private async observe(): Promise<void> {
    this.stats.observed++;
    const latest = await this.conn.publicClient.getBlockNumber({ cacheTime: 0 });
    if (latest <= this.syncedBlock) return;
    await this.outbox.settle();
    await this.sync(latest);
  }

  /** Anchor transactions signed or queued and not yet settled. */
  private inFlight(): OutboxEntry[] {
    return this.outbox.pending().filter(isAnchor);
  }

  /** Record every HeadAnchored event of this member not yet seen (up to block `upTo`, default the latest). */
  async sync(upTo?: bigint): Promise<void> {
    const latest = upTo ?? (await this.conn.publicClient.getBlockNumber({ cacheTime: 0 }));
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
