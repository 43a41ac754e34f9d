/**
 * Which GS1 company prefixes (or whole GTINs) a member claimed in DrugLedger, read from the
 * contract's `PrefixClaimed` events (the directory itself is private to the contract), and which of
 * them a GTIN-14 falls under: a manufacturer commissions only its own GTINs and packs cases under its
 * own prefix.
 */
import type { Address } from 'viem';
import type { ChainConnection } from '../chain/clients.js';
import { drugLedgerAbi } from '../chain/generated/index.js';

/** One claim: a company prefix of `digits` digits, or (digits 14) a whole GTIN-14. */
export interface PrefixClaim {
  prefix: string;
  digits: number;
}

/** The claims `owner` made, oldest first. */
export async function claimedPrefixes(
  conn: ChainConnection,
  ledger: Address,
  owner: Address,
): Promise<PrefixClaim[]> {
  const events = await conn.publicClient.getContractEvents({
    address: ledger,
    abi: drugLedgerAbi,
    eventName: 'PrefixClaimed',
    args: { owner },
    fromBlock: 0n,
  });
  return events.map((e) => {
    const digits = Number(e.args.digits);
    return { prefix: String(e.args.prefix).padStart(digits, '0'), digits };
  });
}

/** The company prefix claim a GTIN-14 falls under (the longest), or undefined. */
export function companyPrefixOf(gtin: string, claims: readonly PrefixClaim[]): PrefixClaim | undefined {
  return claims
    .filter((c) => (c.digits === 14 ? c.prefix === gtin : gtin.slice(1, 1 + c.digits) === c.prefix))
    .sort((a, b) => b.digits - a.digits)[0];
}
