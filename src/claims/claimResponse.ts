/**
 * The payer's answers as FHIR R4: the `ClaimResponse` to the provider (item adjudication with the
 * CARC reason of each finding) and the patient's `ExplanationOfBenefit`. Fraud flags are the
 * payer's and the chain's, not the provider's or patient's, so neither resource carries them.
 * Amounts go back from integer cents to USD.
 */
import type {
  Claim,
  ClaimResponse,
  ClaimResponseItem,
  ClaimResponseItemAdjudication,
  ExplanationOfBenefit,
  Money,
} from '@medplum/fhirtypes';
import { CARC_SYSTEM } from './carc.js';
import type { Decision, Finding, LineAdjudication } from './model.js';

export const ADJUDICATION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/adjudication';
/** CARIN Blue Button's adjudication discriminator: `denialreason` carries a denied line's reason. */
export const DISCRIMINATOR_SYSTEM =
  'http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudicationDiscriminator';
/** medchain's category for a held line's reason (no standard code says "pended" in R4). */
export const MEDCHAIN_ADJUDICATION_SYSTEM = 'urn:medchain:adjudication';

const usd = (cents: number): Money => ({ value: cents / 100, currency: 'USD' });
const category = (system: string, code: string) => ({ coding: [{ system, code }] });

/** Options of the built resources: their ids and creation time (the caller's clock). */
export interface ResponseOptions {
  id: string;
  /** FHIR dateTime of the decision. */
  created: string;
}

function lineAdjudication(l: LineAdjudication): ClaimResponseItemAdjudication[] {
  const reasons = l.findings.map(
    (f: Finding): ClaimResponseItemAdjudication => ({
      category:
        f.effect === 'denied'
          ? category(DISCRIMINATOR_SYSTEM, 'denialreason')
          : category(MEDCHAIN_ADJUDICATION_SYSTEM, 'pended'),
      reason: { coding: [{ system: CARC_SYSTEM, code: f.carc }], text: f.text },
    }),
  );
  return [
    { category: category(ADJUDICATION_SYSTEM, 'submitted'), amount: usd(l.submitted) },
    { category: category(ADJUDICATION_SYSTEM, 'benefit'), amount: usd(l.benefit) },
    ...reasons,
  ];
}

const outcomeOf = (d: Decision): ClaimResponse['outcome'] =>
  d.kind === 'rejected' ? 'error' : d.state === 'pended' ? 'partial' : 'complete';

function disposition(d: Decision): string {
  if (d.kind === 'rejected') return `Rejected before adjudication: ${d.text}.`;
  const count = (s: string) => d.lines.filter((l) => l.status === s).length;
  return `${d.state[0]?.toUpperCase()}${d.state.slice(1)}: ${count('approved')} line(s) approved, ${count('denied')} denied, ${count('pended')} pended.`;
}

function totals(d: Decision) {
  if (d.kind === 'rejected') return undefined;
  return [
    { category: category(ADJUDICATION_SYSTEM, 'submitted'), amount: usd(d.submitted) },
    { category: category(ADJUDICATION_SYSTEM, 'benefit'), amount: usd(d.benefit) },
  ];
}

/** The ClaimResponse for `claim` (the validated FHIR Claim) under `decision`. */
export function buildClaimResponse(claim: Claim, decision: Decision, opts: ResponseOptions): ClaimResponse {
  const items: ClaimResponseItem[] | undefined =
    decision.kind === 'rejected'
      ? undefined
      : decision.lines.map((l) => ({ itemSequence: l.sequence, adjudication: lineAdjudication(l) }));
  const total = totals(decision);
  return {
    resourceType: 'ClaimResponse',
    id: opts.id,
    status: 'active',
    type: claim.type,
    use: 'claim',
    patient: claim.patient,
    created: opts.created,
    ...(claim.insurer ? { insurer: claim.insurer } : {}),
    requestor: claim.provider,
    request: { reference: `Claim/${claim.id}` },
    outcome: outcomeOf(decision),
    disposition: disposition(decision),
    ...(items ? { item: items } : {}),
    ...(total ? { total } : {}),
    ...(decision.kind === 'rejected'
      ? { error: [{ code: { coding: [{ system: CARC_SYSTEM, code: decision.carc }], text: decision.text } }] }
      : {}),
  } as ClaimResponse;
}

/** The patient's ExplanationOfBenefit for `claim` under `decision`. */
export function buildExplanationOfBenefit(
  claim: Claim,
  decision: Decision,
  opts: ResponseOptions & { claimResponseId: string },
): ExplanationOfBenefit {
  const byLine = new Map(decision.kind === 'adjudicated' ? decision.lines.map((l) => [l.sequence, l]) : []);
  const total = totals(decision);
  return {
    resourceType: 'ExplanationOfBenefit',
    id: opts.id,
    status: 'active',
    type: claim.type,
    use: 'claim',
    patient: claim.patient,
    created: opts.created,
    insurer: claim.insurer ?? {},
    provider: claim.provider,
    claim: { reference: `Claim/${claim.id}` },
    claimResponse: { reference: `ClaimResponse/${opts.claimResponseId}` },
    outcome: outcomeOf(decision),
    disposition: disposition(decision),
    insurance: (claim.insurance ?? []).map((i) => ({ focal: i.focal, coverage: i.coverage })),
    ...(claim.diagnosis ? { diagnosis: claim.diagnosis } : {}),
    item: (claim.item ?? []).map((item) => {
      const l = byLine.get(item.sequence);
      return {
        sequence: item.sequence,
        productOrService: item.productOrService,
        ...(item.modifier ? { modifier: item.modifier } : {}),
        ...(item.servicedDate ? { servicedDate: item.servicedDate } : {}),
        ...(item.quantity ? { quantity: item.quantity } : {}),
        ...(item.unitPrice ? { unitPrice: item.unitPrice } : {}),
        ...(item.net ? { net: item.net } : {}),
        ...(item.diagnosisSequence ? { diagnosisSequence: item.diagnosisSequence } : {}),
        ...(l ? { adjudication: lineAdjudication(l) } : {}),
      };
    }),
    ...(total ? { total } : {}),
  } as ExplanationOfBenefit;
}
