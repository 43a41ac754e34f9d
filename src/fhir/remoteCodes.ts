/**
 * The codes and words of what other members did with a cross-member read, shared by the node
 * (src/api/remoteOutcomes.ts builds the OperationOutcome entries) and the portal (which reads
 * them): one module, no copies. Browser-safe: no Node.js imports.
 */
import { CATEGORIES } from '../chain/scopes.js';

/** `meta.source` of a record another member sent: this prefix and the member's address. */
export const MEMBER_SOURCE_PREFIX = 'urn:medchain:member:';
export const MEMBER_SYSTEM = 'urn:medchain:member';
export const CATEGORY_SYSTEM = 'urn:medchain:category';
export const REFUSAL_SYSTEM = 'urn:medchain:refusal';
export const RESOURCE_TYPE_SYSTEM = 'http://hl7.org/fhir/resource-types';
/** What a non-refusal outcome entry is about: `unreachable`, `replica`, `error` (a member), `count-capped`. */
export const NOTE_SYSTEM = 'urn:medchain:note';

/** Why a member did not share (src/access/policy.ts deny reasons, plus `withheld`: partly shared). */
export const REFUSAL_REASONS = [
  'no-consent',
  'withheld',
  'purpose-role',
  'purpose-member',
  'break-glass-role',
  'break-glass-member',
  'break-glass-limit',
  'not-a-member',
  'not-released-to-members',
] as const;

/** A refusal reason in plain words, completing "… did not share them with you: <words>". */
export function reasonWords(reason: string): string {
  switch (reason) {
    case 'no-consent':
      return 'the patient has not consented to sharing them with you';
    case 'withheld':
      return 'the patient’s consent does not cover them';
    case 'purpose-member':
      return 'your organization may not ask for them for this purpose';
    case 'purpose-role':
      return 'your role may not ask for them for this purpose';
    case 'break-glass-member':
      return 'only hospitals and clinics may break the glass';
    case 'break-glass-role':
      return 'only an emergency clinician may break the glass';
    case 'break-glass-limit':
      return 'your organization has reached the hourly break-glass limit';
    case 'not-a-member':
      return 'your organization is not an active member';
    case 'not-released-to-members':
      return 'insurance and claims records are never shared by search (a claim reaches its payer through Claim/$submit)';
    default:
      return 'the member did not say why';
  }
}

const CATEGORY_WORDS: Record<string, string> = {
  general: 'general',
  labs: 'labs',
  medications: 'medications',
  imaging: 'imaging',
  'mental-health': 'mental health',
  'sexual-reproductive-health': 'sexual and reproductive health',
  'substance-use': 'substance use',
  genetics: 'genetics',
};

/** A consent category in plain words ("mental health"). */
export const categoryWords = (c: string): string => CATEGORY_WORDS[c] ?? c.replaceAll('-', ' ');

/** Categories in the contract's order (unknown codes last, as given). */
export function orderCategories(cs: Iterable<string>): string[] {
  const rank = (c: string) => {
    const i = (CATEGORIES as readonly string[]).indexOf(c);
    return i < 0 ? CATEGORIES.length : i;
  };
  return [...new Set(cs)].sort((a, b) => rank(a) - rank(b));
}

/** "a", "a and b", "a, b and c" (or with `or`). */
export function listWords(xs: readonly string[], last = 'and'): string {
  if (xs.length <= 1) return xs[0] ?? '';
  return `${xs.slice(0, -1).join(', ')} ${last} ${xs[xs.length - 1]}`;
}
