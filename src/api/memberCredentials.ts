/**
 * Which member credential a member route takes (docs/api.md, "Member authentication"). A MAC
 * (src/access/memberMac.ts) is deniable between the two members: the target could have made it
 * itself. So it is accepted only on lookups and reads, whose requests the target keeps no evidence
 * of; a request the target keeps as evidence of what the caller sent (a claim submission, a
 * shipment or illegitimate-product notice, a replica push) must carry the caller's signature. Any
 * route not listed here takes signatures only.
 */
import { ELIGIBILITY_PATH } from '../federation/eligibilityWire.js';
import { SUPPLY_PARTY_PATH } from '../supply/ship.js';
import { SUPPLY_VERIFY_PATH } from '../supply/verificationRequester.js';

/** The member routes (method and path, no query) that take a MAC as well as a signature. */
export const MAC_ROUTES: ReadonlySet<string> = new Set([
  'POST /federation/search',
  'POST /federation/replica/search',
  'POST /federation/discover',
  `POST ${ELIGIBILITY_PATH}`,
  `POST ${SUPPLY_VERIFY_PATH}`,
  `POST ${SUPPLY_PARTY_PATH}`,
]);

/** Whether a member's request to `method` `path` (without the query) may be authorized by a MAC. */
export function macAccepted(method: string, path: string): boolean {
  return MAC_ROUTES.has(`${method} ${path}`) || (method === 'GET' && path.startsWith('/log/'));
}
