/**
 * A reference model of contracts/Consent.sol's permission rule, in plain TypeScript: THE consent
 * rule of the code base. The property test drives the contract and this model with the same random
 * operations and checks they agree; the access decision (src/access/policy.ts) and the portal use
 * it to evaluate a grant read from chain.
 */
export interface GrantTerms {
  /** The grantee's admission (Registry `admissionOf`) the grant was given to. */
  granteeAdmission: number;
  categories: number;
  purposes: number;
  /** Seconds since the Unix epoch; inclusive. */
  validFrom: bigint;
  /** Seconds since the Unix epoch; exclusive. */
  expiry: bigint;
}

/**
 * Whether `grant` (undefined when none is stored) covers every bit of `categoryMask` and of `purposeMask`
 * at `at`, for a `grantee` that is active in the admission the grant names; empty masks permit nothing.
 */
export function grantPermits(
  grant: GrantTerms | undefined,
  grantee: { active: boolean; admission: number },
  categoryMask: number,
  purposeMask: number,
  at: bigint,
): boolean {
  if (!grant || !grantee.active || grantee.admission !== grant.granteeAdmission) return false;
  if (categoryMask === 0 || purposeMask === 0) return false;
  if ((grant.categories & categoryMask) !== categoryMask || (grant.purposes & purposeMask) !== purposeMask)
    return false;
  return at >= grant.validFrom && at < grant.expiry;
}

/** A stable name for a grant's terms: wraps made under one set of terms are not used under another. */
export const grantTermsKey = (g: GrantTerms): string =>
  `${g.categories}:${g.purposes}:${g.validFrom}:${g.expiry}:${g.granteeAdmission}`;

/** Where a stored grant stands, in the words patients and staff see; only `in force` permits anything. */
export type GrantState = 'in force' | 'not yet valid' | 'expired' | 'member removed' | 'member re-admitted';

/** The state of `grant` for `grantee` at `at` (seconds): the same rule as `grantPermits`, in words. */
export function grantState(
  grant: Pick<GrantTerms, 'validFrom' | 'expiry' | 'granteeAdmission'>,
  grantee: { active: boolean; admission: number },
  at: bigint,
): GrantState {
  if (!grantee.active) return 'member removed';
  if (grantee.admission !== grant.granteeAdmission) return 'member re-admitted';
  if (at < grant.validFrom) return 'not yet valid';
  if (at >= grant.expiry) return 'expired';
  return 'in force';
}
