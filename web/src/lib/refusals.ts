/**
 * What other members withheld from a cross-member read, read from the coded OperationOutcome
 * entries the node adds to a searchset (issue code `suppressed`, built by src/api/remoteOutcomes.ts):
 * per member and resource type, the categories withheld and why. The codings are read, never the
 * text. A refusal follows from the patient's consent alone, so it says nothing about whether the
 * member holds anything, and nothing here may suggest that it does.
 */
import {
  CATEGORY_SYSTEM,
  MEMBER_SYSTEM,
  REFUSAL_SYSTEM,
  RESOURCE_TYPE_SYSTEM,
} from '../../../src/api/remoteOutcomes.js';
import { CATEGORIES } from '../../../src/chain/scopes.js';

/** One member's refusal of one resource type. */
export interface Refusal {
  /** The member's chain address, lower case (the key to group by). */
  address: string;
  /** The member's name, as the node knows it (else the portal's name for the address). */
  member: string;
  resourceType: string;
  /** Categories withheld (consent category codes, e.g. `labs`, `mental-health`). */
  categories: string[];
  /** `no-consent`, `withheld` (partly shared), `purpose-role`, ... (src/access/policy.ts). */
  reason: string;
}

/** Reasons the patient can change by consenting (so asking them, or break-glass, is the way on). */
export const CONSENT_REASONS: readonly string[] = ['no-consent', 'withheld'];

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

interface CodedIssue {
  code?: string;
  details?: { coding?: { system?: string; code?: string; display?: string }[] };
}

/**
 * The refusal coded in an outcome entry's resource, or undefined when it is not one. `searched` is
 * the type the search asked for, used when the outcome does not name one, so a refusal is never
 * lost for want of a coding.
 */
export function parseRefusal(
  resource: unknown,
  searched: string,
  names: ReadonlyMap<string, string> = new Map(),
): Refusal | undefined {
  const o = resource as { resourceType?: string; issue?: CodedIssue[] } | undefined;
  if (o?.resourceType !== 'OperationOutcome') return undefined;
  const issue = o.issue?.find((i) => i.code === 'suppressed');
  if (!issue) return undefined;
  const coding = issue.details?.coding ?? [];
  const of = (system: string) => coding.filter((c) => c.system === system && c.code);
  const member = of(MEMBER_SYSTEM)[0];
  const address = (member?.code ?? '').toLowerCase();
  return {
    address,
    member: member?.display || names.get(address) || address || 'A member',
    resourceType: of(RESOURCE_TYPE_SYSTEM)[0]?.code ?? searched,
    categories: orderCategories(of(CATEGORY_SYSTEM).map((c) => c.code as string)),
    reason: of(REFUSAL_SYSTEM)[0]?.code ?? 'unknown',
  };
}

/** Why, in plain words, addressed to the clinician. */
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
    default:
      return 'the member did not say why';
  }
}

/** One summary line per member, in plain words, members by name. */
export function memberLines(refusals: readonly Refusal[]): { address: string; text: string }[] {
  const byMember = new Map<string, Refusal[]>();
  for (const r of refusals) byMember.set(r.address, [...(byMember.get(r.address) ?? []), r]);
  return [...byMember.entries()]
    .map(([address, rs]) => {
      const name = rs[0]?.member ?? address;
      // A member's decision is one for all types: a refusal other than a partial one covers them all.
      const denied = rs.find((r) => r.reason !== 'withheld');
      const text = denied
        ? `${name} did not share any records with you: ${reasonWords(denied.reason)}.`
        : `${name} did not share ${listWords(
            orderCategories(rs.flatMap((r) => r.categories)).map(categoryWords),
            'or',
          )} records with you: ${reasonWords('withheld')}.`;
      return { address, name, text };
    })
    .sort((a, b) => a.name.localeCompare(b.name))
    .map(({ address, text }) => ({ address, text }));
}
