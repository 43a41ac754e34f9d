/**
 * Who made an Ethereum signature (an EIP-191 message, an EIP-712 typed-data hash, any 32-byte
 * digest), checked with libsecp256k1 (src/crypto/libsecp256k1.ts). A node checks a secp256k1 signature on every
 * member-signed request, patient request and sign-in, and on tree heads: a member message
 * checked this way cost 0.13 ms of CPU (hashing included) against 2.6 ms with viem's
 * `verifyMessage` (@noble/curves, pure JavaScript), side by side on the 2-core machine at load 7.
 *
 * Only the canonical encoding is accepted
 * (src/crypto/canonicalSignature.ts: 65 bytes, v 27 or 28, low s); the signer's address is the
 * last 20 bytes of the Keccak-256 of the recovered public key, as Ethereum defines it. Checked
 * against viem's signing and recovery in signatureSigner.test.ts.
 */
import { type Address, bytesToHex, type Hex, hashMessage, hexToBytes } from 'viem';
import { isCanonicalSignature } from './canonicalSignature.js';
import { keccak256Into } from './keccak256.js';
import { libsecp256k1 } from './libsecp256k1.js';

/** The address (lowercase) that signed the 32-byte `digest` with canonical `signature`, or undefined. */
export function signerOfDigest(digest: Uint8Array, signature: string): Address | undefined {
  if (digest.length !== 32 || !isCanonicalSignature(signature)) return undefined;
  const sig = hexToBytes(signature);
  let publicKey: Uint8Array;
  try {
    publicKey = libsecp256k1.ecdsaRecover(sig.subarray(0, 64), (sig[64] as number) - 27, digest, false);
  } catch {
    return undefined; // no point recovers from it
  }
  const hash = new Uint8Array(32);
  keccak256Into(publicKey, 1, 64, hash, 0);
  return bytesToHex(hash.subarray(12)) as Address;
}

/** True when `address` made canonical `signature` over the 32-byte `digest` (hex or bytes). */
export function isSignedBy(address: string, digest: Hex | Uint8Array, signature: string): boolean {
  const d = typeof digest === 'string' ? hexToBytes(digest) : digest;
  const signer = signerOfDigest(d, signature);
  return signer !== undefined && signer === address.toLowerCase();
}

/** True when `address` signed `message` as EIP-191 (personal_sign) with canonical `signature`. */
export function isMessageSignedBy(address: string, message: string, signature: string): boolean {
  return isSignedBy(address, hashMessage(message), signature);
}
