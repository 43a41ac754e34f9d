/**
 * A claim's decision read back from its FHIR documents (issue 13), for the portal's views and the
 * queue routes: per line the status, amounts and reasons (CARC and text) from the adjudication of
 * a ClaimResponse or ExplanationOfBenefit item (claimResponse.ts writes them), the evidence-of-
 * service finding, and fraud flag names of the chain's bits. Pure and free of Node APIs, so the
 * node and the portal (web/) read the documents with the same code.
 */
import type {
  ClaimResponseItemAdjudication,
  CodeableConcept,
  ExplanationOfBenefit,
  Money,
} from '@medplum/fhirtypes';
import { CARC, CARC_SYSTEM } from './carc.js';
import { ADJUDICATION_SYSTEM, DISCRIMINATOR_SYSTEM, MEDCHAIN_ADJUDICATION_SYSTEM } from './claimResponse.js';
import { FRAUD, type FraudFlag, type LineStatus } from './model.js';

/** One reason the payer gave on a line: its CARC and the text of the finding. */
export interface LineReason {
  carc: string;
  text: string;
  effect: 'denied' | 'pended';
}

/** A line's decision as the documents carry it. */
export interface LineDecision {
  sequence: number;
  status: LineStatus;
  /** Charge submitted, cents. */
  submittedCents: number;
  /** What the payer pays for the line, cents. */
  benefitCents: number;
  reasons: LineReason[];
}

/** USD amount in integer cents (0 when absent). */
export const centsOf = (m: Money | undefined): number => Math.round((m?.value ?? 0) * 100);

const has = (c: CodeableConcept | undefined, system: string, code: string) =>
  (c?.coding ?? []).some((x) => x.system === system && x.code === code);

/** The decision of one line from its adjudication entries (claimResponse.ts lineAdjudication). */
export function lineDecision(
  sequence: number,
  adjudication: readonly ClaimResponseItemAdjudication[],
): LineDecision {
  const amount = (code: string) =>
    centsOf(adjudication.find((a) => has(a.category, ADJUDICATION_SYSTEM, code))?.amount);
  const reasons = adjudication.flatMap((a): LineReason[] => {
    const effect = has(a.category, DISCRIMINATOR_SYSTEM, 'denialreason')
      ? 'denied'
      : has(a.category, MEDCHAIN_ADJUDICATION_SYSTEM, 'pended')
        ? 'pended'
        : undefined;
    const carc = a.reason?.coding?.find((c) => c.system === CARC_SYSTEM)?.code;
    return effect && carc ? [{ carc, text: a.reason?.text ?? '', effect }] : [];
  });
  const status: LineStatus = reasons.some((r) => r.effect === 'denied')
    ? 'denied'
    : reasons.some((r) => r.effect === 'pended')
      ? 'pended'
      : 'approved';
  return { sequence, status, submittedCents: amount('submitted'), benefitCents: amount('benefit'), reasons };
}

/**
 * Whether the chain vouches for the visit a claim bills (the evidence-of-service rule,
 * phantomRule.ts): `no-evidence` when any line was pended CARC 252 (no creation of the billed
 * Encounter in the provider's transparency log proven against a head anchored on chain before the
 * claim); `vouched` when the claim was adjudicated and no line was; `not-checked` when it was
 * rejected before adjudication (coverage), so the rule never ran.
 */
export type EvidenceFinding = 'vouched' | 'no-evidence' | 'not-checked';

export function evidenceFinding(adjudicated: boolean, lines: readonly LineDecision[]): EvidenceFinding {
  if (!adjudicated) return 'not-checked';
  return lines.some((l) => l.reasons.some((r) => r.carc === CARC.needsEvidence)) ? 'no-evidence' : 'vouched';
}

/** The names of the FRAUD bits set in `bits` (Claims.sol fraud flags), in bit order. */
export function fraudFlagNames(bits: number): FraudFlag[] {
  return (Object.entries(FRAUD) as [FraudFlag, number][]).filter(([, b]) => (bits & b) !== 0).map(([n]) => n);
}

/** A claim billed in a patient's name, as their ExplanationOfBenefit tells it. */
export interface EobSummary {
  id: string;
  /** YYYY-MM-DD: the earliest date of service of its lines. */
  servicedDate: string | undefined;
  /** The provider's chain account (`urn:medchain:member` identifier), if named so. */
  provider: string | undefined;
  outcome: string | undefined;
  disposition: string | undefined;
  billedCents: number;
  paidCents: number;
  lines: (LineDecision & { code: string; servicedDate: string | undefined })[];
  evidence: EvidenceFinding;
}

/** The patient's view of an EOB (claimResponse.ts buildExplanationOfBenefit). */
export function eobSummary(eob: ExplanationOfBenefit): EobSummary {
  const lines = (eob.item ?? []).map((item) => ({
    ...lineDecision(item.sequence, item.adjudication ?? []),
    // The charge billed is on the item even when the claim was rejected before adjudication.
    submittedCents: centsOf(item.net),
    code: item.productOrService?.coding?.[0]?.code ?? '',
    servicedDate: item.servicedDate,
  }));
  const total = (code: string) =>
    centsOf(eob.total?.find((t) => has(t.category, ADJUDICATION_SYSTEM, code))?.amount);
  const dates = lines.flatMap((l) => (l.servicedDate ? [l.servicedDate] : [])).sort();
  const adjudicated = eob.outcome !== 'error';
  return {
    id: eob.id ?? '',
    servicedDate: dates[0],
    provider: eob.provider?.identifier?.value,
    outcome: eob.outcome,
    disposition: eob.disposition,
    billedCents: lines.reduce((n, l) => n + l.submittedCents, 0),
    paidCents: adjudicated ? total('benefit') : 0,
    lines,
    evidence: evidenceFinding(adjudicated, lines),
  };
}
