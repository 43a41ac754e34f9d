/**
 * The payer and payee of an 835 for consortium members, which have no NPI, tax id, interchange id
 * or postal address on chain: SYNTHETIC values derived from the member's chain address (stable, so
 * the same member is always named the same), its Registry name, and an address that says it is
 * synthetic. A real deployment replaces this with each member's trading-partner profile.
 */
import type { Address } from 'viem';
import type { PostalAddress, RemittancePayee, RemittancePayer } from './remittance835.js';

const SYNTHETIC_ADDRESS: PostalAddress = {
  line: '1 SYNTHETIC WAY',
  city: 'SPRINGFIELD',
  state: 'IL',
  postalCode: '62701',
};

/** A Registry name as an N102: upper case, no X12 delimiter or line break, at most 60 characters. */
export function x12Name(name: string, address: Address): string {
  const clean = name
    .toUpperCase()
    .replace(/[*^:~\r\n]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 60);
  return clean || `MEMBER ${address.slice(2, 10).toUpperCase()}`;
}

/** Nine decimal digits derived from the address (a synthetic EIN-like number). */
const nineDigits = (address: Address) => (BigInt(address) % 1_000_000_000n).toString().padStart(9, '0');

/** A 15-character interchange id: `M` and the first 14 hex digits of the address. */
const interchangeId = (address: Address) => `M${address.slice(2, 16).toUpperCase()}`;

/** The insurer as payer (synthetic ids; docs/claims.md "Payment runs"). */
export function syntheticPayer(address: Address, name: string): RemittancePayer {
  return {
    chainAddress: address,
    name: x12Name(name, address),
    interchangeId: interchangeId(address),
    companyId: `1${nineDigits(address)}`,
    address: SYNTHETIC_ADDRESS,
    contact: { qualifier: 'EM', value: `edi@${address.slice(2, 10).toLowerCase()}.example` },
  };
}

/** A provider as payee, named by a synthetic federal tax id (FI). */
export function syntheticPayee(address: Address, name: string): RemittancePayee {
  return {
    chainAddress: address,
    name: x12Name(name, address),
    interchangeId: interchangeId(address),
    id: { qualifier: 'FI', value: nineDigits(address) },
    address: SYNTHETIC_ADDRESS,
  };
}
