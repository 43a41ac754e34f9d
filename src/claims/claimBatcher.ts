/**
 * The provider's claim batcher: claims to one payer go on chain as ONE `Claims.submitBatch`
 * through the outbox (durable, idempotent by the batch root), so chain cost does not grow one
 * transaction per claim. Group commit (_groupCommit.ts): a batch waits at most `windowMs` while
 * no batch to its payer is being mined; while one is, the next gathers and goes when it is mined
 * (or at `maxClaims`). Each caller gets its claim's batch root and Merkle proof once the batch is
 * mined, or the outbox's refusal.
 */
import type { Address, Hex } from 'viem';
import { ChainError } from '../chain/chainError.js';
import { buildClaimBatch, type ClaimLeaf } from '../chain/claimBatch.js';
import type { Outbox } from '../chain/outbox.js';
import { GroupCommit } from './_groupCommit.js';

export interface BatchedClaim {
  root: Hex;
  proof: Hex[];
}

export interface ClaimBatcherOptions {
  /** The longest the first claim of a batch waits for others while no batch is being mined. Default 10 ms. */
  windowMs?: number;
  /** A batch is sent as soon as it holds this many claims. Default 100. */
  maxClaims?: number;
  /**
   * Awaited before each batch is sent: the provider's line-key registration (lineKey.ts
   * LineKeyRegistrar.ensure), mined first, since Claims refuses batches from a provider with none.
   */
  beforeBatch?: () => Promise<void>;
}

interface Pending {
  leaf: ClaimLeaf;
  commitments: readonly Hex[];
  resolve: (b: BatchedClaim) => void;
  reject: (e: unknown) => void;
}

/** Collects claims per payer and anchors each batch with one transaction. */
export class ClaimBatcher {
  private readonly groups: GroupCommit<Pending>;
  private readonly beforeBatch: () => Promise<void>;

  constructor(
    private readonly outbox: Pick<Outbox, 'enqueue' | 'flushUntilSettled' | 'get'>,
    /** The Claims contract address. */
    private readonly claims: Address,
    opts: ClaimBatcherOptions = {},
  ) {
    this.beforeBatch = opts.beforeBatch ?? (async () => undefined);
    this.groups = new GroupCommit((_payer, claims) => this.send(claims), {
      windowMs: opts.windowMs ?? 10,
      maxItems: opts.maxClaims ?? 100,
    });
  }

  /** Add a claim (its leaf and line commitments in sequence order); resolves once its batch is mined. */
  submit(leaf: ClaimLeaf, commitments: readonly Hex[]): Promise<BatchedClaim> {
    return new Promise((resolve, reject) => {
      this.groups.add(leaf.payer.toLowerCase(), { leaf, commitments, resolve, reject });
    });
  }

  private async send(claims: Pending[]): Promise<void> {
    try {
      await this.beforeBatch();
      const built = buildClaimBatch(claims.map((c) => c.leaf));
      const key = `claims-batch:${built.root}`;
      this.outbox.enqueue({
        key,
        contract: 'Claims',
        address: this.claims,
        functionName: 'submitBatch',
        args: [claims[0]?.leaf.payer, built.root, claims.length, claims.flatMap((c) => [...c.commitments])],
        description: `claims batch of ${claims.length}`,
      });
      // Until THIS entry settles: a flush already running (another batch, an anchor) may have
      // started before it was enqueued, and sharing that one would leave it unsent.
      const entry = await this.outbox.flushUntilSettled(key);
      if (entry?.status !== 'confirmed') {
        throw new ChainError(
          'claims-batch-not-anchored',
          entry?.status === 'failed'
            ? `the Claims contract refused the batch: ${entry.error ?? 'reverted'}`
            : 'the claims batch is not mined yet; the outbox keeps sending it',
        );
      }
      for (const c of claims) c.resolve({ root: built.root, proof: built.proofs.get(c.leaf.claimId) ?? [] });
    } catch (err) {
      for (const c of claims) c.reject(err);
    }
  }
}
