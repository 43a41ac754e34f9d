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
  // Computed for every record opened: one buffer, each field written in place.
  const parts = ['medchain-record-v1', b.resourceType, b.id, String(b.version), b.patient];
  let size = 0;
  for (const p of parts) size += 4 + Buffer.byteLength(p, 'utf8');
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const p of parts) {
    const n = out.write(p, at + 4, 'utf8');
    out.writeUInt32BE(n, at);
    at += 4 + n;
  }
  return out;
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
  return openRecordBound(dataKey, nonce, ciphertext, binding, bindingBytes(binding));
}

/**
 * `openRecord` with the binding's AAD bytes already computed (`aad` must be `bindingBytes(binding)`;
 * a reader that also unwrapped the data key under the same AAD computes it once).
 */
export function openRecordBound(
  dataKey: Uint8Array,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  binding: RecordBinding,
  aad: Uint8Array,
): Buffer {
  assertBytes(dataKey, DATA_KEY_BYTES, 'data key');
  assertBytes(nonce, NONCE_BYTES, 'nonce');
  assertBytes(ciphertext, undefined, 'ciphertext');
  if (ciphertext.length < TAG_BYTES) throw new CryptoError('decrypt-failed', 'ciphertext is too short');
  const decipher = createDecipheriv('aes-256-gcm', dataKey, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_BYTES));
  // GCM gives every byte from update and none from final: the plaintext is update's buffer, not
  // a concatenated copy; zeroed if the tag does not verify (it is not authentic then).
  const plain = decipher.update(ciphertext.subarray(0, ciphertext.length - TAG_BYTES));
  try {
    const rest = decipher.final();
    return rest.length === 0 ? plain : Buffer.concat([plain, rest]);
  } catch (cause) {
    plain.fill(0);
    throw new CryptoError(
      'decrypt-failed',
      `record ${binding.resourceType}/${binding.id}/_history/${binding.version} does not decrypt: wrong key, or the ciphertext was altered or moved`,
      { cause },
    );
  }
}
