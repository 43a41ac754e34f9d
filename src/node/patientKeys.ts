/**
 * A patient's own keys, in a file the patient keeps: a secp256k1 account (their chain address,
 * which signs consent) and an X25519 key pair (records are wrapped to it). Encrypted under the
 * patient's passphrase like a member key file; the address and public key stay readable.
 */
import { existsSync } from 'node:fs';
import { type Address, type Hex, isAddress, isHex, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { CryptoError } from '../crypto/cryptoError.js';
import { readKeystore, readKeystorePublic, writeKeystore } from '../crypto/keystore.js';
import { generateX25519 } from '../crypto/x25519.js';

export interface PatientKeys {
  signingKey: Hex;
  address: Address;
  encryptionPrivateKey: Hex;
  encryptionPublicKey: Hex;
}

const is32 = (v: unknown): v is Hex => typeof v === 'string' && isHex(v) && v.length === 66;

export function createPatientKeys(file: string, passphrase: string): PatientKeys {
  if (existsSync(file))
    throw new CryptoError('keystore-exists', `${file} exists; refusing to overwrite a key`);
  const signingKey = generatePrivateKey();
  const enc = generateX25519();
  const keys: PatientKeys = {
    signingKey,
    address: privateKeyToAccount(signingKey).address,
    encryptionPrivateKey: toHex(enc.privateKey),
    encryptionPublicKey: toHex(enc.publicKey),
  };
  writeKeystore(
    file,
    passphrase,
    { kind: 'patient', signingKey, encryptionPrivateKey: keys.encryptionPrivateKey },
    { kind: 'patient', address: keys.address, encryptionPublicKey: keys.encryptionPublicKey },
  );
  return keys;
}

export function loadPatientKeys(file: string, passphrase: string): PatientKeys {
  const s = readKeystore(file, passphrase);
  const p = readKeystorePublic(file);
  if (
    s.kind !== 'patient' ||
    !is32(s.signingKey) ||
    !is32(s.encryptionPrivateKey) ||
    !is32(p.encryptionPublicKey)
  ) {
    throw new CryptoError('keystore-corrupt', `${file} is not a medchain patient key file`);
  }
  return {
    signingKey: s.signingKey,
    address: privateKeyToAccount(s.signingKey).address,
    encryptionPrivateKey: s.encryptionPrivateKey,
    encryptionPublicKey: p.encryptionPublicKey as Hex,
  };
}

/** The address in a patient key file (no passphrase needed). */
export function patientAddressOf(file: string): Address {
  const p = readKeystorePublic(file);
  if (p.kind !== 'patient' || typeof p.address !== 'string' || !isAddress(p.address)) {
    throw new CryptoError('keystore-corrupt', `${file} is not a medchain patient key file`);
  }
  return p.address;
}
