/**
 * The ONE access decision of medchain (the policy decision point). A pure function from who asks
 * (a member organization with its Registry roles and admission, or a patient), the user role and
 * purpose they act for, break-glass, the patient and the categories asked, plus the chain state
 * that matters (the patient's grant to that member, recent break-glass use), to Permit(categories,
 * purpose, break-glass) or Deny(reason). Every path that releases data applies it through the
 * gatekeeper: local reads, answers to other members, replicas, the patient's own access, export.
 *
 * What it never looks at: the records themselves. So a decision, and everything derived from it
 * (what is withheld, what is logged, what a refusal says), is the same whether or not the patient
 * has records in the categories withheld.
 *
 * The rules, in order:
 *  1. A patient may read their own records, all of them.
 *  2. A member must be active (in the Registry) unless it is the custodian itself.
 *  3. The purpose must be one the user role acts for, and (for another member) one its Registry
 *     roles allow (src/access/purposeOfUse.ts).
 *  4. Break-glass (purpose `emergency`) only by an emergency clinician of a hospital or clinic,
 *     within the break-glass rate limit; it permits every category asked.
 *  5. The custodian's own users: every category asked (their roles limit the resource types).
 *  6. Another member: exactly the categories of the patient's grant to it, if the grant is in
 *     force for this purpose, now, and for this admission of the member (src/chain/consentModel.ts,
 *     the contract's own rule). A record is released only when the permit covers every bit of its
 *     category mask (`covers`).
 */
import type { Address } from 'viem';
import { type GrantTerms, grantPermits } from '../chain/consentModel.js';
import {
  CATEGORIES,
  type MemberRole,
  PURPOSES,
  type Purpose,
  purposeBit,
  rolesToMask,
} from '../chain/scopes.js';
import { type AccessPurpose, memberMayActFor, roleMayActFor } from './purposeOfUse.js';
import type { UserRole } from './roles.js';

/** Every category bit. */
export const ALL_CATEGORIES = (1 << CATEGORIES.length) - 1;

/** Members whose Registry roles allow emergency care, hence break-glass. */
export const BREAK_GLASS_MEMBER_ROLES: readonly MemberRole[] = ['HOSPITAL', 'CLINIC'];
const BREAK_GLASS_MASK = rolesToMask(BREAK_GLASS_MEMBER_ROLES);

/** Break-glass permits one requesting member may get from one custodian per hour. */
export const BREAK_GLASS_PER_HOUR = 30;

/** A member asking (another member, or this one for its own users). */
export interface MemberRequester {
  kind: 'member';
  address: Address;
  /** Registry role mask (0 when not active). */
  roles: number;
  active: boolean;
  /** The member's current admission number in the Registry. */
  admission: number;
  /** True when the requester is the custodian deciding (its own users). */
  self: boolean;
}

export type Requester = MemberRequester | { kind: 'patient'; address: Address };

export interface AccessRequest {
  requester: Requester;
  /** The user role the member acts for (its own user, or as claimed by a requesting member). */
  userRole: UserRole | null;
  purpose: AccessPurpose;
  breakGlass: boolean;
  /** The patient's chain address; null for records not linked to one (never shared). */
  patient: Address | null;
  /** The categories asked for (a mask; ALL_CATEGORIES when the asker names none). */
  categories: number;
  /** Seconds since the Unix epoch. */
  at: bigint;
}

/** The chain state (and local counters) the decision depends on. */
export interface DecisionState {
  /** The patient's grant to the requesting member (undefined when none). */
  grant: GrantTerms | undefined;
  /** Break-glass permits this requester got in the last hour. */
  breakGlassRecent: number;
}

export type DenyReason =
  | 'not-the-patient'
  | 'not-a-member'
  | 'purpose-role'
  | 'purpose-member'
  | 'break-glass-role'
  | 'break-glass-member'
  | 'break-glass-limit'
  | 'no-patient'
  | 'no-consent'
  | 'discovery-purpose';

export type Basis = 'patient' | 'custodian' | 'break-glass' | 'consent';

export type Decision =
  | {
      permit: true;
      /** The categories released: a record is released only if this covers its whole mask. */
      categories: number;
      /** The categories asked for and not released. */
      withheld: number;
      purpose: AccessPurpose;
      breakGlass: boolean;
      basis: Basis;
    }
  | { permit: false; reason: DenyReason; withheld: number; purpose: AccessPurpose };

const deny = (reason: DenyReason, req: AccessRequest): Decision => ({
  permit: false,
  reason,
  withheld: req.categories,
  purpose: req.purpose,
});

const permit = (req: AccessRequest, categories: number, basis: Basis): Decision => ({
  permit: true,
  categories,
  withheld: req.categories & ~categories,
  purpose: req.purpose,
  breakGlass: basis === 'break-glass',
  basis,
});

const isConsentPurpose = (p: string): p is Purpose => (PURPOSES as readonly string[]).includes(p);

/** The access decision (see the file comment for the rules). Pure. */
export function decide(req: AccessRequest, state: DecisionState): Decision {
  const r = req.requester;
  const asked = req.categories & ALL_CATEGORIES;
  if (r.kind === 'patient') {
    return req.patient && r.address.toLowerCase() === req.patient.toLowerCase()
      ? permit(req, asked, 'patient')
      : deny('not-the-patient', req);
  }
  if (!r.self && !r.active) return deny('not-a-member', req);
  if (req.breakGlass !== (req.purpose === 'emergency')) return deny('break-glass-role', req);
  if (req.userRole !== null && !roleMayActFor(req.userRole, req.purpose)) return deny('purpose-role', req);
  if (!r.self && !memberMayActFor(r.roles, req.purpose)) return deny('purpose-member', req);
  if (req.breakGlass) {
    if (req.userRole !== 'emergency-clinician') return deny('break-glass-role', req);
    if ((r.roles & BREAK_GLASS_MASK) === 0) return deny('break-glass-member', req);
    if (state.breakGlassRecent >= BREAK_GLASS_PER_HOUR) return deny('break-glass-limit', req);
    return permit(req, asked, 'break-glass');
  }
  if (r.self) return permit(req, asked, 'custodian');
  if (!req.patient) return deny('no-patient', req);
  if (!isConsentPurpose(req.purpose)) return deny('purpose-role', req);
  const covered = (state.grant?.categories ?? 0) & asked;
  const inForce = grantPermits(
    state.grant,
    { active: r.active, admission: r.admission },
    covered,
    purposeBit(req.purpose),
    req.at,
  );
  return inForce ? permit(req, covered, 'consent') : deny('no-consent', req);
}

/** Whether a decision releases a record of category mask `recordCategories` (every bit covered). */
export function covers(d: Decision, recordCategories: number): boolean {
  return d.permit && recordCategories !== 0 && (recordCategories & ~d.categories) === 0;
}

/** The categories a decision releases (0 for a deny). */
export const released = (d: Decision): number => (d.permit ? d.categories : 0);

/** The purposes a patient discovery may be made for: finding a patient to treat them. */
export const DISCOVERY_PURPOSES: readonly AccessPurpose[] = ['treatment'];

/** Who asks to discover a patient (src/federation/discovery.ts): no patient, no category. */
export interface DiscoveryRequest {
  requester: Extract<Requester, { kind: 'member' }>;
  userRole: UserRole | null;
  purpose: AccessPurpose;
}

export type DiscoveryDecision = { permit: true } | { permit: false; reason: DenyReason };

/**
 * Patient discovery: whether a member's user may learn that members may hold records of a patient
 * matching some demographics. Only for treatment (an insurer, a researcher, billing may not
 * enumerate patients), only by a user role that acts for treatment, only by a member whose Registry
 * roles allow treatment, only by an active member. It never looks at the demographics or at what
 * matches, so a refusal is the same whoever is asked about. Pure.
 */
export function decideDiscovery(req: DiscoveryRequest): DiscoveryDecision {
  const r = req.requester;
  if (!r.self && !r.active) return { permit: false, reason: 'not-a-member' };
  if (!DISCOVERY_PURPOSES.includes(req.purpose)) return { permit: false, reason: 'discovery-purpose' };
  if (req.userRole !== null && !roleMayActFor(req.userRole, req.purpose))
    return { permit: false, reason: 'purpose-role' };
  if (!r.self && !memberMayActFor(r.roles, req.purpose)) return { permit: false, reason: 'purpose-member' };
  return { permit: true };
}
