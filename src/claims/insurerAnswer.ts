/**
 * What the insurer makes of one adjudicated submission: the ClaimResponse it answers the provider
 * (naming the Claim and patient as the provider sent them), its own copy of that response (naming
 * its Claim copy and Patient) and the patient's ExplanationOfBenefit (with the dispute extension).
 * The two it stores are built only from the validated Claim, its validated copy and the decision,
 * so they are kept as validated (src/fhir/validate.ts `built`; their shapes are property-tested in
 * insurerAnswer.property.test.ts) instead of running the R4 validator on them again.
 */
import type { Claim, ClaimResponse, ExplanationOfBenefit } from '@medplum/fhirtypes';
import type { Address, Hex } from 'viem';
import { built, type Validated } from '../fhir/validate.js';
import { disputeExtension, patientReference, withClaimId } from './claimDocuments.js';
import { buildClaimResponse, buildExplanationOfBenefit } from './claimResponse.js';
import type { Decision } from './model.js';

/** The insurer's documents of one decision. */
export interface InsurerAnswer {
  /** To the provider: its Claim and patient as it sent them. */
  answer: ClaimResponse;
  /** Stored at the insurer: the same response naming the insurer's Claim copy and Patient. */
  ownResponse: Validated<ClaimResponse>;
  /** Stored at the insurer, for the patient. */
  eob: Validated<ExplanationOfBenefit>;
}

/**
 * The documents of `decision` on `submitted` (the Claim as validated where it entered) and
 * `copy` (the insurer's validated copy of it, id `id`). `salt` is the batch leaf's salt the
 * patient's dispute needs.
 */
export function insurerAnswer(
  submitted: Validated<Claim>,
  copy: Validated<Claim>,
  decision: Decision,
  o: { id: string; created: string; claimId: Hex; patient: Address; patientId: string; salt: Hex },
): InsurerAnswer {
  const answer: ClaimResponse = {
    ...buildClaimResponse(submitted, decision, { id: o.id, created: o.created }),
    identifier: withClaimId(undefined, o.claimId),
    patient: { identifier: { system: 'urn:medchain:patient', value: o.patient } },
  };
  const ownResponse = built<ClaimResponse>(
    {
      ...answer,
      patient: patientReference(o.patientId, o.patient),
      request: { reference: `Claim/${o.id}` },
    },
    'ClaimResponse',
  );
  const eob = built<ExplanationOfBenefit>(
    {
      ...buildExplanationOfBenefit(copy, decision, { id: o.id, created: o.created, claimResponseId: o.id }),
      identifier: withClaimId(undefined, o.claimId),
      extension: [disputeExtension(o.claimId, o.salt)],
    },
    'ExplanationOfBenefit',
  );
  return { answer, ownResponse, eob };
}
