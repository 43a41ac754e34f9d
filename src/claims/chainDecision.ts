/**
 * What a payer records on chain for a decision (Claims.sol decideFirst / decideFirstBatch): the
 * state, the fraud flags and the approved amount. A claim rejected before adjudication (coverage
 * not in force) is recorded Denied with no flags: it was billed, and refused.
 */
import { type ClaimState, claimStateNumber } from '../chain/claimsView.js';
import type { Decision } from './model.js';

export interface ChainDecision {
  state: ClaimState;
  /** Claims.State number. */
  to: number;
  fraudFlags: number;
  /** Cents; 0 unless approved. */
  approved: bigint;
}

/** The on-chain decision of an adjudication result. */
export function chainDecision(d: Decision): ChainDecision {
  const state: ClaimState = d.kind === 'rejected' ? 'denied' : d.state;
  return {
    state,
    to: claimStateNumber(state),
    fraudFlags: d.kind === 'rejected' ? 0 : d.fraudFlags,
    approved: d.kind === 'adjudicated' && d.state === 'approved' ? BigInt(d.benefit) : 0n,
  };
}
