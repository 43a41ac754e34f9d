/**
 * The one accepted encoding of a secp256k1 (Ethereum, EIP-191) signature: 65 bytes r ‖ s ‖ v with
 * v in {27, 28} and low s (s <= n/2, as EIP-2 requires of transactions). Every signature has other
 * encodings that recover the same signer: the high-s twin (n - s with the other v), v as 0/1, and
 * the 64-byte EIP-2098 compact form. Accepting only one means a signature cannot be re-encoded to
 * pass a check that remembers what it has seen.
 */
import { secp256k1 } from '@noble/curves/secp256k1';
import { bytesToBigInt, type Hex, hexToBytes } from 'viem';

const N = secp256k1.CURVE.n;
const HALF_N = N >> 1n;

/** True when `signature` is 0x and 130 hex digits: r and s in [1, n/2 for s], v 27 or 28. */
export function isCanonicalSignature(signature: string): signature is Hex {
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) return false;
  const bytes = hexToBytes(signature as Hex);
  const v = bytes[64];
  if (v !== 27 && v !== 28) return false;
  const r = bytesToBigInt(bytes.subarray(0, 32));
  const s = bytesToBigInt(bytes.subarray(32, 64));
  return r > 0n && r < N && s > 0n && s <= HALF_N;
}
