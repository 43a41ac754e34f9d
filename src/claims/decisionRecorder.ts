/**
 * The insurer's decision recorder: first decisions on claims of one provider batch, made within
 * `windowMs`, go on chain as ONE `Claims.decideFirstBatch` through the outbox, under the payer's
 * rule set (anchored once with `anchorRuleSet`, idempotent). Resolves once mined.
 */
import { type Address, type Hex, keccak256, toHex } from 'viem';
import { ChainError } from '../chain/chainError.js';
import type { ClaimLeaf } from '../chain/claimBatch.js';
import type { Outbox } from '../chain/outbox.js';
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
  private readonly open = new Map<Hex, { items: Pending[]; timer: NodeJS.Timeout }>();
  private ruleSetAnchored: Promise<void> | undefined;

  constructor(
    private readonly outbox: Pick<Outbox, 'enqueue' | 'flushUntilSettled' | 'get'>,
    private readonly claims: Address,
    /** The rule set (claimBatch.ts ruleSetId of the edit tables) every decision names. */
    private readonly ruleSet: Hex,
    private readonly windowMs = 200,
  ) {}

  /** Record the first decision on the claim `leaf` of batch `root`. */
  record(root: Hex, leaf: ClaimLeaf, proof: readonly Hex[], decision: ChainDecision): Promise<void> {
    return new Promise((resolve, reject) => {
      let group = this.open.get(root);
      if (!group) {
        group = { items: [], timer: setTimeout(() => void this.send(root), this.windowMs) };
        this.open.set(root, group);
      }
      group.items.push({ leaf, proof, decision, resolve, reject });
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
      // Until settled, not one flush: a flush already under way (the anchorer's) does not include
      // what was enqueued after it started, and `flush` joins it.
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

  private async send(root: Hex): Promise<void> {
    const group = this.open.get(root);
    if (!group) return;
    this.open.delete(root);
    const { items } = group;
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
      // Until settled, not one flush: a flush already under way (the anchorer's) does not include
      // what was enqueued after it started, and `flush` joins it.
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
