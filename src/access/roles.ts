/**
 * User roles at a member node and what each may do with which resource types. Minimum necessary:
 * billing sees only what claims need; administrators manage users and erase records but do not
 * read clinical content.
 */
import type { ResourceType } from '../fhir/resourceTypes.js';
import { RESOURCE_TYPES } from '../fhir/resourceTypes.js';

export const USER_ROLES = [
  'clinician',
  'emergency-clinician',
  'nurse',
  'billing',
  'admin',
  'researcher',
  // Pharmacy staff: verify a drug pack before dispensing it (GET /supply/verify, docs/supply-chain.md)
  // and read what dispensing needs.
  'pharmacist',
] as const;
export type UserRole = (typeof USER_ROLES)[number];
export const isUserRole = (r: string): r is UserRole => (USER_ROLES as readonly string[]).includes(r);

export type Action = 'read' | 'write' | 'delete';

const ALL: readonly ResourceType[] = RESOURCE_TYPES;
const NURSE_WRITES: readonly ResourceType[] = ['Observation', 'Immunization', 'AllergyIntolerance'];
const BILLING_READS: readonly ResourceType[] = ['Patient', 'Encounter', 'Condition', 'Procedure'];
const PHARMACIST_READS: readonly ResourceType[] = ['Patient', 'MedicationRequest', 'AllergyIntolerance'];

const RULES: Record<UserRole, Record<Action, readonly ResourceType[]>> = {
  clinician: { read: ALL, write: ALL, delete: [] },
  'emergency-clinician': { read: ALL, write: ALL, delete: [] },
  nurse: { read: ALL, write: NURSE_WRITES, delete: [] },
  billing: { read: BILLING_READS, write: [], delete: [] },
  // Erasure (crypto-shredding) is a privacy-office action, not a clinical one.
  admin: { read: [], write: [], delete: ALL },
  // Research reads (for the research purpose only, see purposeOfUse.ts) and never writes.
  researcher: { read: ALL, write: [], delete: [] },
  pharmacist: { read: PHARMACIST_READS, write: [], delete: [] },
};

export function mayAccess(role: UserRole, action: Action, type: ResourceType): boolean {
  return RULES[role][action].includes(type);
}
