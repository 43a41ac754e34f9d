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
import { outcome } from '../fhir/outcomes.js';

export const MEMBER_SYSTEM = 'urn:medchain:member';
export const CATEGORY_SYSTEM = 'urn:medchain:category';
export const REFUSAL_SYSTEM = 'urn:medchain:refusal';
export const RESOURCE_TYPE_SYSTEM = 'http://hl7.org/fhir/resource-types';

function why(reason: string, purpose: string): string {
  switch (reason) {
    case 'no-consent':
      return `the patient has not consented to sharing them with you for ${purpose}`;
    case 'withheld':
      return `the patient’s consent for ${purpose} does not cover them`;
    case 'purpose-member':
      return `members of your kind may not ask for ${purpose}`;
    case 'purpose-role':
      return `your role may not act for ${purpose}`;
    case 'break-glass-member':
      return 'only hospitals and clinics may break the glass';
    case 'break-glass-role':
      return 'only an emergency clinician may break the glass';
    case 'break-glass-limit':
      return 'your organization reached the break-glass limit for the hour';
    case 'not-a-member':
      return 'your organization is not an active member';
    default:
      return 'they were not shared';
  }
}

/** The outcome entries for `outcomes` of a read for `purpose`. */
export function remoteOutcomeEntries(outcomes: readonly RemoteOutcome[], purpose: string): BundleEntry[] {
  const entries: BundleEntry[] = [];
  for (const o of outcomes) {
    if (o.status !== 'ok' && o.message) {
      entries.push({
        resource: outcome(
          'warning',
          o.status === 'replica' ? 'informational' : 'transient',
          `${o.member}: ${o.message}`,
        ),
        search: { mode: 'outcome' },
      });
    }
    for (const w of o.withheld) {
      const details: CodeableConcept = {
        text: `${o.member} did not share ${w.reason === 'withheld' ? `${w.categories.join(', ')} ${w.resourceType}` : `any ${w.resourceType}`} records with you: ${why(w.reason, purpose)}. Ask the patient for consent, or break the glass in an emergency.`,
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
