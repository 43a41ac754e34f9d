/**
 * Phantom billing: every line must name an Encounter whose creation the provider's anchored log
 * proves (encounterEvidence.ts); otherwise the line is pended with CARC 252 as "no evidence of
 * service" — held for documentation, not denied, since an anchor may simply be late.
 */
import { addFinding, type LineFindings } from './_lineFindings.js';
import { CARC } from './carc.js';
import { evidenceProblem } from './encounterEvidence.js';
import type { ClaimInput, EncounterEvidence } from './model.js';

/** CARC 252 findings for lines without proven evidence of service. */
export function phantomFindings(
  claim: ClaimInput,
  evidence: ReadonlyMap<string, EncounterEvidence>,
): LineFindings {
  const out: LineFindings = new Map();
  const checked = new Map<string, string | undefined>();
  for (const line of claim.lines) {
    const problems =
      line.encounters.length === 0
        ? ['the line names no Encounter']
        : line.encounters.flatMap((id) => {
            if (!checked.has(id)) checked.set(id, evidenceProblem(claim, id, evidence.get(id)));
            const p = checked.get(id);
            return p === undefined ? [] : [p];
          });
    if (problems.length === 0) continue;
    addFinding(out, line.sequence, {
      rule: 'evidence-of-service',
      carc: CARC.needsEvidence,
      effect: 'pended',
      flag: 'noEvidenceOfService',
      text: `no evidence of service: ${problems[0]}`,
    });
  }
  return out;
}
