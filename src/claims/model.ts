/**
 * The rule engine's input and output, independent of FHIR: `fhirClaim.ts` turns a FHIR R4 Claim
 * into a `ClaimInput`, `claimResponse.ts` turns an `Adjudication` back into FHIR. Amounts are in
 * integer minor units (cents) so that no rule ever compares floats. Dates of service are FHIR
 * `date` strings (YYYY-MM-DD), compared as strings (that order is the calendar order).
 */
import type { Address } from 'viem';

/** One billed service line (FHIR Claim.item). */
export interface ClaimLine {
  /** Claim.item.sequence: unique within the claim, the order rules break ties in. */
  sequence: number;
  /** HCPCS Level II or synthetic procedure code (never a CPT descriptor). */
  code: string;
  /** Claim.item.modifier codes, upper case, as billed (order does not matter to any rule). */
  modifiers: readonly string[];
  /** Units of service (Claim.item.quantity), a positive integer. */
  quantity: number;
  /** Charge per unit in cents. */
  unitPrice: number;
  /** Line charge in cents (unitPrice x quantity). */
  net: number;
  /** Date of service, YYYY-MM-DD. */
  servicedDate: string;
  /** Claim.item.diagnosisSequence: pointers into the claim's diagnoses. */
  diagnosisSequence: readonly number[];
  /** Ids of the Encounters at the provider this line bills for (Claim.item.encounter). */
  encounters: readonly string[];
}

/** A claim as the rules see it. */
export interface ClaimInput {
  /** Claim.id at the provider. */
  id: string;
  type: 'professional' | 'institutional';
  /** The patient's chain address (their only identifier the consortium shares). */
  patient: Address;
  /** The billing provider: a consortium member's chain account. */
  provider: Address;
  /** The insurer: a consortium member's chain account. */
  payer: Address;
  /** Claim.created, milliseconds since the Unix epoch. */
  created: number;
  /** Claim.total in cents. */
  total: number;
  diagnoses: readonly { sequence: number; code: string }[];
  lines: readonly ClaimLine[];
}

/** The patient's coverage with this payer as the payer's own records hold it. */
export interface CoverageFacts {
  status: 'active' | 'cancelled' | 'draft' | 'entered-in-error';
  /** Coverage.period, YYYY-MM-DD, inclusive; undefined for an open end. */
  start?: string;
  end?: string;
  /** The payer the coverage is with. */
  payer: Address;
}

/** A line this payer already accepted or holds (approved or pended), from its own claim history. */
export interface PriorLine {
  claimId: string;
  sequence: number;
  patient: Address;
  provider: Address;
  servicedDate: string;
  code: string;
  modifiers: readonly string[];
  quantity: number;
  net: number;
}

/** Proof that the Encounter a claim bills for exists at the provider and was logged before the claim. */
export interface EncounterEvidence {
  encounterId: string;
  /** The provider answered that the Encounter exists (it read it for the payer). */
  exists: boolean;
  /** The canonical bytes of the provider's log entry that created it (src/log/entry.ts). */
  entry?: Uint8Array;
  /** Inclusion proof of that entry in the anchored head below (RFC 9162 audit path). */
  proof?: readonly Uint8Array[];
  /** The head of the provider's log as anchored on chain (AuditAnchor), read by the caller. */
  anchoredHead?: {
    treeSize: number;
    rootHash: Uint8Array /** ms since epoch of the anchoring block. */;
    anchoredAt: number;
  };
}

/** Everything the rules need beyond the claim itself; the caller gathers it (chain, store, provider). */
export interface AdjudicationContext {
  coverage: CoverageFacts | undefined;
  history: readonly PriorLine[];
  /** Evidence per Encounter id the claim names; a missing id means none was found. */
  evidence: ReadonlyMap<string, EncounterEvidence>;
  /**
   * Sequences of lines whose keyed commitment the Claims contract already holds under another
   * payer (the caller asked the contract's view; see lineCommitment.ts).
   */
  crossPayerDuplicates: ReadonlySet<number>;
}

/** Fraud signals, one bit each; the same bits are stored by contracts/Claims.sol. */
export const FRAUD = {
  duplicate: 1 << 0,
  duplicateAcrossPayers: 1 << 1,
  unbundling: 1 << 2,
  unitsOverLimit: 1 << 3,
  noEvidenceOfService: 1 << 4,
} as const;
export type FraudFlag = keyof typeof FRAUD;

/** One rule's finding on one line. */
export interface Finding {
  /** The rule that found it (stable id, e.g. "duplicate", "ptp", "mue"). */
  rule: string;
  /** CARC code (X12 Claim Adjustment Reason Code) the payer reports. */
  carc: string;
  /** denied: no payment for the line; pended: held for review. */
  effect: 'denied' | 'pended';
  flag?: FraudFlag;
  /** The provider may appeal this finding (MUE MAI 3). */
  appealable?: boolean;
  /** A short reason in words for the provider and payer views (no patient detail). */
  text: string;
}

export type LineStatus = 'approved' | 'denied' | 'pended';

export interface LineAdjudication {
  sequence: number;
  status: LineStatus;
  findings: readonly Finding[];
  /** Charge submitted, cents. */
  submitted: number;
  /** What the payer pays for the line, cents (0 unless approved). */
  benefit: number;
}

export type ClaimState = 'approved' | 'denied' | 'pended';

/** The result of adjudicating a claim whose coverage was in force. */
export interface Adjudication {
  kind: 'adjudicated';
  state: ClaimState;
  lines: readonly LineAdjudication[];
  /** Bitwise OR of FRAUD bits raised on any line. */
  fraudFlags: number;
  submitted: number;
  benefit: number;
  /** SHA-256 of each edit table applied, hex: which rules the payer used (anchorable). */
  tables: readonly { name: string; version: string; sha256: string }[];
}

/** A claim refused before adjudication (coverage not in force on a date of service). */
export interface Rejection {
  kind: 'rejected';
  carc: string;
  text: string;
}

export type Decision = Adjudication | Rejection;
