/**
 * Wrapping a 256-bit data key under a 256-bit symmetric key with AES-256-GCM (NIST SP 800-38D):
 * a random 96-bit nonce, the data key sealed with the caller's binding as additional authenticated
 * data, and the 128-bit tag. Bytes: nonce (12) || ciphertext (32) || tag (16). Used under the
 * one-per-answer response key (src/crypto/responseKey.ts): no asymmetric operation per record.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { assertBytes, CryptoError } from './cryptoError.js';

const NONCE = 12;
const TAG = 16;
const KEY = 32;
export const SYMMETRIC_WRAP_BYTES = NONCE + KEY + TAG;

/** Seal `dataKey` under `kek`, bound to `aad`. */
export function wrapSymmetric(kek: Uint8Array, dataKey: Uint8Array, aad: Uint8Array): Uint8Array {
  assertBytes(kek, KEY, 'key-encryption key');
  assertBytes(dataKey, KEY, 'data key');
  const nonce = randomBytes(NONCE);
  const c = createCipheriv('aes-256-gcm', kek, nonce, { authTagLength: TAG });
  c.setAAD(aad);
  return new Uint8Array(Buffer.concat([nonce, c.update(dataKey), c.final(), c.getAuthTag()]));
}

/** Open a wrap made by `wrapSymmetric`; CryptoError('unwrap-failed') for a wrong key, binding or altered bytes. */
export function unwrapSymmetric(kek: Uint8Array, wrapped: Uint8Array, aad: Uint8Array): Uint8Array {
  assertBytes(kek, KEY, 'key-encryption key');
  assertBytes(wrapped, SYMMETRIC_WRAP_BYTES, 'wrapped key');
  const d = createDecipheriv('aes-256-gcm', kek, wrapped.subarray(0, NONCE), { authTagLength: TAG });
  d.setAAD(aad);
  d.setAuthTag(wrapped.subarray(NONCE + KEY));
  try {
    return new Uint8Array(Buffer.concat([d.update(wrapped.subarray(NONCE, NONCE + KEY)), d.final()]));
  } catch (cause) {
    throw new CryptoError(
      'unwrap-failed',
      'the data key does not unwrap with this key (wrong key, or the wrap was altered or moved)',
      { cause },
    );
  }
}
