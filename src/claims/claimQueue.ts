/**
 * The claims a member holds, as its billing staff see them (issue 13, docs/claims.md "Portal
 * views"): the insurer's queue (the Claims submitted to it, each with its ClaimResponse and the
 * chain's record: state, fraud flags, approved amount, payment) and the provider's submitted
 * claims (its own Claims with the insurer's ClaimResponse and the chain's state, no fraud flags:
 * those are the payer's). The documents are read through the gatekeeper (every record logged
 * before anything is answered); the chain is the authority on state and payment.
 */
import type { Claim, ClaimResponse } from '@medplum/fhirtypes';
import type { Address, Hex } from 'viem';
import type { Actor, Gatekeeper } from '../access/gatekeeper.js';
import { CLAIM_STATE, type ClaimRecordView, type ClaimState, type ClaimsView } from '../chain/claimsView.js';
import { InvalidInputError } from '../errors.js';
import type { ResourceType } from '../fhir/resourceTypes.js';
import { MAX_COUNT, parseSearch } from '../fhir/search.js';
import { CARC_SYSTEM } from './carc.js';
import { claimIdOf } from './claimDocuments.js';
import { centsOf, fraudFlagNames, type LineDecision, lineDecision } from './claimSummary.js';
import type { FraudFlag } from './model.js';

/** Where a claim stands on chain; `unrecorded` while the payer's first decision is not mined. */
export type QueueState = ClaimState | 'unrecorded';
export const QUEUE_STATES: readonly QueueState[] = [...CLAIM_STATE, 'unrecorded'];

/** What a held claim is for payment: paid on chain, approved and not paid yet, or not payable. */
export type PaymentStatus = 'paid' | 'awaiting-payment' | 'not-payable';

/** One claim of the queue (or of the provider's submitted list). */
export interface HeldClaim {
  /** The on-chain claim id. */
  claimId: Hex;
  /** The FHIR id of its documents here. */
  id: string;
  provider: string | null;
  insurer: string | null;
  /** The patient's chain address only (never a name). */
  patient: string | null;
  /** YYYY-MM-DD, the earliest date of service of its lines. */
  servicedDate: string | null;
  created: string | null;
  billedCents: number;
  /** The approved amount on chain (cents), 0 until approved. */
  approvedCents: number;
  state: QueueState;
  /** Fraud flags on chain by name (the insurer's queue only). */
  fraudFlags?: FraudFlag[];
  /** The ClaimResponse outcome (error: rejected before adjudication). */
  outcome: string | null;
  disposition: string | null;
  /** Why a claim was rejected before adjudication (CARC and text). */
  rejection: { carc: string; text: string } | null;
  lines: (LineDecision & { code: string; servicedDate: string | null })[];
  payment: PaymentStatus;
}

export interface ClaimViewDeps {
  gate: Gatekeeper;
  chain: Pick<ClaimsView, 'claimOf'>;
  /** This member's account. */
  self: Address;
}

/** The state filter of `GET /claims/queue?state=`, checked where it enters. */
export function parseStateFilter(raw: unknown): QueueState | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !(QUEUE_STATES as readonly string[]).includes(raw))
    throw new InvalidInputError(`state must be one of ${QUEUE_STATES.join(', ')}`);
  return raw as QueueState;
}

async function all<T>(gate: Gatekeeper, actor: Actor, type: ResourceType): Promise<T[]> {
  const query = { _count: String(MAX_COUNT) };
  const found = await gate.search(actor, parseSearch(type, query), gate.queryHash(type, query));
  return found.resources as unknown as T[];
}

const memberOf = (r: Claim['provider'] | undefined): string | null =>
  r?.identifier?.system === 'urn:medchain:member' ? (r.identifier.value ?? null) : null;
const same = (a: string | null, b: string) => a !== null && a.toLowerCase() === b.toLowerCase();

const paymentOf = (state: QueueState): PaymentStatus =>
  state === 'paid' ? 'paid' : state === 'approved' ? 'awaiting-payment' : 'not-payable';

/** One claim's view from its Claim, ClaimResponse (if any) and chain record (if any). */
export function heldClaim(
  claim: Claim,
  response: ClaimResponse | undefined,
  record: ClaimRecordView | undefined,
  withFlags: boolean,
): HeldClaim {
  const claimId = claimIdOf(claim) as Hex;
  const decided = new Map((response?.item ?? []).map((i) => [i.itemSequence, i.adjudication ?? []]));
  const lines = (claim.item ?? []).map((item) => ({
    ...lineDecision(item.sequence, decided.get(item.sequence) ?? []),
    submittedCents: centsOf(item.net),
    code: item.productOrService?.coding?.[0]?.code ?? '',
    servicedDate: item.servicedDate ?? null,
  }));
  const dates = lines.flatMap((l) => (l.servicedDate ? [l.servicedDate] : [])).sort();
  const err = response?.error?.[0]?.code;
  const state: QueueState = record?.state ?? 'unrecorded';
  return {
    claimId,
    id: claim.id ?? '',
    provider: memberOf(claim.provider),
    insurer: memberOf(claim.insurer),
    patient: claim.patient?.identifier?.value ?? null,
    servicedDate: dates[0] ?? null,
    created: claim.created ?? null,
    billedCents: centsOf(claim.total),
    approvedCents: Number(record?.approved ?? 0n),
    state,
    ...(withFlags ? { fraudFlags: fraudFlagNames(record?.fraudFlags ?? 0) } : {}),
    outcome: response?.outcome ?? null,
    disposition: response?.disposition ?? null,
    rejection: err
      ? { carc: err.coding?.find((c) => c.system === CARC_SYSTEM)?.code ?? '', text: err.text ?? '' }
      : null,
    lines,
    payment: paymentOf(state),
  };
}

/** The held claims `keep` selects (by insurer or provider), joined with responses and chain, newest first. */
async function heldClaims(
  deps: ClaimViewDeps,
  actor: Actor,
  keep: (c: Claim) => boolean,
  withFlags: boolean,
): Promise<HeldClaim[]> {
  const claims = (await all<Claim>(deps.gate, actor, 'Claim')).filter((c) => claimIdOf(c) && keep(c));
  const responses = await all<ClaimResponse>(deps.gate, actor, 'ClaimResponse');
  const byId = new Map(responses.map((r) => [claimIdOf(r), r]));
  const out = await Promise.all(
    claims.map(async (c) => {
      const id = claimIdOf(c) as Hex;
      return heldClaim(c, byId.get(id), await deps.chain.claimOf(id), withFlags);
    }),
  );
  return out.sort((a, b) => (b.created ?? '').localeCompare(a.created ?? ''));
}

/**
 * The insurer's queue: every Claim submitted to this member (its copies, `insurer` = self), newest
 * first, optionally only those in `state`. Read as `actor` under the purpose payment.
 */
export async function claimQueue(
  deps: ClaimViewDeps,
  actor: Actor,
  state?: QueueState,
): Promise<{ claims: HeldClaim[] }> {
  const claims = await heldClaims(deps, actor, (c) => same(memberOf(c.insurer), deps.self), true);
  return { claims: state ? claims.filter((c) => c.state === state) : claims };
}

/** The provider's submitted claims (`provider` = self, with an on-chain id), newest first. */
export async function submittedClaims(deps: ClaimViewDeps, actor: Actor): Promise<{ claims: HeldClaim[] }> {
  return { claims: await heldClaims(deps, actor, (c) => same(memberOf(c.provider), deps.self), false) };
}
