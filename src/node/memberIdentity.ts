/**
 * A member organization's keys: its chain account (secp256k1), its X25519 encryption key pair and
 * its blind-index HMAC key. Stored in a passphrase-protected key file (src/crypto/keystore.ts,
 * mode 0600); the address and encryption public key are also kept in clear in that file so they can
 * be shared without the passphrase.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { type Address, type Hex, isAddress, isHex, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { CryptoError } from '../crypto/cryptoError.js';
import { readKeystore, readKeystorePublic, writeKeystore } from '../crypto/keystore.js';
import { generateX25519, x25519PublicKey } from '../crypto/x25519.js';

export interface MemberIdentity {
  chainKey: Hex;
  address: Address;
  encryptionPrivateKey: Hex;
  encryptionPublicKey: Hex;
  indexKey: Hex;
}

export interface PublicIdentity {
  address: Address;
  encryptionPublicKey: Hex;
}

/** Create a new identity in `file` (refuses to overwrite one). */
export function createIdentity(file: string, passphrase: string): MemberIdentity {
  if (existsSync(file))
    throw new CryptoError('keystore-exists', `${file} exists; refusing to overwrite a key`);
  const chainKey = generatePrivateKey();
  const enc = generateX25519();
  const identity: MemberIdentity = {
    chainKey,
    address: privateKeyToAccount(chainKey).address,
    encryptionPrivateKey: toHex(enc.privateKey),
    encryptionPublicKey: toHex(enc.publicKey),
    indexKey: toHex(randomBytes(32)),
  };
  writeKeystore(
    file,
    passphrase,
    { chainKey, encryptionPrivateKey: identity.encryptionPrivateKey, indexKey: identity.indexKey },
    { address: identity.address, encryptionPublicKey: identity.encryptionPublicKey },
  );
  return identity;
}

/** Load the identity in `file`, or create one there when it does not exist. */
export function loadOrCreateIdentity(
  file: string,
  passphrase: string,
): { identity: MemberIdentity; created: boolean } {
  if (existsSync(file)) return { identity: loadIdentity(file, passphrase), created: false };
  return { identity: createIdentity(file, passphrase), created: true };
}

const is32 = (v: unknown): v is Hex => typeof v === 'string' && isHex(v) && v.length === 66;

/** Decrypt the identity; CryptoError('wrong-passphrase') when the passphrase does not open it. */
export function loadIdentity(file: string, passphrase: string): MemberIdentity {
  const s = readKeystore(file, passphrase);
  if (!is32(s.chainKey) || !is32(s.encryptionPrivateKey) || !is32(s.indexKey)) {
    throw new CryptoError('keystore-corrupt', `${file} does not hold a medchain member identity`);
  }
  return {
    chainKey: s.chainKey,
    address: privateKeyToAccount(s.chainKey).address,
    encryptionPrivateKey: s.encryptionPrivateKey,
    encryptionPublicKey: toHex(x25519PublicKey(Buffer.from(s.encryptionPrivateKey.slice(2), 'hex'))),
    indexKey: s.indexKey,
  };
}

/** The public halves of an identity file (no passphrase needed). */
export function readPublicIdentity(file: string): PublicIdentity {
  const p = readKeystorePublic(file);
  if (typeof p.address !== 'string' || !isAddress(p.address) || !is32(p.encryptionPublicKey)) {
    throw new CryptoError('keystore-corrupt', `${file} does not hold a medchain member identity`);
  }
  return { address: p.address, encryptionPublicKey: p.encryptionPublicKey };
}
