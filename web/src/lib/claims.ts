/**
 * The portal's claims (issue 13): the patient's claims from their ExplanationOfBenefit records (the
 * node's own reader, src/claims/claimSummary.ts, and the dispute facts, src/claims/disputeFacts.ts),
 * the patient's dispute signed here in the browser (src/chain/disputeSignature.ts) and relayed by
 * this member, and the staff views' calls: the insurer's queue, the provider's submitted claims and
 * a payment run (which an older node may not serve: then it says so).
 */
import type { ExplanationOfBenefit } from '@medplum/fhirtypes';
import type { Hex, LocalAccount } from 'viem';
import { CLAIM_STATE, type ClaimState } from '../../../src/chain/claimStates.js';
import { disputeTypedData } from '../../../src/chain/disputeSignature.js';
import { claimsAbi } from '../../../src/chain/generated/index.js';
import type { HeldClaim } from '../../../src/claims/claimQueue.js';
import { type EobSummary, eobSummary } from '../../../src/claims/claimSummary.js';
import { disputeFactsOf } from '../../../src/claims/disputeFacts.js';
import type { FraudFlag } from '../../../src/claims/model.js';
import { call } from './api.js';
import type { Chain } from './chain.js';
import type { HeldRecord } from './records.js';

/** A claim billed in the patient's name: what their EOB says, where it is held, how to dispute it. */
export interface PatientClaim extends EobSummary {
  /** The member holding the EOB (the insurer). */
  heldBy: string;
  /** The claim id and salt a dispute needs, when the EOB carries them. */
  dispute: { claimId: Hex; salt: Hex } | undefined;
}

/** The patient's claims among their records (every ExplanationOfBenefit), newest service first. */
export function patientClaimsOf(records: readonly HeldRecord[]): PatientClaim[] {
  return records
    .filter((r) => r.resource.resourceType === 'ExplanationOfBenefit')
    .map((r) => {
      const eob = r.resource as ExplanationOfBenefit;
      return { ...eobSummary(eob), heldBy: r.member, dispute: disputeFactsOf(eob) };
    })
    .sort((a, b) => (b.servicedDate ?? '').localeCompare(a.servicedDate ?? ''));
}

/**
 * A claim's record on chain (Claims.claimOf, read by the portal's own chain client): its state and
 * its dispute round (the `round` the patient's next dispute signature names); undefined before
 * the payer's first decision or without a Claims contract. Here, not in chain.ts, so the Claims ABI
 * loads only with the claims views.
 */
export async function claimRecord(
  chain: Chain,
  claimId: Hex,
): Promise<{ state: ClaimState; disputes: number } | undefined> {
  const address = chain.config.contracts.Claims;
  if (!address) return undefined;
  const c = await chain.client.readContract({
    address,
    abi: claimsAbi,
    functionName: 'claimOf',
    args: [claimId],
  });
  if (/^0x0{40}$/.test(c.payer)) return undefined;
  return { state: CLAIM_STATE[c.state] ?? 'submitted', disputes: c.disputes };
}

/** Cents as US dollars ("$1,234.50"). */
export const dollars = (cents: number): string =>
  (cents / 100).toLocaleString('en-US', { style: 'currency', currency: 'USD' });

/** Words for a state on chain. */
export const STATE_TEXT: Record<ClaimState | 'unrecorded', string> = {
  submitted: 'Submitted',
  pended: 'Pended (held for review)',
  approved: 'Approved',
  denied: 'Denied',
  disputed: 'Disputed by the patient',
  paid: 'Paid',
  appealed: 'Appealed',
  unrecorded: 'Decision not on chain yet',
};

/** Words for a fraud flag (Claims.sol / FRAUD bits). */
export const FLAG_TEXT: Record<FraudFlag, string> = {
  duplicate: 'Duplicate',
  duplicateAcrossPayers: 'Billed to another payer too',
  unbundling: 'Unbundled pair',
  unitsOverLimit: 'Units over limit',
  noEvidenceOfService: 'No evidence of service',
};

/** Whether the chain lets the patient dispute a claim in `state` (Claims.sol: pended, approved, paid). */
export const disputable = (state: ClaimState | undefined): boolean =>
  state === 'pended' || state === 'approved' || state === 'paid';

/** What the patient signs and this member relays: `POST /claims/dispute`'s body. */
export interface DisputeBody {
  claimId: Hex;
  round: number;
  deadline: string;
  salt: Hex;
  signature: Hex;
}

/**
 * Sign the EIP-712 Dispute of `claimId` for dispute round `round` with the patient's key, good
 * until `deadline` (Unix seconds, from the chain's clock).
 */
export async function signedDispute(
  account: LocalAccount,
  chain: { chainId: number; contracts: { Claims?: `0x${string}` } },
  facts: { claimId: Hex; salt: Hex },
  round: number,
  deadline: bigint,
): Promise<DisputeBody> {
  const typed = disputeTypedData(chain, { claimId: facts.claimId, round, deadline });
  const signature = await account.signTypedData(typed);
  return { claimId: facts.claimId, round, deadline: deadline.toString(), salt: facts.salt, signature };
}

/** Relay a signed dispute through this member (202: queued in its outbox). */
export function relayDispute(body: DisputeBody): Promise<{ key: string; status: string }> {
  return call(window.location.origin, '/claims/dispute', { method: 'POST', body, who: 'The dispute relay' });
}

/** A claim of the insurer's queue or the provider's submitted list, as the routes answer it. */
export type { HeldClaim } from '../../../src/claims/claimQueue.js';

const here = () => window.location.origin;

/** The insurer's queue (`GET /claims/queue`), optionally one state. */
export async function fetchQueue(token: string, state?: string): Promise<HeldClaim[]> {
  const q = state ? `?state=${encodeURIComponent(state)}` : '';
  return (
    await call<{ claims: HeldClaim[] }>(here(), `/claims/queue${q}`, { token, who: 'The claims queue' })
  ).claims;
}

/** The provider's submitted claims (`GET /claims/submitted`). */
export async function fetchSubmitted(token: string): Promise<HeldClaim[]> {
  return (
    await call<{ claims: HeldClaim[] }>(here(), '/claims/submitted', { token, who: 'Submitted claims' })
  ).claims;
}

/** What a payment run did (`POST /claims/payment-run`). */
export interface PaymentRun {
  runId: string;
  /** The claims paid (a count, or their list). */
  claims: number | unknown[];
  paidCents: number;
  files: unknown[];
  txKeys: unknown[];
  /** Said when there was nothing to pay. */
  message?: string;
}

/** Run a payment at this insurer (`POST /claims/payment-run`). */
export function runPayment(token: string): Promise<PaymentRun> {
  return call<PaymentRun>(here(), '/claims/payment-run', {
    method: 'POST',
    token,
    body: {},
    who: 'The payment run',
    timeoutMs: 120_000,
  });
}
