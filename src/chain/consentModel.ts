/**
 * A reference model of contracts/Consent.sol's permission rule, in plain TypeScript. The property
 * test drives the contract and this model with the same random operations and checks they agree;
 * nodes may also use it to evaluate a grant already read from chain.
 */
export interface GrantTerms {
  categories: number;
  purposes: number;
  /** Seconds since the Unix epoch; inclusive. */
  validFrom: bigint;
  /** Seconds since the Unix epoch; exclusive. */
  expiry: bigint;
}

/** Whether `grant` (undefined when none is in force) covers one category bit and one purpose bit at `at`. */
export function grantPermits(
  grant: GrantTerms | undefined,
  granteeActive: boolean,
  category: number,
  purpose: number,
  at: bigint,
): boolean {
  if (!grant || !granteeActive || category === 0 || purpose === 0) return false;
  if ((grant.categories & category) !== category || (grant.purposes & purpose) !== purpose) return false;
  return at >= grant.validFrom && at < grant.expiry;
}
