/**
 * Test support: the other encodings of a secp256k1 signature that recover the same signer (high-s
 * twin, v as 0/1, EIP-2098 compact), and a second valid signature of the same message (another
 * nonce), for tests of canonical-signature and replay checks.
 */
import { secp256k1 } from '@noble/curves/secp256k1';
import { type Hex, hashMessage, hexToBigInt, hexToBytes, numberToHex } from 'viem';

const N = secp256k1.CURVE.n;
const word = (x: bigint) => numberToHex(x, { size: 32 }).slice(2);

/** r, s and v of a 65-byte signature. */
export function splitSignature(sig: Hex): { r: bigint; s: bigint; v: number } {
  return {
    r: hexToBigInt(`0x${sig.slice(2, 66)}`),
    s: hexToBigInt(`0x${sig.slice(66, 130)}`),
    v: Number.parseInt(sig.slice(130, 132), 16),
  };
}

/** The same signature in each non-canonical encoding. */
export function reencodings(sig: Hex): Record<'highS' | 'v0or1' | 'compact2098', Hex> {
  const { r, s, v } = splitSignature(sig);
  const yParity = BigInt(v - 27);
  return {
    highS: `0x${word(r)}${word(N - s)}${(v === 27 ? 28 : 27).toString(16)}`,
    v0or1: `0x${word(r)}${word(s)}0${v - 27}`,
    compact2098: `0x${word(r)}${word(s | (yParity << 255n))}`,
  };
}

/** Another valid, canonical EIP-191 signature of `message` (fresh nonce, so other r and s). */
export function resign(privateKey: Hex, message: string): Hex {
  const sig = secp256k1.sign(hexToBytes(hashMessage(message)), hexToBytes(privateKey), {
    lowS: true,
    extraEntropy: true,
  });
  return `0x${word(sig.r)}${word(sig.s)}${(27 + sig.recovery).toString(16)}`;
}
