/**
 * The consortium view from memory, kept current from Registry and Consent events, with the same
 * guarantee as reading the contracts: every answer is as of a block no older than the latest block
 * when the read began, so a consent revoked (or a member removed) in a mined block is seen by the
 * next read at once. The scheme of src/chain/eventFollower.ts, shared with src/supply/unitChainState.ts:
 *
 *   each read first learns the latest block number (one `eth_blockNumber`, shared by the reads
 *   that began before it was sent: those of one request begin in the same turn), applies the events of the blocks not yet seen (`eth_getLogs`
 *   over both contracts), and only then answers: from memory, or for what is not held, by a
 *   contract read at exactly that block (kept only if no later block was applied meanwhile).
 *
 * Invalidation is by event: `ConsentGranted` / `ConsentRevoked` drop the (patient, grantee) they
 * name; any Registry event (admission, removal, endpoint or key change, a governed role change,
 * proposals) drops every member; a log that does not decode drops everything. Made for chains with
 * immediate finality (Besu QBFT, the embedded anvil): a chain that went back (a lower block
 * number), a gap longer than `maxLogRange` blocks, or a failed sync empties the cache.
 *
 * `activeMembers` and `latestHead` are read from the chain each time (they are not on the
 * per-answer path). A cached `MemberInfo` is shared between callers: do not mutate it.
 */
import { type Address, decodeEventLog } from 'viem';
import type { BlockBoard } from './blockBoard.js';
import type { ChainConnection } from './clients.js';
import type { GrantTerms } from './consentModel.js';
import {
  type ConsortiumView,
  chainConsortium,
  type MemberInfo,
  readGrant,
  readMember,
} from './consortium.js';
import { consortiumContracts } from './contracts.js';
import { EventFollower, type FollowedCacheStats, type FollowedLog } from './eventFollower.js';
import { consentAbi } from './generated/index.js';
import type { LatestBlock } from './latestBlock.js';
import type { DeploymentManifest } from './manifest.js';

/** Counters of a cache, for tests and the benchmark. */
export type ConsortiumCacheStats = FollowedCacheStats;

export interface ConsortiumCacheOptions {
  /** How the latest block number is learned (default: eth_blockNumber over a kept-alive connection). */
  latestBlock?: LatestBlock;
  /** Members and grants held at most, each (the oldest goes first); default 100,000. */
  maxEntries?: number;
  /** Blocks of events fetched in one sync at most; after a longer quiet spell the cache starts empty. Default 1,000. */
  maxLogRange?: number;
  /** Where the node's caches share the block numbers they learn (src/chain/blockBoard.ts). */
  board?: BlockBoard;
}

const pairKey = (patient: string, grantee: string) => `${patient.toLowerCase()}|${grantee.toLowerCase()}`;

/** Registry members and Consent grants in memory, as fresh as contract reads (see the module comment). */
export class ConsortiumCache implements ConsortiumView {
  private readonly members = new Map<string, MemberInfo>();
  private readonly grants = new Map<string, { grant: GrantTerms | undefined }>();
  private readonly contracts: ReturnType<typeof consortiumContracts>;
  private readonly direct: ConsortiumView;
  private readonly follower: EventFollower;
  readonly stats: ConsortiumCacheStats;

  constructor(
    conn: ChainConnection,
    manifest: DeploymentManifest,
    private readonly opts: ConsortiumCacheOptions = {},
  ) {
    this.contracts = consortiumContracts(conn, manifest);
    this.direct = chainConsortium(conn, manifest);
    this.follower = new EventFollower(
      conn,
      [this.contracts.registry.address, this.contracts.consent.address],
      { apply: (log) => this.apply(log), forget: () => this.forget() },
      opts,
    );
    this.stats = this.follower.newStats();
  }

  // Arrow properties: callers pass `consortium.member` around detached, as with chainConsortium's view.
  readonly member = async (address: Address): Promise<MemberInfo> => {
    const block = await this.follower.current();
    const key = address.toLowerCase();
    const hit = this.members.get(key);
    if (hit) {
      this.stats.hits++;
      return hit;
    }
    this.stats.misses++;
    const m = await readMember(this.contracts, address, block);
    if (this.follower.block === block) this.keep(this.members, key, m);
    return m;
  };

  readonly grantOf = async (patient: Address, grantee: Address): Promise<GrantTerms | undefined> => {
    const block = await this.follower.current();
    const key = pairKey(patient, grantee);
    const hit = this.grants.get(key);
    if (hit) {
      this.stats.hits++;
      return hit.grant;
    }
    this.stats.misses++;
    const grant = await readGrant(this.contracts, patient, grantee, block);
    if (this.follower.block === block) this.keep(this.grants, key, { grant });
    return grant;
  };

  readonly activeMembers = (): Promise<MemberInfo[]> => this.direct.activeMembers();

  readonly latestHead = (member: Address): Promise<{ treeSize: number; rootHash: `0x${string}` }> =>
    this.direct.latestHead(member);

  private keep<V>(map: Map<string, V>, key: string, value: V): void {
    if (map.size >= (this.opts.maxEntries ?? 100_000)) {
      const oldest = map.keys().next().value;
      if (oldest !== undefined) map.delete(oldest);
    }
    map.set(key, value);
  }

  private apply(log: FollowedLog): void {
    this.stats.invalidations++;
    if (log.address.toLowerCase() === this.contracts.registry.address.toLowerCase()) {
      this.members.clear();
      return;
    }
    try {
      const e = decodeEventLog({ abi: consentAbi, data: log.data, topics: log.topics });
      if (e.eventName === 'ConsentGranted' || e.eventName === 'ConsentRevoked') {
        this.grants.delete(pairKey(e.args.patient, e.args.grantee));
        return;
      }
    } catch {
      // Not an event this cache knows: drop everything below.
    }
    this.members.clear();
    this.grants.clear();
  }

  private forget(): void {
    this.members.clear();
    this.grants.clear();
  }
}
