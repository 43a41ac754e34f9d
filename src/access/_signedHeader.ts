/**
 * What member and patient request signatures share: the body hash they cover and the parsing of
 * their `<scheme> address=0x..,timestamp=<ms>,signature=0x..` Authorization header.
 */
import { createHash } from 'node:crypto';
import { type Address, getAddress, type Hex, isAddress } from 'viem';
import { isCanonicalSignature } from '../crypto/canonicalSignature.js';

/** SHA-256 (hex) of a request body as sent (UTF-8). */
export const bodyHash = (body: string) => createHash('sha256').update(body, 'utf8').digest('hex');

/**
 * The fields of a signed Authorization header, or undefined when it is not of `scheme`, is
 * malformed, or its signature is not in the canonical encoding (65 bytes, v 27/28, low s).
 */
export function signedHeaderFields(
  header: string | undefined,
  scheme: 'MedchainMember' | 'MedchainPatient',
): { address: Address; timestamp: number; signature: Hex } | undefined {
  if (!header?.startsWith(`${scheme} `) || header.length > 400) return undefined;
  const f = Object.fromEntries(
    header
      .slice(scheme.length + 1)
      .split(',')
      .map((kv) => kv.trim().split('=') as [string, string]),
  ) as { address?: string; timestamp?: string; signature?: string };
  if (
    !f.address ||
    !isAddress(f.address) ||
    !f.timestamp ||
    !/^\d{1,15}$/.test(f.timestamp) ||
    !f.signature ||
    !isCanonicalSignature(f.signature)
  ) {
    return undefined;
  }
  return { address: getAddress(f.address), timestamp: Number(f.timestamp), signature: f.signature };
}
