/**
 * Medically unlikely edits (MUE), by adjudication indicator: MAI 1 is a line edit (a line with
 * more units than the limit is denied); MAI 2 (absolute) and MAI 3 (clinical benchmark) are
 * date-of-service edits: the units of the code for the same patient, provider and day are summed
 * over this claim's lines and the lines the payer already holds, and when the sum is over the
 * limit every line of this claim with that code on that day is denied. MAI 3 denials are
 * appealable; MAI 2 are not. All with CARC 151. (As CMS does, whole lines are denied, never cut.)
 */
import { addFinding, type LineFindings } from './_lineFindings.js';
import { CARC } from './carc.js';
import type { MueTable } from './editTables.js';
import type { ClaimInput, ClaimLine, PriorLine } from './model.js';

/** CARC 151 findings of `claim` under `table`. */
export function mueFindings(claim: ClaimInput, history: readonly PriorLine[], table: MueTable): LineFindings {
  const out: LineFindings = new Map();
  const perDay = new Map<string, ClaimLine[]>();
  for (const line of claim.lines) {
    const mue = table.byCode.get(line.code);
    if (!mue) continue;
    if (mue.mai === 1) {
      if (line.quantity > mue.limit) {
        addFinding(out, line.sequence, {
          rule: 'mue',
          carc: CARC.unitsNotSupported,
          effect: 'denied',
          flag: 'unitsOverLimit',
          text: `${line.quantity} units of ${line.code} on one line; at most ${mue.limit} (MUE, MAI 1)`,
        });
      }
      continue;
    }
    const k = `${line.code}|${line.servicedDate}`;
    perDay.set(k, [...(perDay.get(k) ?? []), line]);
  }
  for (const lines of perDay.values()) {
    const first = lines[0] as ClaimLine;
    const mue = table.byCode.get(first.code);
    if (!mue) continue;
    const already = history
      .filter(
        (h) =>
          h.code === first.code &&
          h.servicedDate === first.servicedDate &&
          h.patient.toLowerCase() === claim.patient.toLowerCase() &&
          h.provider.toLowerCase() === claim.provider.toLowerCase(),
      )
      .reduce((n, h) => n + h.quantity, 0);
    const total = already + lines.reduce((n, l) => n + l.quantity, 0);
    if (total <= mue.limit) continue;
    for (const line of lines) {
      addFinding(out, line.sequence, {
        rule: 'mue',
        carc: CARC.unitsNotSupported,
        effect: 'denied',
        flag: 'unitsOverLimit',
        appealable: mue.mai === 3,
        text: `${total} units of ${first.code} on ${first.servicedDate}; at most ${mue.limit} a day (MUE, MAI ${mue.mai}${mue.mai === 3 ? ', appealable' : ''})`,
      });
    }
  }
  return out;
}
