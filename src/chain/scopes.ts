/**
 * Names <-> bit masks for the enums the contracts store as bits: member organization roles,
 * consent data categories and purposes of use. Pure; the single source of these numbers in
 * TypeScript (they mirror the constants in contracts/Registry.sol and contracts/Consent.sol).
 */
import { InvalidInputError } from '../errors.js';

export const MEMBER_ROLES = [
  'HOSPITAL',
  'CLINIC',
  'LAB',
  'INSURER',
  'PHARMACY',
  'MANUFACTURER',
  'DISTRIBUTOR',
  'REGULATOR',
] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];

/** Consent data categories. The last four are sensitive: covered only when a grant names them. */
export const CATEGORIES = [
  'general',
  'labs',
  'medications',
  'imaging',
  'mental-health',
  'sexual-reproductive-health',
  'substance-use',
  'genetics',
] as const;
export type Category = (typeof CATEGORIES)[number];
export const SENSITIVE_CATEGORIES: readonly Category[] = [
  'mental-health',
  'sexual-reproductive-health',
  'substance-use',
  'genetics',
];

/** Purposes of use a patient may consent to (HL7 v3 PurposeOfUse TREAT, HPAYMT, HOPERAT, HRESCH). */
export const PURPOSES = ['treatment', 'payment', 'operations', 'research'] as const;
export type Purpose = (typeof PURPOSES)[number];

function toMask<T extends string>(kind: string, all: readonly T[], names: readonly string[]): number {
  if (names.length === 0)
    throw new InvalidInputError(`name at least one ${kind} (one of: ${all.join(', ')})`);
  let mask = 0;
  for (const n of names) {
    const i = all.indexOf(n as T);
    if (i < 0) throw new InvalidInputError(`unknown ${kind} "${n}" (expected one of: ${all.join(', ')})`);
    mask |= 1 << i;
  }
  return mask;
}

function fromMask<T extends string>(all: readonly T[], mask: number): T[] {
  return all.filter((_, i) => (mask & (1 << i)) !== 0);
}

export const rolesToMask = (names: readonly string[]) => toMask('role', MEMBER_ROLES, names);
export const maskToRoles = (mask: number) => fromMask(MEMBER_ROLES, mask);
export const categoriesToMask = (names: readonly string[]) => toMask('category', CATEGORIES, names);
export const maskToCategories = (mask: number) => fromMask(CATEGORIES, mask);
export const purposesToMask = (names: readonly string[]) => toMask('purpose', PURPOSES, names);
export const maskToPurposes = (mask: number) => fromMask(PURPOSES, mask);

/** The single bit of one category or purpose, as `isPermitted` expects. */
export const categoryBit = (c: Category) => 1 << CATEGORIES.indexOf(c);
export const purposeBit = (p: Purpose) => 1 << PURPOSES.indexOf(p);
