/**
 * A member organization's keys: its chain account (secp256k1) and its X25519 encryption key pair.
 *
 * Stored as JSON in a file of mode 0600 in the member's data directory. NOTE: in this release the
 * file is protected by file permissions only; encryption under a passphrase-derived key is the
 * next step (issue #3), and until then the file must be treated like a private key.
 */
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { type Address, type Hex, isHex, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { generateX25519, x25519PublicKey } from '../crypto/x25519.js';
import { InvalidInputError } from '../errors.js';
import { writeFileAtomic } from '../util/atomicFile.js';

export interface MemberIdentity {
  chainKey: Hex;
  address: Address;
  encryptionPrivateKey: Hex;
  encryptionPublicKey: Hex;
}

/** Load the identity in `file`, or create one there (mode 0600) when it does not exist. */
export function loadOrCreateIdentity(file: string): { identity: MemberIdentity; created: boolean } {
  if (existsSync(file)) return { identity: loadIdentity(file), created: false };
  const chainKey = generatePrivateKey();
  const enc = generateX25519();
  const identity: MemberIdentity = {
    chainKey,
    address: privateKeyToAccount(chainKey).address,
    encryptionPrivateKey: toHex(enc.privateKey),
    encryptionPublicKey: toHex(enc.publicKey),
  };
  writeFileAtomic(file, `${JSON.stringify({ version: 1, ...identity }, null, 2)}\n`, 0o600);
  chmodSync(file, 0o600);
  return { identity, created: true };
}

export function loadIdentity(file: string): MemberIdentity {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new InvalidInputError(`cannot read the key file ${file}: ${(cause as Error).message}`, { cause });
  }
  const key = v.chainKey;
  const encPriv = v.encryptionPrivateKey;
  if (typeof key !== 'string' || !isHex(key) || key.length !== 66) {
    throw new InvalidInputError(`${file}: chainKey must be a 32-byte hex private key`);
  }
  if (typeof encPriv !== 'string' || !isHex(encPriv) || encPriv.length !== 66) {
    throw new InvalidInputError(`${file}: encryptionPrivateKey must be 32 bytes of hex`);
  }
  return {
    chainKey: key,
    address: privateKeyToAccount(key).address,
    encryptionPrivateKey: encPriv,
    encryptionPublicKey: toHex(x25519PublicKey(Buffer.from(encPriv.slice(2), 'hex'))),
  };
}
