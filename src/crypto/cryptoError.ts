import { MedchainError } from '../errors.js';

/** A cryptographic operation refused its input: wrong key, tampered or misplaced ciphertext, bad length. */
export class CryptoError extends MedchainError {}

/** Assert `value` is a Uint8Array of exactly `length` bytes (noble-style argument check). */
export function assertBytes(
  value: unknown,
  length: number | undefined,
  name: string,
): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new CryptoError('bad-argument', `${name} must be bytes`);
  if (length !== undefined && value.length !== length) {
    throw new CryptoError('bad-argument', `${name} must be ${length} bytes, got ${value.length}`);
  }
}
