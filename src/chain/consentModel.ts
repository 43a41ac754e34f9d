/**
 * A reference model of contracts/Consent.sol's permission rule, in plain TypeScript: THE consent
 * rule of the code base. The property test drives the contract and this model with the same random
 * operations and checks they agree; the access decision (src/access/policy.ts) and the portal use
 * it to evaluate a grant read from chain.
 */
export interface GrantTerms {
  categories: number;
  purposes: number;
  /** Seconds since the Unix epoch; inclusive. */
  validFrom: bigint;
  /** Seconds since the Unix epoch; exclusive. */
  expiry: bigint;
  /** The grantee's Registry admission the patient consented to; a re-admitted member needs a new grant. */
  granteeAdmission: number;
}

/**
 * Whether `grant` (undefined when none is stored) covers EVERY bit of `categories` and of `purposes`
 * at `at`, for a grantee that is active and still in the admission the grant names.
 */
export function grantPermits(
  grant: GrantTerms | undefined,
  grantee: { active: boolean; admission: number },
  categories: number,
  purposes: number,
  at: bigint,
): boolean {
  if (!grant || !grantee.active || categories === 0 || purposes === 0) return false;
  if (grantee.admission !== grant.granteeAdmission) return false;
  if ((grant.categories & categories) !== categories || (grant.purposes & purposes) !== purposes)
    return false;
  return at >= grant.validFrom && at < grant.expiry;
}

/** A stable name for a grant's terms: wraps made under one set of terms are not used under another. */
export const grantTermsKey = (g: GrantTerms): string =>
  `${g.categories}:${g.purposes}:${g.validFrom}:${g.expiry}:${g.granteeAdmission}`;
