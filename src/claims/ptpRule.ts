/**
 * Unbundling (procedure-to-procedure edits, NCCI style): when the column-one code of a pair is
 * billed for the same patient by the same provider on the same date of service (in this claim or
 * one the payer holds), the column-two line is denied with CARC 236 — never allowed for modifier
 * indicator 0; allowed for 1 when either line carries a distinct-service modifier (59, XE, XS, XP,
 * XU); indicator 9 means the edit was deleted and is ignored.
 */
import { addFinding, type LineFindings } from './_lineFindings.js';
import { CARC } from './carc.js';
import { DISTINCT_SERVICE_MODIFIERS, hasAny } from './codes.js';
import type { PtpTable } from './editTables.js';
import type { ClaimInput, PriorLine } from './model.js';

/** CARC 236 findings of `claim` under `table`. */
export function ptpFindings(claim: ClaimInput, history: readonly PriorLine[], table: PtpTable): LineFindings {
  const out: LineFindings = new Map();
  const sameParties = (h: PriorLine) =>
    h.patient.toLowerCase() === claim.patient.toLowerCase() &&
    h.provider.toLowerCase() === claim.provider.toLowerCase();
  const prior = history.filter(sameParties);
  for (const line of claim.lines) {
    for (const pair of table.byColumn2.get(line.code) ?? []) {
      if (pair.modifierIndicator === 9) continue;
      const partners = [...claim.lines.filter((o) => o.sequence !== line.sequence), ...prior].filter(
        (o) => o.code === pair.column1 && o.servicedDate === line.servicedDate,
      );
      const bypassed = (partner: { modifiers: readonly string[] }) =>
        pair.modifierIndicator === 1 &&
        (hasAny(line.modifiers, DISTINCT_SERVICE_MODIFIERS) ||
          hasAny(partner.modifiers, DISTINCT_SERVICE_MODIFIERS));
      if (partners.some((p) => !bypassed(p))) {
        addFinding(out, line.sequence, {
          rule: 'ptp',
          carc: CARC.procedurePair,
          effect: 'denied',
          flag: 'unbundling',
          text:
            pair.modifierIndicator === 0
              ? `${line.code} is included in ${pair.column1} on the same day and never billed with it`
              : `${line.code} is included in ${pair.column1} on the same day unless a distinct-service modifier (59, XE, XS, XP, XU) says otherwise`,
        });
        break;
      }
    }
  }
  return out;
}
