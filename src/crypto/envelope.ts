/**
 * Envelope encryption of one record version: a fresh random 256-bit data key, AES-256-GCM with a
 * random 96-bit nonce (NIST SP 800-38D), and additional authenticated data that binds the
 * ciphertext to its record id, version, resource type and patient, so a ciphertext moved to
 * another row (or another version) fails to decrypt.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { assertBytes, CryptoError } from './cryptoError.js';

export const DATA_KEY_BYTES = 32;
export const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** What a ciphertext is bound to. */
export interface RecordBinding {
  resourceType: string;
  id: string;
  version: number;
  /** The patient the record belongs to ("Patient/<id>"), or '' when none. */
  patient: string;
}

export interface SealedRecord {
  dataKey: Uint8Array;
  nonce: Uint8Array;
  /** AES-256-GCM ciphertext followed by the 16-byte tag. */
  ciphertext: Uint8Array;
}

/**
 * Canonical AAD bytes: a domain label, then each field as a 4-byte big-endian length and its
 * UTF-8 bytes (unambiguous: no field can run into the next).
 */
export function bindingBytes(b: RecordBinding): Uint8Array {
  if (!Number.isSafeInteger(b.version) || b.version < 1) {
    throw new CryptoError('bad-argument', 'record version must be a positive integer');
  }
  const parts = ['medchain-record-v1', b.resourceType, b.id, String(b.version), b.patient].map((s) =>
    Buffer.from(s, 'utf8'),
  );
  return Buffer.concat(
    parts.flatMap((p) => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(p.length);
      return [len, p];
    }),
  );
}

/** Encrypt `plaintext` under a fresh data key. The caller wraps `dataKey` and then forgets it. */
export function sealRecord(plaintext: Uint8Array, binding: RecordBinding): SealedRecord {
  assertBytes(plaintext, undefined, 'plaintext');
  const dataKey = randomBytes(DATA_KEY_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', dataKey, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(bindingBytes(binding));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { dataKey, nonce, ciphertext };
}

/** Decrypt a record version; throws CryptoError('decrypt-failed') if anything does not match. */
export function openRecord(
  dataKey: Uint8Array,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  binding: RecordBinding,
): Uint8Array {
  assertBytes(dataKey, DATA_KEY_BYTES, 'data key');
  assertBytes(nonce, NONCE_BYTES, 'nonce');
  assertBytes(ciphertext, undefined, 'ciphertext');
  if (ciphertext.length < TAG_BYTES) throw new CryptoError('decrypt-failed', 'ciphertext is too short');
  const decipher = createDecipheriv('aes-256-gcm', dataKey, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(bindingBytes(binding));
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_BYTES));
  try {
    return Buffer.concat([
      decipher.update(ciphertext.subarray(0, ciphertext.length - TAG_BYTES)),
      decipher.final(),
    ]);
  } catch (cause) {
    throw new CryptoError(
      'decrypt-failed',
      `record ${binding.resourceType}/${binding.id}/_history/${binding.version} does not decrypt: wrong key, or the ciphertext was altered or moved`,
      { cause },
    );
  }
}
