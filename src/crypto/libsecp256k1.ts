/**
 * libsecp256k1, the C library Bitcoin Core and Ethereum clients use, through the `secp256k1`
 * package's N-API binding (prebuilt for linux-x64 glibc and musl, darwin-arm64, win32-x64). It is
 * loaded directly (`secp256k1/bindings`), never through the package's entry point: that one falls
 * back silently to the pure-JavaScript `elliptic` when the native build is missing. A node without
 * it does not start, and says why. Used by signatureSigner.ts (who signed) and memberAccount.ts
 * (the member's own signatures); no curve arithmetic of our own.
 */
import { createRequire } from 'node:module';
import { CryptoError } from './cryptoError.js';

/** The part of the binding's API medchain uses. */
export interface Libsecp256k1 {
  /** Recover the public key (65 bytes uncompressed when `compressed` is false); throws when none. */
  ecdsaRecover(
    signature: Uint8Array,
    recoveryId: number,
    digest: Uint8Array,
    compressed: boolean,
  ): Uint8Array;
  /** RFC 6979 deterministic, low-s ECDSA over a 32-byte digest: r ‖ s and the recovery id. */
  ecdsaSign(digest: Uint8Array, secretKey: Uint8Array): { signature: Uint8Array; recid: number };
  /** The public key of `secretKey` (65 bytes uncompressed when `compressed` is false). */
  publicKeyCreate(secretKey: Uint8Array, compressed: boolean): Uint8Array;
}

function load(): Libsecp256k1 {
  try {
    return createRequire(import.meta.url)('secp256k1/bindings') as Libsecp256k1;
  } catch (err) {
    throw new CryptoError(
      'secp256k1-missing',
      `libsecp256k1 (the secp256k1 package's native binding) could not be loaded: ${(err as Error).message}; run npm ci on a supported platform (linux-x64 glibc or musl, darwin-arm64, win32-x64)`,
    );
  }
}

/** The loaded binding. */
export const libsecp256k1: Libsecp256k1 = load();
