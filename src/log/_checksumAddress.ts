/**
 * EIP-55 checksummed addresses for log entries, computed here rather than with viem's getAddress
 * and isAddress: those keep an 8192-entry LRU map that, once a log names more patients than that,
 * costs tens of microseconds per call (every hit deletes and re-inserts a key, and eviction walks
 * the deleted slots), which a verifier decoding millions of entries cannot afford. Same results.
 */
import { keccak_256 } from '@noble/hashes/sha3';
import type { Address } from 'viem';

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const cache = new Map<string, Address>();
/** Past this many addresses the cache starts over (a clear is O(1); no eviction walk). */
const CACHE_LIMIT = 4096;

/** The EIP-55 form of a 20-byte address given in any case (not validated). */
export function checksumAddress(address: string): Address {
  const lower = address.toLowerCase();
  const hit = cache.get(lower);
  if (hit) return hit;
  const hex = lower.slice(2);
  const hash = keccak_256(Buffer.from(hex, 'ascii'));
  let out = '0x';
  for (let i = 0; i < 40; i++) {
    const nibble = i % 2 === 0 ? (hash[i >> 1] as number) >> 4 : (hash[i >> 1] as number) & 0x0f;
    const c = hex[i] as string;
    out += nibble >= 8 ? c.toUpperCase() : c;
  }
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(lower, out as Address);
  return out as Address;
}

/**
 * Addresses that passed isChecksummedAddress: a log names the same member on every entry and the
 * same patients again and again, and one Set lookup costs less than the regular expression and
 * the two lowercasings of the check (which is a pure function of the string). Starts over past
 * CACHE_LIMIT, like `cache`.
 */
const passed = new Set<string>();

/** viem's isAddress (strict): 0x and 40 hex digits, all lowercase or correctly checksummed. */
export function isChecksummedAddress(address: string): boolean {
  if (passed.has(address)) return true;
  if (!ADDRESS.test(address)) return false;
  if (address.toLowerCase() !== address && checksumAddress(address) !== address) return false;
  if (passed.size >= CACHE_LIMIT) passed.clear();
  passed.add(address);
  return true;
}
