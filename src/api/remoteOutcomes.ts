/**
 * How what other members did with a cross-member read is told to the user: one OperationOutcome
 * entry (search mode `outcome`) per member that did not answer, failed a check, or was served by a
 * replica, and one per (member, resource type) with categories it did not share, issue code
 * `suppressed` (FHIR: withheld by consent or privacy rules). A refusal names the member, the
 * categories and the reason, and is coded so the portal can show it per section; it follows from
 * the patient's consent alone, so it reads the same whether or not the member holds anything.
 */
import type { BundleEntry, CodeableConcept } from '@medplum/fhirtypes';
import type { RemoteOutcome } from '../federation/requester.js';
import {
  CATEGORY_SYSTEM,
  categoryWords,
  listWords,
  MEMBER_SYSTEM,
  NOTE_SYSTEM,
  REFUSAL_SYSTEM,
  RESOURCE_TYPE_SYSTEM,
  reasonWords,
} from '../fhir/remoteCodes.js';

export { CATEGORY_SYSTEM, MEMBER_SYSTEM, NOTE_SYSTEM, REFUSAL_SYSTEM, RESOURCE_TYPE_SYSTEM };

/** The outcome entries for `outcomes` of a read for `purpose`. */
export function remoteOutcomeEntries(outcomes: readonly RemoteOutcome[], purpose: string): BundleEntry[] {
  const entries: BundleEntry[] = [];
  for (const o of outcomes) {
    if (o.status !== 'ok' && o.message) {
      const details: CodeableConcept = {
        text: o.message,
        coding: [
          { system: MEMBER_SYSTEM, code: o.address, display: o.member },
          { system: NOTE_SYSTEM, code: o.status },
        ],
      };
      entries.push({
        resource: {
          resourceType: 'OperationOutcome',
          issue: [
            { severity: 'warning', code: o.status === 'replica' ? 'informational' : 'transient', details },
          ],
        },
        search: { mode: 'outcome' },
      });
    }
    for (const w of o.withheld) {
      const details: CodeableConcept = {
        text: `${o.member} did not share ${w.reason === 'withheld' ? `${listWords(w.categories.map(categoryWords), 'or')} ${w.resourceType}` : `any ${w.resourceType}`} records with you for ${purpose}: ${reasonWords(w.reason)}. Ask the patient for consent, or break the glass in an emergency.`,
        coding: [
          { system: MEMBER_SYSTEM, code: o.address, display: o.member },
          { system: RESOURCE_TYPE_SYSTEM, code: w.resourceType },
          ...w.categories.map((c) => ({ system: CATEGORY_SYSTEM, code: c })),
          { system: REFUSAL_SYSTEM, code: w.reason },
        ],
      };
      entries.push({
        resource: {
          resourceType: 'OperationOutcome',
          issue: [{ severity: 'information', code: 'suppressed', details }],
        },
        search: { mode: 'outcome' },
      });
    }
  }
  return entries;
}
