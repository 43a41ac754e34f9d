/**
 * The claim documents as each member stores them (issue 13), pure functions over FHIR R4:
 *
 * - the Claim out of a `Claim/$submit` body (a Claim, or a Bundle holding one as in Da Vinci PAS);
 * - the on-chain claim id as an identifier (`urn:medchain:claim`) on the Claim, ClaimResponse and
 *   ExplanationOfBenefit, so each member finds them by it and a second submission is recognized;
 * - the insurer's copies: references to the provider's records (`Encounter/enc-1`) become absolute
 *   (`urn:medchain:member:<provider>/Encounter/enc-1`, the same naming as `meta.source` of records
 *   sent between members), the patient and the Coverage the insurer's own;
 * - the dispute facts the patient needs later (the on-chain claim id and the salt of the patient
 *   commitment) as an extension of the EOB the insurer keeps linked to its enrolled Patient;
 * - the lines a payer already holds (approved or pended), rebuilt from its stored Claim and
 *   ClaimResponse, for the duplicate, PTP and MUE rules.
 */
import type { Bundle, Claim, ClaimResponse, Identifier, Patient, Reference } from '@medplum/fhirtypes';
import { type Address, getAddress, type Hex, isAddress } from 'viem';
import { PATIENT_ADDRESS_SYSTEM } from '../fhir/resourceTypes.js';
import { DISCRIMINATOR_SYSTEM, MEDCHAIN_ADJUDICATION_SYSTEM } from './claimResponse.js';
import { ClaimMalformedError } from './claimsError.js';
import { HCPCS_SYSTEMS, SYNTHETIC_PROCEDURE_SYSTEM } from './fhirClaim.js';
import type { PriorLine } from './model.js';

const PROCEDURE_SYSTEMS = new Set([...HCPCS_SYSTEMS, SYNTHETIC_PROCEDURE_SYSTEM]);

/** Identifier system of a claim's on-chain id (Claims.sol claimId, 0x + 64 hex digits). */
export const CLAIM_ID_SYSTEM = 'urn:medchain:claim';
/**
 * Identifier system, on the insurer's copy, of the provider's own Claim id (the copy is stored
 * under the on-chain id): the 835's CLP01 (patient control number) is the provider's id.
 */
export const PROVIDER_CLAIM_SYSTEM = 'urn:medchain:provider-claim';
// The dispute facts on the patient's EOB live in disputeFacts.ts (free of Node and validator
// imports, so the portal reads them with the same code); re-exported here for the node's callers.
export { DISPUTE_EXTENSION, disputeExtension, disputeFactsOf } from './disputeFacts.js';

const MEMBER_SYSTEM = 'urn:medchain:member';
const LOCAL = /^([A-Z][A-Za-z]{1,63})\/([A-Za-z0-9\-.]{1,64})$/;
const CLAIM_ID = /^0x[0-9a-f]{64}$/;

/** The FHIR id each member stores a submitted claim's documents under: the on-chain id without 0x. */
export const documentId = (claimId: Hex): string => claimId.slice(2);

/** The Claim of a `$submit` body: the Claim itself, or the first Claim entry of a Bundle (PAS). */
export function claimOfSubmitBody(body: unknown): Claim {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ClaimMalformedError('Claim', 'send a Claim, or a Bundle holding one');
  const r = body as { resourceType?: unknown };
  if (r.resourceType === 'Claim') return body as Claim;
  if (r.resourceType !== 'Bundle')
    throw new ClaimMalformedError('resourceType', 'must be "Claim" or a "Bundle" holding one (Da Vinci PAS)');
  const entries = (body as Bundle).entry;
  if (!Array.isArray(entries)) throw new ClaimMalformedError('Bundle.entry', 'the Bundle holds no Claim');
  const claims = entries.filter((e) => e?.resource?.resourceType === 'Claim');
  if (claims.length !== 1)
    throw new ClaimMalformedError(
      'Bundle.entry',
      `the Bundle must hold exactly one Claim (found ${claims.length})`,
    );
  return claims[0]?.resource as Claim;
}

/** The on-chain claim id a stored document carries, if any. */
export function claimIdOf(r: { identifier?: Identifier[] | Identifier }): Hex | undefined {
  const ids = Array.isArray(r.identifier) ? r.identifier : r.identifier ? [r.identifier] : [];
  const v = ids.find((i) => i.system === CLAIM_ID_SYSTEM)?.value;
  return typeof v === 'string' && CLAIM_ID.test(v) ? (v as Hex) : undefined;
}

/** `identifiers` with the on-chain claim id added (replacing any other value of that system). */
export function withClaimId(identifiers: readonly Identifier[] | undefined, claimId: Hex): Identifier[] {
  return [
    ...(identifiers ?? []).filter((i) => i.system !== CLAIM_ID_SYSTEM),
    { system: CLAIM_ID_SYSTEM, value: claimId },
  ];
}

/** The patient reference a member stores: its own Patient, with the chain address as identifier. */
export const patientReference = (patientId: string, patient: Address): Reference<Patient> => ({
  reference: `Patient/${patientId}`,
  identifier: { system: PATIENT_ADDRESS_SYSTEM, value: patient },
});

/** The prefix of an absolute reference to a record held by member `provider`. */
export const memberPrefix = (provider: Address): string => `urn:medchain:member:${getAddress(provider)}/`;

/** Every local `Type/id` reference in `value` made absolute at `provider` (a deep copy). */
function absolute<T>(value: T, prefix: string): T {
  if (Array.isArray(value)) return value.map((v) => absolute(v, prefix)) as T;
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      k === 'reference' && typeof v === 'string' && LOCAL.test(v) ? `${prefix}${v}` : absolute(v, prefix);
  }
  return out as T;
}

/**
 * The insurer's copy of a submitted Claim: stored under `documentId(claimId)` with the claim id as
 * identifier, its patient the insurer's enrolled Patient, its insurance the insurer's own Coverage
 * (when it holds one), every other reference pointing back at the provider's records.
 */
export function insurerClaimCopy(
  submitted: Claim,
  o: { claimId: Hex; provider: Address; patientId: string; patient: Address; coverageId?: string },
): Claim {
  const { meta: _meta, ...rest } = submitted;
  const copy = absolute(rest as Claim, memberPrefix(o.provider));
  return {
    ...copy,
    id: documentId(o.claimId),
    identifier: [
      ...withClaimId(copy.identifier, o.claimId).filter((i) => i.system !== PROVIDER_CLAIM_SYSTEM),
      ...(submitted.id ? [{ system: PROVIDER_CLAIM_SYSTEM, value: submitted.id }] : []),
    ],
    patient: patientReference(o.patientId, o.patient),
    insurance: (copy.insurance ?? []).map((i) =>
      o.coverageId && i.focal ? { ...i, coverage: { reference: `Coverage/${o.coverageId}` } } : i,
    ),
  };
}

/**
 * The submitted Claim back from the insurer's copy (references to the provider's records local
 * again, its id the provider's when the copy names it), as `parseClaim` takes it: for a payment
 * run rebuilding the `ClaimInput` of an 835.
 */
export function submittedClaimOf(copy: Claim, provider: Address): Claim {
  const providerId = copy.identifier?.find((i) => i.system === PROVIDER_CLAIM_SYSTEM)?.value;
  const prefix = memberPrefix(provider);
  const local = <T>(value: T): T => {
    if (Array.isArray(value)) return value.map(local) as T;
    if (typeof value !== 'object' || value === null) return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      out[k] =
        k === 'reference' && typeof v === 'string' && v.startsWith(prefix)
          ? v.slice(prefix.length)
          : local(v);
    return out as T;
  };
  const back = local(copy);
  if (!providerId) return back;
  return {
    ...back,
    id: providerId,
    identifier: (back.identifier ?? []).filter((i) => i.system !== PROVIDER_CLAIM_SYSTEM),
  };
}

/** Whether a ClaimResponse item was denied (a denial reason) or pended (medchain's pended category). */
function itemStatus(adjudication: NonNullable<NonNullable<ClaimResponse['item']>[number]['adjudication']>) {
  const codes = adjudication.flatMap((a) => a.category?.coding ?? []);
  if (codes.some((c) => c.system === DISCRIMINATOR_SYSTEM && c.code === 'denialreason')) return 'denied';
  if (codes.some((c) => c.system === MEDCHAIN_ADJUDICATION_SYSTEM && c.code === 'pended')) return 'pended';
  return 'approved';
}

const memberOf = (r: Reference | undefined): Address | undefined => {
  const v = r?.identifier?.system === MEMBER_SYSTEM ? r.identifier.value : undefined;
  return v && isAddress(v, { strict: false }) ? getAddress(v) : undefined;
};

/**
 * The lines of a claim this payer holds (approved or pended: a denied line is not a service the
 * payer accepted), from its stored Claim and the ClaimResponse it answered; none when the claim
 * was rejected before adjudication.
 */
export function priorLinesOf(claim: Claim, response: ClaimResponse): PriorLine[] {
  if (response.outcome === 'error') return [];
  const patient = claim.patient?.identifier?.value;
  const provider = memberOf(claim.provider);
  if (!patient || !isAddress(patient, { strict: false }) || !provider) return [];
  const status = new Map(
    (response.item ?? []).map((i) => [i.itemSequence, itemStatus(i.adjudication ?? [])]),
  );
  return (claim.item ?? []).flatMap((item): PriorLine[] => {
    const s = status.get(item.sequence);
    if (s !== 'approved' && s !== 'pended') return [];
    const code = item.productOrService.coding?.find((c) => c.system && PROCEDURE_SYSTEMS.has(c.system))?.code;
    if (!code || !item.servicedDate) return [];
    return [
      {
        claimId: claim.id ?? '',
        sequence: item.sequence,
        patient: getAddress(patient),
        provider,
        servicedDate: item.servicedDate,
        code,
        modifiers: (item.modifier ?? []).map((m) => m.coding?.[0]?.code ?? ''),
        quantity: item.quantity?.value ?? 0,
        net: Math.round((item.net?.value ?? 0) * 100),
      },
    ];
  });
}
