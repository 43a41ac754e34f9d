/**
 * What the chain says of a unit when a responder answers a verification request: its custodian
 * and status (DrugLedger `stateOf`, Recalled when its lot is) and whether its lot is recalled.
 *
 * Two sources with the same guarantee, that the answer is as of a block no older than the latest
 * block when the request arrived (so a recall mined before a pharmacist's scan is always seen):
 *
 *  - `directUnitState`: two `eth_call`s at the latest block per answer (as the responder always
 *    did). Simple, but two chain round trips per verification.
 *  - `UnitStateCache`: answers from memory, kept current from DrugLedger's events. Each read first
 *    learns the latest block number (one `eth_blockNumber`, shared by every read that arrived
 *    before it was sent), applies the events of the blocks it has not seen (`eth_getLogs`), and
 *    only then answers; a unit not in memory is read at exactly that block. The following is
 *    src/chain/eventFollower.ts, shared with the consortium cache. So it is exactly as
 *    fresh as the direct reads, with one cheap call per group of concurrent reads instead of two
 *    contract calls each.
 *
 * Invalidation is conservative where the events do not say which units changed: `UnitsTransferred`
 * and `UnitsStatusChanged` carry only a count, so either drops every cached unit; `BatchTransferred`
 * drops the cached units of its batch; `LotRecalled` drops the lot and every unit (stateOf reads
 * Recalled for each unit of it). Any other or unknown event drops everything. Commissioning and
 * prefix claims change no existing unit. Made for chains with immediate finality (Besu QBFT, the
 * embedded anvil): a chain that went back (a lower block number) empties the cache, and so does a
 * gap longer than `maxLogRange` blocks (cheaper than fetching it, and within what RPCs allow).
 *
 * A read may say when its request arrived (`since`, a mark of the node's BlockBoard,
 * src/chain/blockBoard.ts): then a block number another cache learned from a call sent after that
 * moment (the caller's Registry entry, read to authenticate the request) is fresh enough, and when
 * the events up to it are applied here already the read makes no call at all.
 */
import type { Address, Hex } from 'viem';
import { decodeEventLog } from 'viem';
import type { BlockBoard, BlockMark } from '../chain/blockBoard.js';
import type { ChainConnection } from '../chain/clients.js';
import type { DrugLedgerContract } from '../chain/contracts.js';
import { EventFollower, type FollowedCacheStats, type FollowedLog } from '../chain/eventFollower.js';
import { drugLedgerAbi } from '../chain/generated/index.js';
import type { LatestBlock } from '../chain/latestBlock.js';
import type { Commitment } from './unitCommitment.js';

/** A unit as DrugLedger names it: its commitment, its batch and its Merkle proof. */
export interface UnitRef {
  id: Commitment;
  batch: number;
  proof: readonly Hex[];
}

/** A unit's chain state: custodian, DrugLedger `Status` number, lot recall, and the block it is as of. */
export interface UnitState {
  custodian: Address;
  status: number;
  lotRecalled: boolean;
  /** The block the state is as of (undefined: the latest at the time of the calls). */
  block: bigint | undefined;
}

/** Where a responder learns a unit's chain state. */
export interface UnitChainState {
  /**
   * The state of `unit` (of lot commitment `lot`) as of a block no older than the latest one now,
   * or, given `since`, than the latest one at that mark (when the request arrived).
   */
  read(unit: UnitRef, lot: Commitment, since?: BlockMark): Promise<UnitState>;
}

/** Two contract calls at the latest block per read. */
export function directUnitState(ledger: DrugLedgerContract): UnitChainState {
  return {
    async read(unit, lot) {
      const [[custodian, status], lotRecalled] = await Promise.all([
        ledger.read.stateOf([{ id: unit.id, batch: unit.batch, proof: [...unit.proof] }]),
        ledger.read.isLotRecalled([lot]),
      ]);
      return { custodian, status, lotRecalled, block: undefined };
    },
  };
}

interface CachedUnit {
  batch: number;
  custodian: Address;
  status: number;
}

/** Counters of a cache, for tests and the benchmark. */
export type UnitStateCacheStats = FollowedCacheStats;

/** DrugLedger state in memory, kept current from its events (see the module comment). */
export class UnitStateCache implements UnitChainState {
  private readonly units = new Map<string, CachedUnit>();
  private readonly lots = new Map<string, boolean>();
  private readonly follower: EventFollower;
  readonly stats: UnitStateCacheStats;

  constructor(
    conn: ChainConnection,
    private readonly ledger: DrugLedgerContract,
    private readonly opts: {
      /** Units held at most (the oldest goes first); default 100,000. */
      maxUnits?: number;
      /**
       * Blocks of events fetched in one sync at most; after a longer quiet spell the cache starts
       * empty instead (Besu refuses eth_getLogs over more blocks than its --rpc-max-logs-range). Default 1,000.
       */
      maxLogRange?: number;
      /** How the latest block number is learned (default: eth_blockNumber over a kept-alive connection). */
      latestBlock?: LatestBlock;
      /** Where the node's caches share the block numbers they learn (see the module comment). */
      board?: BlockBoard;
    } = {},
  ) {
    this.follower = new EventFollower(
      conn,
      ledger.address,
      { apply: (log) => this.apply(log), forget: () => this.forget() },
      opts,
    );
    this.stats = this.follower.newStats();
  }

  async read(unit: UnitRef, lot: Commitment, since?: BlockMark): Promise<UnitState> {
    const learned = since === undefined ? undefined : this.opts.board?.learnedSince(since);
    // Events applied here up to exactly a block learned since the request arrived: fresh enough,
    // no call. (A lower learned block than ours means the chain went back: the call finds out.)
    const block =
      learned !== undefined && this.follower.block === learned ? learned : await this.follower.current();
    const key = unit.id.toLowerCase();
    const lotKey = lot.toLowerCase();
    const u = this.units.get(key);
    const r = this.lots.get(lotKey);
    if (u && u.batch === unit.batch && r !== undefined) {
      this.stats.hits++;
      // As of the cache's block: `block` or, if a later sync already ran, a newer one.
      return {
        custodian: u.custodian,
        status: u.status,
        lotRecalled: r,
        block: this.follower.block ?? block,
      };
    }
    this.stats.misses++;
    const at = { blockNumber: block };
    const [[custodian, status], lotRecalled] = await Promise.all([
      this.ledger.read.stateOf([{ id: unit.id, batch: unit.batch, proof: [...unit.proof] }], at),
      this.ledger.read.isLotRecalled([lot], at),
    ]);
    // Keep it only if no later block was applied meanwhile: its events may have changed this unit.
    if (this.follower.block === block) {
      if (this.units.size >= (this.opts.maxUnits ?? 100_000)) {
        const oldest = this.units.keys().next().value;
        if (oldest !== undefined) this.units.delete(oldest);
      }
      this.units.set(key, { batch: unit.batch, custodian, status });
      this.lots.set(lotKey, lotRecalled);
    }
    return { custodian, status, lotRecalled, block };
  }

  private apply(log: FollowedLog): void {
    let name: string;
    let args: Record<string, unknown>;
    try {
      const e = decodeEventLog({ abi: drugLedgerAbi, data: log.data, topics: log.topics });
      name = e.eventName;
      args = (e.args ?? {}) as Record<string, unknown>;
    } catch {
      name = 'unknown';
      args = {};
    }
    if (name === 'BatchCommissioned' || name === 'PrefixClaimed') return;
    this.stats.invalidations++;
    if (name === 'BatchTransferred') {
      const batch = Number(args.batch);
      for (const [k, u] of this.units) if (u.batch === batch) this.units.delete(k);
      return;
    }
    // UnitsTransferred, UnitsStatusChanged (no unit ids in the event), LotRecalled, anything else.
    this.units.clear();
    this.lots.clear();
  }

  private forget(): void {
    this.units.clear();
    this.lots.clear();
  }
}
