/**
 * What each record section (vital signs, lab results, medications, ...) says about what is NOT in
 * it. A section may read "No … recorded" only when every member answered for its resource type
 * and none withheld a category its records could carry; otherwise it names the members that did
 * not share it with this user, in the same words whether or not they hold anything. Pure (tested
 * in node); the Timeline renders exactly these words.
 */
import { type Category, categoryBit, maskToCategories } from '../../../src/chain/scopes.js';
import { categoriesOfType } from '../../../src/records/recordCategory.js';
import { CONSENT_REASONS, categoryWords, listWords, orderCategories, type Refusal } from './refusals.js';

export type SectionKey = 'vitals' | 'labs' | 'medications' | 'conditions' | 'allergies' | 'immunizations';

export interface Section {
  key: SectionKey;
  title: string;
  resourceType: string;
  /** Every category a record shown in this section can carry (src/records/recordCategory.ts). */
  categories: readonly Category[];
  /** What its records are called in a sentence ("allergy records"). */
  noun: string;
  /** The words when it is empty and nothing is missing. */
  empty: string;
}

const OBSERVATION = categoriesOfType('Observation');
const type = (t: string) => maskToCategories(categoriesOfType(t));

/** The sections, in the order the Timeline shows them. */
export const SECTIONS: Record<SectionKey, Section> = {
  // Vital signs are Observations whose base category is general (plus any sensitive label).
  vitals: {
    key: 'vitals',
    title: 'Vital signs',
    resourceType: 'Observation',
    categories: maskToCategories(OBSERVATION & ~categoryBit('labs') & ~categoryBit('imaging')),
    noun: 'vital signs',
    empty: 'No vital signs recorded.',
  },
  // Every other Observation lands in the lab table, whatever its category.
  labs: {
    key: 'labs',
    title: 'Lab results',
    resourceType: 'Observation',
    categories: maskToCategories(OBSERVATION),
    noun: 'lab results',
    empty: 'No lab results recorded.',
  },
  medications: {
    key: 'medications',
    title: 'Medications',
    resourceType: 'MedicationRequest',
    categories: type('MedicationRequest'),
    noun: 'medication records',
    empty: 'No medications recorded.',
  },
  conditions: {
    key: 'conditions',
    title: 'Conditions',
    resourceType: 'Condition',
    categories: type('Condition'),
    noun: 'condition records',
    empty: 'No conditions recorded.',
  },
  allergies: {
    key: 'allergies',
    title: 'Allergies',
    resourceType: 'AllergyIntolerance',
    categories: type('AllergyIntolerance'),
    noun: 'allergy records',
    empty: 'No allergies recorded.',
  },
  immunizations: {
    key: 'immunizations',
    title: 'Immunizations',
    resourceType: 'Immunization',
    categories: type('Immunization'),
    noun: 'immunization records',
    empty: 'No immunizations recorded.',
  },
};

/** What the reader may be missing: refusals, and resource types some member did not fully answer for. */
export interface Gaps {
  refusals: readonly Refusal[];
  /** Resource types whose results may be incomplete (a member offline, a replica, a record dropped). */
  incomplete: readonly string[];
}

export const NO_GAPS: Gaps = { refusals: [], incomplete: [] };

/** The advice after a consent refusal; the first part is a link to ask the patient when one exists. */
export const ASK_CONSENT = 'Ask the patient for consent';
export const ASK_CONSENT_TAIL = ', or break the glass in an emergency.';
export const SEE_WHY = 'Why is listed under “Not shared with you”.';
export const SOME_DID_NOT_ANSWER = 'Some members did not answer; what they hold may be missing.';

/** What a section must say about what is not in it. */
export interface SectionNotice {
  /** One sentence per group of members that withheld the same thing (empty: nothing withheld). */
  withheld: string[];
  /** Some of it was withheld for want of consent: advise asking the patient (or break-glass). */
  askConsent: boolean;
  /** Some of it was withheld for another reason (role, purpose, break-glass limit): point to why. */
  seeWhy: boolean;
  /** Some member did not (fully) answer for this section's type. */
  incomplete: boolean;
}

/** What `section` must say about what is not in it, given the read's `gaps`. */
export function sectionNotice(section: Section, gaps: Gaps): SectionNotice {
  const mine = new Set<string>(section.categories);
  const full: string[] = [];
  const partial = new Map<string, { members: string[]; categories: string[] }>();
  let askConsent = false;
  let seeWhy = false;
  const seen = new Set<string>();
  for (const r of gaps.refusals) {
    const id = r.address || r.member;
    if (r.resourceType !== section.resourceType || seen.has(id)) continue;
    // A refusal that names no category is taken to cover the whole type.
    const cats = r.categories.length === 0 ? [...mine] : r.categories.filter((c) => mine.has(c));
    if (cats.length === 0) continue;
    seen.add(id);
    if (CONSENT_REASONS.includes(r.reason)) askConsent = true;
    else seeWhy = true;
    // A refusal other than a partial one is a deny: none of the type is shared, whatever it lists.
    if (r.reason !== 'withheld' || cats.length === mine.size) full.push(r.member);
    else {
      const ordered = orderCategories(cats);
      const key = ordered.join(',');
      const g = partial.get(key) ?? { members: [], categories: ordered };
      g.members.push(r.member);
      partial.set(key, g);
    }
  }
  const who = (ms: string[]) => listWords([...ms].sort((a, b) => a.localeCompare(b)));
  const withheld = [
    ...(full.length > 0 ? [`${who(full)} did not share ${section.noun} with you.`] : []),
    ...[...partial.values()].map(
      (g) =>
        `${who(g.members)} did not share ${section.noun} with you in ${g.categories.length === 1 ? 'this category' : 'these categories'}: ${g.categories.map(categoryWords).join(', ')}.`,
    ),
  ];
  return { withheld, askConsent, seeWhy, incomplete: gaps.incomplete.includes(section.resourceType) };
}

/** True when a section must say something is missing (and so may never read "No … recorded"). */
export const hasNotice = (n: SectionNotice): boolean => n.withheld.length > 0 || n.incomplete;

/** The whole notice as plain text (what the Timeline shows, link text included). */
export function noticeText(n: SectionNotice): string {
  return [
    ...n.withheld,
    ...(n.askConsent ? [`${ASK_CONSENT}${ASK_CONSENT_TAIL}`] : []),
    ...(n.seeWhy ? [SEE_WHY] : []),
    ...(n.incomplete ? [SOME_DID_NOT_ANSWER] : []),
  ].join(' ');
}

/**
 * What an EMPTY section says: "No … recorded." only when nothing is withheld and every member
 * answered; otherwise who did not share it (or that some did not answer).
 */
export function emptyText(section: Section, gaps: Gaps): string {
  const n = sectionNotice(section, gaps);
  return hasNotice(n) ? noticeText(n) : section.empty;
}
