/**
 * The coverage facts the rules take (model.ts CoverageFacts), read from the payer's stored FHIR R4
 * Coverage: its status, its period as dates, and the payer named by member account in `payor`.
 */
import type { Coverage } from '@medplum/fhirtypes';
import { getAddress, isAddress } from 'viem';
import type { CoverageFacts } from './model.js';

/** Identifier system naming a member organization by its chain account. */
const MEMBER_SYSTEM = 'urn:medchain:member';
/** Identifier system of a patient's member number with a payer (on the card; in Coverage.identifier). */
export const MEMBER_NUMBER_SYSTEM = 'urn:medchain:coverage:member-number';
const STATUSES: readonly CoverageFacts['status'][] = ['active', 'cancelled', 'draft', 'entered-in-error'];

/**
 * The facts of `coverage`, or undefined when it names no payer by member account (it cannot be
 * a coverage with any payer of the consortium). A period bound is cut to its date (YYYY-MM-DD).
 */
export function coverageFacts(coverage: Coverage): CoverageFacts | undefined {
  const payor = coverage.payor?.find((p) => p.identifier?.system === MEMBER_SYSTEM)?.identifier?.value;
  if (typeof payor !== 'string' || !isAddress(payor, { strict: false })) return undefined;
  if (!STATUSES.includes(coverage.status as CoverageFacts['status'])) return undefined;
  const day = (s: string | undefined) => (s ? s.slice(0, 10) : undefined);
  const start = day(coverage.period?.start);
  const end = day(coverage.period?.end);
  return {
    status: coverage.status as CoverageFacts['status'],
    payer: getAddress(payor),
    ...(start ? { start } : {}),
    ...(end ? { end } : {}),
  };
}

/** Of a patient's Coverages, the facts of the first active one with `payer` (else of any with it). */
export function coverageWith(coverages: readonly Coverage[], payer: string): CoverageFacts | undefined {
  const facts = coverages.map(coverageFacts).filter((f) => f?.payer.toLowerCase() === payer.toLowerCase());
  return facts.find((f) => f?.status === 'active') ?? facts[0];
}
