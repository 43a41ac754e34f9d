/**
 * Duplicate across payers: a line whose keyed commitment (lineCommitment.ts) the Claims contract
 * already holds under another payer is pended with CARC 22 (another payer may cover it) and
 * flagged. Pended, not denied: the other payer may be primary under coordination of benefits, and
 * neither payer can see the other's claim to decide alone.
 */
import type { LineFindings } from './_lineFindings.js';
import { CARC } from './carc.js';
import type { ClaimInput } from './model.js';

/** CARC 22 findings for the lines the chain reported as committed under another payer. */
export function crossPayerFindings(
  claim: ClaimInput,
  crossPayerDuplicates: ReadonlySet<number>,
): LineFindings {
  const out: LineFindings = new Map();
  for (const line of claim.lines) {
    if (!crossPayerDuplicates.has(line.sequence)) continue;
    out.set(line.sequence, [
      {
        rule: 'duplicate-across-payers',
        carc: CARC.otherPayer,
        effect: 'pended',
        flag: 'duplicateAcrossPayers',
        text: 'the same service is already billed to another payer',
      },
    ]);
  }
  return out;
}
