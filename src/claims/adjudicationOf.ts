/**
 * The `Adjudication` back from a stored `ClaimResponse` (issue 13, payment runs): per line the
 * submitted and benefit amounts, the status and the findings (CARC, denied or pended, text) in the
 * order `claimResponse.ts` wrote them, which is the order the 835 writer takes the first denying
 * finding from. Pure.
 *
 * What the ClaimResponse does not carry is rebuilt, not invented: the rule of a finding and its
 * fraud flag follow from its CARC (one rule per CARC, see `carc.ts`); the claim's fraud flags are
 * the OR of those (the chain record holds the payer's own flags, which are the authority); the
 * edit tables applied are not in the document (the chain record names the anchored rule set), so
 * `tables` is empty. A rejected response (outcome `error`) is no adjudication.
 */
import type { ClaimResponse, ClaimResponseItemAdjudication } from '@medplum/fhirtypes';
import { CARC, CARC_SYSTEM } from './carc.js';
import { ADJUDICATION_SYSTEM, DISCRIMINATOR_SYSTEM, MEDCHAIN_ADJUDICATION_SYSTEM } from './claimResponse.js';
import { ClaimDocumentError } from './claimsError.js';
import {
  type Adjudication,
  type ClaimInput,
  type Finding,
  FRAUD,
  type FraudFlag,
  type LineAdjudication,
} from './model.js';

/** The rule and fraud flag each CARC the rules give comes from. */
const RULE_OF_CARC: Record<string, { rule: string; flag: FraudFlag }> = {
  [CARC.duplicate]: { rule: 'duplicate', flag: 'duplicate' },
  [CARC.otherPayer]: { rule: 'duplicate-across-payers', flag: 'duplicateAcrossPayers' },
  [CARC.procedurePair]: { rule: 'ptp', flag: 'unbundling' },
  [CARC.unitsNotSupported]: { rule: 'mue', flag: 'unitsOverLimit' },
  [CARC.needsEvidence]: { rule: 'evidence-of-service', flag: 'noEvidenceOfService' },
};

const has = (a: ClaimResponseItemAdjudication, system: string, code: string) =>
  a.category?.coding?.some((c) => c.system === system && c.code === code) ?? false;

const cents = (a: ClaimResponseItemAdjudication | undefined, what: string): number => {
  const v = a?.amount?.value;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw new ClaimDocumentError(`the ClaimResponse has no ${what} amount`);
  return Math.round(v * 100);
};

function findingOf(a: ClaimResponseItemAdjudication, effect: Finding['effect']): Finding {
  const carc = a.reason?.coding?.find((c) => c.system === CARC_SYSTEM)?.code;
  if (!carc) throw new ClaimDocumentError('a ClaimResponse reason names no CARC');
  const known = RULE_OF_CARC[carc];
  const mai3 = carc === CARC.unitsNotSupported && /appeal/i.test(a.reason?.text ?? '');
  return {
    rule: known?.rule ?? `carc-${carc}`,
    carc,
    effect,
    ...(known ? { flag: known.flag } : {}),
    ...(mai3 ? { appealable: true } : {}),
    text: a.reason?.text ?? '',
  };
}

/** The adjudication `response` records for `claim` (its lines by sequence); throws when unreadable. */
export function adjudicationOf(response: ClaimResponse, claim: ClaimInput): Adjudication {
  if (response.outcome === 'error')
    throw new ClaimDocumentError(`claim ${claim.id} was rejected before adjudication`);
  const items = new Map((response.item ?? []).map((i) => [i.itemSequence, i.adjudication ?? []]));
  const lines = [...claim.lines]
    .sort((a, b) => a.sequence - b.sequence)
    .map((l): LineAdjudication => {
      const adj = items.get(l.sequence);
      if (!adj)
        throw new ClaimDocumentError(
          `the ClaimResponse has no item for line ${l.sequence} of claim ${claim.id}`,
        );
      const findings = adj.flatMap((a): Finding[] =>
        has(a, DISCRIMINATOR_SYSTEM, 'denialreason')
          ? [findingOf(a, 'denied')]
          : has(a, MEDCHAIN_ADJUDICATION_SYSTEM, 'pended')
            ? [findingOf(a, 'pended')]
            : [],
      );
      const status = findings.some((f) => f.effect === 'denied')
        ? 'denied'
        : findings.some((f) => f.effect === 'pended')
          ? 'pended'
          : 'approved';
      return {
        sequence: l.sequence,
        status,
        findings,
        submitted: cents(
          adj.find((a) => has(a, ADJUDICATION_SYSTEM, 'submitted')),
          `submitted (line ${l.sequence})`,
        ),
        benefit: cents(
          adj.find((a) => has(a, ADJUDICATION_SYSTEM, 'benefit')),
          `benefit (line ${l.sequence})`,
        ),
      };
    });
  const count = (s: LineAdjudication['status']) => lines.filter((l) => l.status === s).length;
  const state = count('pended') > 0 ? 'pended' : count('denied') === lines.length ? 'denied' : 'approved';
  const flags = lines.flatMap((l) => l.findings.flatMap((f) => (f.flag ? [FRAUD[f.flag]] : [])));
  return {
    kind: 'adjudicated',
    state,
    lines,
    fraudFlags: flags.reduce((a, b) => a | b, 0),
    submitted: lines.reduce((n, l) => n + l.submitted, 0),
    benefit: lines.reduce((n, l) => n + l.benefit, 0),
    tables: [],
  };
}
