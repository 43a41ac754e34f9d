/**
 * What other members withheld from a cross-member read, read from the coded OperationOutcome
 * entries the node adds to a searchset (issue code `suppressed`, built by src/api/remoteOutcomes.ts):
 * per member and resource type, the categories withheld and why. The codings are read, never the
 * text. A refusal follows from the patient's consent alone, so it says nothing about whether the
 * member holds anything, and nothing here may suggest that it does.
 */
import {
  CATEGORY_SYSTEM,
  categoryWords,
  listWords,
  MEMBER_SYSTEM,
  orderCategories,
  REFUSAL_SYSTEM,
  RESOURCE_TYPE_SYSTEM,
  reasonWords,
} from '../../../src/fhir/remoteCodes.js';

export { categoryWords, listWords, orderCategories, reasonWords };

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
