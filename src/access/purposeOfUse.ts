/**
 * Purpose of use bound to role (HL7 v3 PurposeOfUse: TREAT, HPAYMT, HOPERAT, HRESCH, ETREAT). A
 * user acts only for the purposes of their role, and a member organization only for the purposes
 * its Registry roles allow; the first purpose of a user role is its default. This table is the
 * one in docs/api.md ("Purpose of use").
 */
import { MEMBER_ROLES, type MemberRole, type Purpose } from '../chain/scopes.js';
import type { UserRole } from './roles.js';

/** A consent purpose, or `emergency` for break-glass (never a consent purpose). */
export type AccessPurpose = Purpose | 'emergency';

/** What each user role may act for; the first is the default. */
export const ROLE_PURPOSES: Readonly<Record<UserRole, readonly AccessPurpose[]>> = {
  clinician: ['treatment'],
  'emergency-clinician': ['treatment', 'emergency'],
  nurse: ['treatment'],
  billing: ['payment'],
  admin: ['operations'],
  researcher: ['research'],
  // Dispensing is care of the patient; verifying a pack is the pharmacy's operations.
  pharmacist: ['treatment', 'operations'],
};

/** What each kind of member organization may ask other members' records for. */
export const MEMBER_PURPOSES: Readonly<Record<MemberRole, readonly AccessPurpose[]>> = {
  HOSPITAL: ['treatment', 'emergency', 'payment', 'operations', 'research'],
  CLINIC: ['treatment', 'emergency', 'payment', 'operations', 'research'],
  LAB: ['treatment', 'payment', 'operations'],
  PHARMACY: ['treatment', 'payment', 'operations'],
  INSURER: ['payment', 'operations'],
  MANUFACTURER: [],
  DISTRIBUTOR: [],
  REGULATOR: ['operations'],
};

/** The purpose a user of `role` acts for when they name none. */
export const defaultPurposeOf = (role: UserRole): AccessPurpose => ROLE_PURPOSES[role][0] as AccessPurpose;

export const roleMayActFor = (role: UserRole, purpose: string): boolean =>
  (ROLE_PURPOSES[role] as readonly string[]).includes(purpose);

/** Whether a member with Registry role mask `roles` may act for `purpose` (any of its roles allows it). */
export const memberMayActFor = (roles: number, purpose: string): boolean =>
  MEMBER_ROLES.some(
    (r, i) => (roles & (1 << i)) !== 0 && (MEMBER_PURPOSES[r] as readonly string[]).includes(purpose),
  );
