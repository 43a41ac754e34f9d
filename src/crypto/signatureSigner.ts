/**
 * Who made an Ethereum signature (an EIP-191 message, an EIP-712 typed-data hash, any 32-byte
 * digest), checked with libsecp256k1, the C library Bitcoin Core and Ethereum clients use, through
 * the `secp256k1` package's N-API binding. A node checks a secp256k1 signature on every
 * member-signed request, patient request and sign-in, and on tree heads; viem's own check
 * (@noble/curves, pure JavaScript) costs 1.5–3 ms of CPU on this machine, libsecp256k1 about
 * 0.07 ms (bench/results: the signed rows of supply.md).
 *
 * The binding is loaded directly (`secp256k1/bindings`), never through the package's entry point:
 * that one falls back silently to the pure-JavaScript `elliptic` when the native build is missing.
 * A node without it does not start; it says why. Only the canonical encoding is accepted
 * (src/crypto/canonicalSignature.ts: 65 bytes, v 27 or 28, low s); the signer's address is the
 * last 20 bytes of the Keccak-256 of the recovered public key, as Ethereum defines it. Checked
 * against viem's signing and recovery in signatureSigner.test.ts.
 */
import { createRequire } from 'node:module';
import { type Address, bytesToHex, type Hex, hashMessage, hexToBytes } from 'viem';
import { isCanonicalSignature } from './canonicalSignature.js';
import { CryptoError } from './cryptoError.js';
import { keccak256Into } from './keccak256.js';

interface Secp256k1Binding {
  ecdsaRecover(
    signature: Uint8Array,
    recoveryId: number,
    digest: Uint8Array,
    compressed: boolean,
  ): Uint8Array;
}

function loadBinding(): Secp256k1Binding {
  try {
    return createRequire(import.meta.url)('secp256k1/bindings') as Secp256k1Binding;
  } catch (err) {
    throw new CryptoError(
      'secp256k1-missing',
      `libsecp256k1 (the secp256k1 package's native binding) could not be loaded: ${(err as Error).message}; run npm ci on a supported platform (linux-x64 glibc or musl, darwin-arm64, win32-x64)`,
    );
  }
}

const native = loadBinding();

/** The address (lowercase) that signed the 32-byte `digest` with canonical `signature`, or undefined. */
export function signerOfDigest(digest: Uint8Array, signature: string): Address | undefined {
  if (digest.length !== 32 || !isCanonicalSignature(signature)) return undefined;
  const sig = hexToBytes(signature);
  let publicKey: Uint8Array;
  try {
    publicKey = native.ecdsaRecover(sig.subarray(0, 64), (sig[64] as number) - 27, digest, false);
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
