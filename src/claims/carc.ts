/**
 * The X12 Claim Adjustment Reason Codes (CARC) the rules use, with their code system URL as FHIR
 * ClaimResponse carries it. Only the code numbers are used; the texts here are our own summaries.
 */

/** The CARC code system (X12 external code list 139, as named by HL7 terminology). */
export const CARC_SYSTEM = 'https://x12.org/codes/claim-adjustment-reason-codes';

export const CARC = {
  /** Exact duplicate claim/service. */
  duplicate: '18',
  /** Care may be covered by another payer (coordination of benefits): the line is on chain elsewhere. */
  otherPayer: '22',
  /** Patient cannot be identified as the payer's insured (no coverage, or not active). */
  notInsured: '31',
  /** Expenses incurred before coverage. */
  beforeCoverage: '26',
  /** Expenses incurred after coverage terminated. */
  afterCoverage: '27',
  /** Units or frequency not supported (medically unlikely edit). */
  unitsNotSupported: '151',
  /** Procedure pair not allowed on the same day (NCCI-style procedure-to-procedure edit). */
  procedurePair: '236',
  /** Documentation needed to adjudicate: here, evidence that the service happened. */
  needsEvidence: '252',
} as const;
