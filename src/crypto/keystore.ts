/**
 * A member's secrets at rest: a JSON key file whose secret part is encrypted with AES-256-GCM under
 * a key derived from a passphrase with scrypt (RFC 7914; N=2^15, r=8, p=1), mode 0600. A wrong
 * passphrase fails authentication and is reported as such.
 */

import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomicFile.js';
import { securePrivateDir } from '../util/privateFiles.js';
import { CryptoError } from './cryptoError.js';

const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

interface KeyFile {
  version: 1;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  cipher: 'aes-256-gcm';
  nonce: string;
  ciphertext: string;
  /** Public values kept in clear so tools can show them without the passphrase. */
  public: Record<string, string>;
}

function deriveKey(passphrase: string, salt: Buffer, kdf: { N: number; r: number; p: number }): Buffer {
  return scryptSync(passphrase.normalize('NFKC'), salt, 32, { ...kdf, maxmem: SCRYPT.maxmem });
}

/** Encrypt `secrets` under `passphrase` into `file` (mode 0600, atomic; a new folder for it is 0700). */
export function writeKeystore(
  file: string,
  passphrase: string,
  secrets: Record<string, string>,
  pub: Record<string, string> = {},
): void {
  if (passphrase.length < 8)
    throw new CryptoError('weak-passphrase', 'the passphrase must be at least 8 characters');
  const salt = randomBytes(16);
  const nonce = randomBytes(12);
  const key = deriveKey(passphrase, salt, SCRYPT);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from('medchain-keystore-v1'));
  const ct = Buffer.concat([
    cipher.update(JSON.stringify(secrets), 'utf8'),
    cipher.final(),
    cipher.getAuthTag(),
  ]);
  const body: KeyFile = {
    version: 1,
    kdf: { name: 'scrypt', N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, salt: salt.toString('base64') },
    cipher: 'aes-256-gcm',
    nonce: nonce.toString('base64'),
    ciphertext: ct.toString('base64'),
    public: pub,
  };
  // A folder made for a key file is owner-only; an existing one (e.g. the current one) is left as is.
  if (!existsSync(path.dirname(file))) securePrivateDir(path.dirname(file), { create: true });
  writeFileAtomic(file, `${JSON.stringify(body, null, 2)}\n`, 0o600);
  chmodSync(file, 0o600);
}

function readKeyFile(file: string): KeyFile {
  if (!existsSync(file)) throw new CryptoError('keystore-missing', `no key file at ${file}`);
  let v: KeyFile;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new CryptoError('keystore-corrupt', `${file} is not a medchain key file (not JSON)`, { cause });
  }
  if (v?.version !== 1 || v.kdf?.name !== 'scrypt' || v.cipher !== 'aes-256-gcm') {
    throw new CryptoError('keystore-corrupt', `${file} is not a medchain key file (unknown format)`);
  }
  return v;
}

/** The public values of a key file (no passphrase needed). */
export function readKeystorePublic(file: string): Record<string, string> {
  return readKeyFile(file).public ?? {};
}

/** Decrypt the secrets in `file`; CryptoError('wrong-passphrase') when the passphrase does not open it. */
export function readKeystore(file: string, passphrase: string): Record<string, string> {
  const v = readKeyFile(file);
  const { N, r, p } = v.kdf;
  if (![N, r, p].every((x) => Number.isSafeInteger(x) && x > 0) || N > 1 << 20) {
    throw new CryptoError('keystore-corrupt', `${file} has unusable key-derivation parameters`);
  }
  const key = deriveKey(passphrase, Buffer.from(v.kdf.salt, 'base64'), { N, r, p });
  const ct = Buffer.from(v.ciphertext, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(v.nonce, 'base64'));
  decipher.setAAD(Buffer.from('medchain-keystore-v1'));
  decipher.setAuthTag(ct.subarray(ct.length - 16));
  let pt: Buffer;
  try {
    pt = Buffer.concat([decipher.update(ct.subarray(0, ct.length - 16)), decipher.final()]);
  } catch (cause) {
    throw new CryptoError('wrong-passphrase', `wrong passphrase for ${file}`, { cause });
  }
  return JSON.parse(pt.toString('utf8'));
}
