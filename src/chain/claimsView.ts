/**
 * A member node's reads of contracts/Claims.sol and of the anchored heads claims evidence needs:
 * whether a line commitment is held by another payer, a batch, a claim's record, a provider's
 * pinned line-key hash, and an anchored log head with its time. Standard eth_call only; a chain that does not answer is a
 * ChainUnavailableError, never a silent "no".
 */
import type { Address, Hex } from 'viem';
import { ChainUnavailableError } from '../errors.js';
import { CLAIM_STATE, type ClaimState } from './claimStates.js';
import type { ChainConnection } from './clients.js';
import { isChainDown } from './consortium.js';
import { claimsContract, consortiumContracts } from './contracts.js';
import type { DeploymentManifest } from './manifest.js';

// Claims.State names live in claimStates.ts (shared with the portal); re-exported for callers here.
export { CLAIM_STATE, type ClaimState, claimStateNumber } from './claimStates.js';

export interface ClaimBatchRecord {
  provider: Address;
  payer: Address;
  claimCount: number;
  /** Unix seconds; 0 when no such batch. */
  submittedAt: number;
}

export interface ClaimRecordView {
  state: ClaimState;
  fraudFlags: number;
  provider: Address;
  payer: Address;
  billed: bigint;
  approved: bigint;
  ruleSet: Hex;
  /** Disputes so far: the `round` the patient's next dispute signature must name. */
  disputes: number;
}

export interface AnchoredHeadView {
  treeSize: number;
  rootHash: Hex;
  /** When the head was anchored (block time, ms since the epoch). */
  anchoredAt: number;
}

export interface ClaimsView {
  address: Address;
  /** Whether `provider` sent line `commitment` to a payer other than `payer` (its own batches only). */
  heldByOtherPayer(provider: Address, commitment: Hex, payer: Address): Promise<boolean>;
  /** Whether a batch of `provider` committed line `commitment`. */
  isCommitted(provider: Address, commitment: Hex): Promise<boolean>;
  batchOf(root: Hex): Promise<ClaimBatchRecord>;
  /** The claim's record, or undefined before the payer's first decision. */
  claimOf(claimId: Hex): Promise<ClaimRecordView | undefined>;
  ruleSetAnchored(payer: Address, ruleSet: Hex): Promise<boolean>;
  /** The hash of `provider`'s line-commitment key it pinned (zero when none; final once set). */
  lineKeyOf(provider: Address): Promise<Hex>;
  /** The head `member` anchored at exactly `treeSize`, timed by its block; undefined when none. */
  anchoredHead(member: Address, treeSize: number): Promise<AnchoredHeadView | undefined>;
}

async function reading<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    throw isChainDown(err) ? new ChainUnavailableError(err) : err;
  }
}

/** The Claims view of a deployment (throws ChainError `claims-not-deployed` when it has none). */
export function chainClaims(conn: ChainConnection, manifest: DeploymentManifest): ClaimsView {
  const claims = claimsContract(conn, manifest);
  const anchor = consortiumContracts(conn, manifest).auditAnchor;
  return {
    address: claims.address,
    heldByOtherPayer: (provider, c, payer) =>
      reading(() => claims.read.heldByOtherPayer([provider, c, payer])),
    isCommitted: (provider, c) => reading(() => claims.read.isCommitted([provider, c])),
    batchOf: (root) =>
      reading(async () => {
        const b = await claims.read.batchOf([root]);
        return {
          provider: b.provider,
          payer: b.payer,
          claimCount: b.claimCount,
          submittedAt: Number(b.submittedAt),
        };
      }),
    claimOf: (id) =>
      reading(async () => {
        const c = await claims.read.claimOf([id]);
        if (c.payer === '0x0000000000000000000000000000000000000000') return undefined;
        return {
          state: CLAIM_STATE[c.state] as ClaimState,
          fraudFlags: c.fraudFlags,
          provider: c.provider,
          payer: c.payer,
          billed: c.billed,
          approved: c.approved,
          ruleSet: c.ruleSet,
          disputes: c.disputes,
        };
      }),
    ruleSetAnchored: (payer, rs) =>
      reading(async () => (await claims.read.ruleSetAnchoredAt([payer, rs])) > 0n),
    lineKeyOf: (provider) => reading(() => claims.read.lineKeyOf([provider])),
    anchoredHead: (member, treeSize) =>
      reading(async () => {
        // Anchored sizes strictly increase: binary search over the member's heads.
        let lo = 0;
        let hi = Number(await anchor.read.headCount([member])) - 1;
        while (lo <= hi) {
          const mid = (lo + hi) >> 1;
          const h = await anchor.read.headAt([member, BigInt(mid)]);
          const size = Number(h.treeSize);
          if (size === treeSize) {
            // The block's time, not the member's own head timestamp: the chain vouches for it.
            const block = await conn.publicClient.getBlock({ blockNumber: h.blockNumber });
            return { treeSize: size, rootHash: h.rootHash, anchoredAt: Number(block.timestamp) * 1000 };
          }
          if (size < treeSize) lo = mid + 1;
          else hi = mid - 1;
        }
        return undefined;
      }),
  };
}
