/**
 * Exact duplicate: same patient, provider, date of service, procedure code, modifiers (as a set)
 * and line charge as a line this payer already holds, or as a lower-sequence line of the same
 * claim, is denied with CARC 18 — unless the line carries a repeat modifier (76, 77, 91).
 */
import { addFinding, bySequence, type LineFindings } from './_lineFindings.js';
import { CARC } from './carc.js';
import { hasAny, modifierKey, REPEAT_MODIFIERS } from './codes.js';
import type { ClaimInput, PriorLine } from './model.js';

type Keyed = Pick<PriorLine, 'patient' | 'provider' | 'servicedDate' | 'code' | 'modifiers' | 'net'>;

const key = (l: Keyed) =>
  [
    l.patient.toLowerCase(),
    l.provider.toLowerCase(),
    l.servicedDate,
    l.code,
    modifierKey(l.modifiers),
    l.net,
  ].join('|');

/** CARC 18 findings of `claim` against `history`. */
export function duplicateFindings(claim: ClaimInput, history: readonly PriorLine[]): LineFindings {
  const out: LineFindings = new Map();
  const seen = new Set(history.map(key));
  for (const line of bySequence(claim.lines)) {
    const k = key({ ...line, patient: claim.patient, provider: claim.provider });
    if (!hasAny(line.modifiers, REPEAT_MODIFIERS) && seen.has(k)) {
      addFinding(out, line.sequence, {
        rule: 'duplicate',
        carc: CARC.duplicate,
        effect: 'denied',
        flag: 'duplicate',
        text: 'exact duplicate of a service already billed (no repeat modifier 76, 77 or 91)',
      });
    }
    seen.add(k);
  }
  return out;
}
