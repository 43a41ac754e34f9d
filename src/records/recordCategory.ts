/**
 * The consent categories of a FHIR resource, decided once when a version is written and stored
 * with it as a bit mask (the bits of contracts/Consent.sol, src/chain/scopes.ts):
 *
 * - the base category from the resource type and its category codes: MedicationRequest and
 *   MedicationDispense -> medications; laboratory Observations and DiagnosticReports -> labs; imaging -> imaging;
 *   everything else general, including insurance and claims (Coverage, Claim, ClaimResponse,
 *   ExplanationOfBenefit, CoverageEligibility*): the contract has no financial category, and a
 *   payer reads them under the purpose `payment`, which a grant names apart from its categories;
 * - plus one bit for EVERY sensitive HL7 security label in `meta.security` (v3 ActCode: PSY,
 *   PSYTHPN mental health; SEX, HIV, STD sexual and reproductive health; ETH, SUD, ETHUD substance
 *   use; GDIS genetics).
 *
 * A grant releases a record only when it covers every bit of its mask, so a record labelled both
 * mental health and HIV needs both categories granted.
 */
import type { Resource } from '@medplum/fhirtypes';
import { type Category, categoryBit, SENSITIVE_CATEGORIES } from '../chain/scopes.js';

const SENSITIVE: Record<string, Category> = {
  PSY: 'mental-health',
  PSYTHPN: 'mental-health',
  SEX: 'sexual-reproductive-health',
  HIV: 'sexual-reproductive-health',
  STD: 'sexual-reproductive-health',
  ETH: 'substance-use',
  SUD: 'substance-use',
  ETHUD: 'substance-use',
  GDIS: 'genetics',
};

interface Coded {
  coding?: { system?: string; code?: string }[];
}

const codes = (cs: Coded[] | undefined) =>
  (cs ?? []).flatMap((c) => (c.coding ?? []).map((x) => (x.code ?? '').toLowerCase()));

/** The base category of a resource, from its type and category codes (security labels aside). */
export function baseCategory(r: Resource): Category {
  switch (r.resourceType) {
    case 'MedicationRequest':
    case 'MedicationDispense':
      return 'medications';
    case 'Observation': {
      const cat = codes((r as { category?: Coded[] }).category);
      if (cat.includes('laboratory')) return 'labs';
      if (cat.includes('imaging')) return 'imaging';
      return 'general';
    }
    case 'DiagnosticReport': {
      const cat = codes((r as { category?: Coded[] }).category);
      if (cat.some((c) => ['lab', 'laboratory', 'hm', 'ch', 'mb'].includes(c))) return 'labs';
      if (cat.some((c) => ['rad', 'imaging', 'ct', 'mri', 'us', 'xr'].includes(c))) return 'imaging';
      return 'general';
    }
    default:
      return 'general';
  }
}

/** The sensitive categories named by the resource's security labels (each once). */
export function sensitiveCategories(r: Resource): Category[] {
  const out = new Set<Category>();
  for (const s of r.meta?.security ?? []) {
    const c = s.code ? SENSITIVE[s.code.toUpperCase()] : undefined;
    if (c) out.add(c);
  }
  return [...out];
}

/** Every category of a resource as one mask: its base category and every sensitive label. */
export function categoryMask(r: Resource): number {
  let mask = categoryBit(baseCategory(r));
  for (const c of sensitiveCategories(r)) mask |= categoryBit(c);
  return mask;
}

/**
 * The category a person would name a resource by: its first sensitive label, else its base
 * category (for display and for seeding checks; decisions use `categoryMask`).
 */
export function recordCategory(r: Resource): Category {
  return sensitiveCategories(r)[0] ?? baseCategory(r);
}

const SENSITIVE_MASK = SENSITIVE_CATEGORIES.reduce((m, c) => m | categoryBit(c), 0);

/**
 * Every category a record of `type` can carry: what a refusal for that type is about. It depends
 * on the type alone, never on what is stored, so reporting it reveals nothing about the data.
 */
export function categoriesOfType(type: string): number {
  const base: Category[] =
    type === 'MedicationRequest' || type === 'MedicationDispense'
      ? ['medications']
      : type === 'Observation' || type === 'DiagnosticReport'
        ? ['general', 'labs', 'imaging']
        : ['general'];
  return base.reduce((m, c) => m | categoryBit(c), SENSITIVE_MASK);
}
