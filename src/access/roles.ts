/**
 * User roles at a member node and what each may do with which resource types. Minimum necessary:
 * billing sees only what claims need; administrators manage users and erase records but do not
 * read clinical content.
 */
import {
  FINANCIAL_TYPES,
  isFinancialType,
  RESOURCE_TYPES,
  type ResourceType,
} from '../fhir/resourceTypes.js';

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
/** The clinical record: everything but insurance and claims, which care needs no more than research. */
const CLINICAL: readonly ResourceType[] = RESOURCE_TYPES.filter((t) => !isFinancialType(t));
const NURSE_WRITES: readonly ResourceType[] = ['Observation', 'Immunization', 'AllergyIntolerance'];
const BILLING_READS: readonly ResourceType[] = [
  'Patient',
  'Encounter',
  'Condition',
  'Procedure',
  ...FINANCIAL_TYPES,
];
const PHARMACIST_READS: readonly ResourceType[] = [
  'Patient',
  'MedicationRequest',
  'MedicationDispense',
  'AllergyIntolerance',
];
/** A pharmacist records what they dispensed (POST /supply/dispense with a patient). */
const PHARMACIST_WRITES: readonly ResourceType[] = ['MedicationDispense'];

const RULES: Record<UserRole, Record<Action, readonly ResourceType[]>> = {
  clinician: { read: CLINICAL, write: CLINICAL, delete: [] },
  'emergency-clinician': { read: CLINICAL, write: CLINICAL, delete: [] },
  nurse: { read: CLINICAL, write: NURSE_WRITES, delete: [] },
  // Billing keeps a patient's coverage and claims; it reads only the clinical types a claim needs.
  billing: { read: BILLING_READS, write: FINANCIAL_TYPES, delete: [] },
  // Erasure (crypto-shredding) is a privacy-office action, not a clinical one.
  admin: { read: [], write: [], delete: ALL },
  // Research reads (for the research purpose only, see purposeOfUse.ts) and never writes.
  researcher: { read: CLINICAL, write: [], delete: [] },
  pharmacist: { read: PHARMACIST_READS, write: PHARMACIST_WRITES, delete: [] },
};

export function mayAccess(role: UserRole, action: Action, type: ResourceType): boolean {
  return RULES[role][action].includes(type);
}

/**
 * Whether a custodian releases records of `type` to another member through search, replicas or
 * summaries. Insurance and claims never: a claim goes to its payer only with `Claim/$submit`
 * (member-signed, to the insurer named by the patient's Coverage), so no provider or other payer
 * reads another's claims even with a payment grant (issue 13: neither payer sees the other's claim).
 */
export const releasedToMembers = (type: ResourceType): boolean => !isFinancialType(type);
