/**
 * The seeded patients' insurance: every one is covered by Acme Health Insurance. The payer is
 * named as its member account (`urn:medchain:member`), the identifier `Claim/$submit` finds the
 * insurer by; providers keep the Coverage for their billing staff, the insurer its enrollment.
 */
import type { Coverage } from '@medplum/fhirtypes';
import type { Address } from 'viem';

/** Identifier system of the payer's member number of a subscriber (synthetic, off chain only). */
import { MEMBER_NUMBER_SYSTEM } from '../../claims/coverageFacts.js';

export { MEMBER_NUMBER_SYSTEM };
/** Identifier system naming a member organization by its chain account. */
export const MEMBER_SYSTEM = 'urn:medchain:member';
/** When the seeded coverage starts (in force for every seeded date of service). */
export const SEED_COVERAGE_START = '2020-01-01';

export interface SeedPayer {
  address: Address;
  name: string;
}

/** The patient's Coverage with `payer`, for the Patient stored as `patientId` at one member. */
export function seedCoverage(patientId: string, memberNumber: string, payer: SeedPayer): Coverage {
  return {
    resourceType: 'Coverage',
    status: 'active',
    identifier: [{ system: MEMBER_NUMBER_SYSTEM, value: memberNumber }],
    type: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'EHCPOL' }],
    },
    subscriberId: memberNumber,
    beneficiary: { reference: `Patient/${patientId}` },
    relationship: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/subscriber-relationship', code: 'self' }],
    },
    period: { start: SEED_COVERAGE_START },
    payor: [{ identifier: { system: MEMBER_SYSTEM, value: payer.address }, display: payer.name }],
  };
}
