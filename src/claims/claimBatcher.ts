/**
 * The provider's claim batcher: claims submitted within `windowMs` (or until `maxClaims`) to one
 * payer go on chain as ONE `Claims.submitBatch` through the outbox (durable, idempotent by the
 * batch root), so chain cost does not grow one transaction per claim. Each caller gets its
 * claim's batch root and Merkle proof once the batch is mined, or the outbox's refusal.
 */
import type { Address, Hex } from 'viem';
import { ChainError } from '../chain/chainError.js';
import { buildClaimBatch, type ClaimLeaf } from '../chain/claimBatch.js';
import type { Outbox } from '../chain/outbox.js';

export interface BatchedClaim {
  root: Hex;
  proof: Hex[];
}

export interface ClaimBatcherOptions {
  /** How long the first claim of a batch waits for others. Default 200 ms. */
  windowMs?: number;
  /** A batch is sent as soon as it holds this many claims. Default 100. */
  maxClaims?: number;
}

interface Pending {
  leaf: ClaimLeaf;
  commitments: readonly Hex[];
  resolve: (b: BatchedClaim) => void;
  reject: (e: unknown) => void;
}

/** Collects claims per payer and anchors each batch with one transaction. */
export class ClaimBatcher {
  private readonly open = new Map<string, { claims: Pending[]; timer: NodeJS.Timeout }>();
  private readonly windowMs: number;
  private readonly maxClaims: number;

  constructor(
    private readonly outbox: Pick<Outbox, 'enqueue' | 'flushUntilSettled' | 'get'>,
    /** The Claims contract address. */
    private readonly claims: Address,
    opts: ClaimBatcherOptions = {},
  ) {
    this.windowMs = opts.windowMs ?? 200;
    this.maxClaims = opts.maxClaims ?? 100;
  }

  /** Add a claim (its leaf and line commitments in sequence order); resolves once its batch is mined. */
  submit(leaf: ClaimLeaf, commitments: readonly Hex[]): Promise<BatchedClaim> {
    return new Promise((resolve, reject) => {
      const payer = leaf.payer.toLowerCase();
      let batch = this.open.get(payer);
      if (!batch) {
        batch = { claims: [], timer: setTimeout(() => void this.send(payer), this.windowMs) };
        this.open.set(payer, batch);
      }
      batch.claims.push({ leaf, commitments, resolve, reject });
      if (batch.claims.length >= this.maxClaims) void this.send(payer);
    });
  }

  private async send(payer: string): Promise<void> {
    const batch = this.open.get(payer);
    if (!batch) return;
    this.open.delete(payer);
    clearTimeout(batch.timer);
    const { claims } = batch;
    try {
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
      // Until settled, not one flush: a flush already under way (the anchorer's) does not include
      // what was enqueued after it started, and `flush` joins it.
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
