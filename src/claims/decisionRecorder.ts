/**
 * The insurer's decision recorder: first decisions on claims of one provider batch go on chain as
 * ONE `Claims.decideFirstBatch` through the outbox, under the payer's rule set (anchored once with
 * `anchorRuleSet`, idempotent). Group commit (_groupCommit.ts) per batch root: a group waits at
 * most `windowMs` while no decisions of its batch are being mined, and gathers while some are.
 * Resolves once mined.
 */
import { type Address, type Hex, keccak256, toHex } from 'viem';
import { ChainError } from '../chain/chainError.js';
import type { ClaimLeaf } from '../chain/claimBatch.js';
import type { Outbox } from '../chain/outbox.js';
import { GroupCommit } from './_groupCommit.js';
import type { ChainDecision } from './chainDecision.js';

interface Pending {
  leaf: ClaimLeaf;
  proof: readonly Hex[];
  decision: ChainDecision;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** Groups first decisions per batch root and records each group with one transaction. */
export class DecisionRecorder {
  private readonly groups: GroupCommit<Pending>;
  private ruleSetAnchored: Promise<void> | undefined;

  constructor(
    private readonly outbox: Pick<Outbox, 'enqueue' | 'flushUntilSettled' | 'get'>,
    private readonly claims: Address,
    /** The rule set (claimBatch.ts ruleSetId of the edit tables) every decision names. */
    private readonly ruleSet: Hex,
    /** The longest the decisions on a batch wait for the next one while the batch is incomplete. */
    windowMs = 30,
    /** Decisions per transaction at most (a batch holds at most ClaimBatcher's maxClaims). */
    maxItems = 100,
    /** The longest the first decision on a batch waits for the others. */
    maxWaitMs = 300,
  ) {
    this.groups = new GroupCommit((root, items) => this.send(root as Hex, items), {
      windowMs,
      maxItems,
      maxWaitMs,
    });
  }

  /**
   * Record the first decision on the claim `leaf` of batch `root`, which anchors `batchClaims`
   * claims (its record on chain; 0 when unknown: the decisions then go as decisions arrive).
   */
  record(
    root: Hex,
    leaf: ClaimLeaf,
    proof: readonly Hex[],
    decision: ChainDecision,
    batchClaims = 0,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      this.groups.add(root, { leaf, proof, decision, resolve, reject }, batchClaims);
    });
  }

  /**
   * Anchor the rule set once, mined before any decision is sent: the outbox estimates each
   * transaction when it signs it, and a decision under a rule set not yet on chain reverts.
   */
  private ensureRuleSet(): Promise<void> {
    this.ruleSetAnchored ??= (async () => {
      const key = `claims-rule-set:${this.ruleSet}`;
      this.outbox.enqueue({
        key,
        contract: 'Claims',
        address: this.claims,
        functionName: 'anchorRuleSet',
        args: [this.ruleSet],
        description: 'anchor the claims rule set (edit tables)',
      });
      const entry = await this.outbox.flushUntilSettled(key);
      if (entry?.status !== 'confirmed') {
        this.ruleSetAnchored = undefined;
        throw new ChainError(
          'claims-rule-set-not-anchored',
          `the rule set is not on chain: ${entry?.error ?? entry?.status}`,
        );
      }
    })();
    return this.ruleSetAnchored;
  }

  private async send(root: Hex, items: Pending[]): Promise<void> {
    try {
      await this.ensureRuleSet();
      const key = `claims-decisions:${root}:${keccak256(toHex(items.map((i) => i.leaf.claimId).join(',')))}`;
      this.outbox.enqueue({
        key,
        contract: 'Claims',
        address: this.claims,
        functionName: 'decideFirstBatch',
        args: [
          root,
          items.map((i) => ({
            leaf: i.leaf,
            proof: i.proof,
            to: i.decision.to,
            fraudFlags: i.decision.fraudFlags,
            approved: i.decision.approved,
          })),
          this.ruleSet,
        ],
        description: `claims decisions: ${items.length}`,
      });
      // Until THIS entry settles (a flush already running may predate it: see ClaimBatcher).
      const entry = await this.outbox.flushUntilSettled(key);
      if (entry?.status !== 'confirmed') {
        throw new ChainError(
          'claims-decision-not-recorded',
          entry?.status === 'failed'
            ? `the Claims contract refused the decisions: ${entry.error ?? 'reverted'}`
            : 'the decisions are not mined yet; the outbox keeps sending them',
        );
      }
      for (const i of items) i.resolve();
    } catch (err) {
      for (const i of items) i.reject(err);
    }
  }
}
