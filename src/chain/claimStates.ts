/**
 * The states of contracts/Claims.sol (`Claims.State`, in declaration order). Free of Node APIs:
 * the node's chain view (claimsView.ts) and the portal (web/) name states with this one list.
 */
export const CLAIM_STATE = [
  'submitted',
  'pended',
  'approved',
  'denied',
  'disputed',
  'paid',
  'appealed',
] as const;
export type ClaimState = (typeof CLAIM_STATE)[number];
/** The contract's number of a state. */
export const claimStateNumber = (s: ClaimState): number => CLAIM_STATE.indexOf(s);
