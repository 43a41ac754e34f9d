/**
 * A member's request for consent, as a portal link the member gives the patient (by hand, mail or
 * QR code): `<portal>/#/patient?request=<member address>&categories=labs,general&purposes=treatment`.
 * Opening it fills in the patient's consent form; nothing happens until the patient signs.
 * Pure (tested in node).
 */
import { type Address, getAddress, isAddress } from 'viem';
import { CATEGORIES, PURPOSES } from '../../../src/chain/scopes.js';

export interface ConsentRequest {
  grantee: Address;
  categories: string[];
  purposes: string[];
}

export function requestLink(portal: string, r: ConsentRequest): string {
  const q = new URLSearchParams({
    request: r.grantee,
    categories: r.categories.join(','),
    purposes: r.purposes.join(','),
  });
  return `${portal.replace(/\/$/, '')}/#/patient?${q.toString()}`;
}

/** The request in a location hash, or undefined; unknown categories or purposes are dropped. */
export function parseRequest(hash: string): ConsentRequest | undefined {
  const i = hash.indexOf('?');
  if (i < 0) return undefined;
  const q = new URLSearchParams(hash.slice(i + 1));
  const grantee = q.get('request');
  if (!grantee || !isAddress(grantee)) return undefined;
  const list = (v: string | null, allowed: readonly string[]) =>
    (v ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter((x) => allowed.includes(x));
  const categories = list(q.get('categories'), CATEGORIES);
  const purposes = list(q.get('purposes'), PURPOSES);
  if (categories.length === 0 || purposes.length === 0) return undefined;
  return { grantee: getAddress(grantee), categories, purposes };
}
