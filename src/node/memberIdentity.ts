/**
 * A member organization's keys: its chain account (secp256k1), its X25519 encryption key pair, its
 * blind-index HMAC key, and its key-encryption keys (AES-256, the newest is current: the member's
 * own copies of data keys are wrapped under it, so the local path needs no asymmetric operation).
 * Stored in a passphrase-protected key file (src/crypto/keystore.ts, mode 0600); the address and
 * encryption public key are also kept in clear in that file so they can be shared without the
 * passphrase. A key file from before key-encryption keys gets one the first time it is opened.
 * It also keeps the consortium keys this member was given (src/crypto/consortiumKey.ts), oldest
 * first; the last is current. A member without one takes part in no patient discovery.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { type Address, type Hex, isAddress, isHex, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import {
  CONSORTIUM_KEY_ID,
  type ConsortiumKey,
  openConsortiumKey,
  type SealedConsortiumKey,
} from '../crypto/consortiumKey.js';
import { CryptoError } from '../crypto/cryptoError.js';
import { readKeystore, readKeystorePublic, writeKeystore } from '../crypto/keystore.js';
import { generateX25519, x25519PublicKey } from '../crypto/x25519.js';

export interface MemberIdentity {
  chainKey: Hex;
  address: Address;
  encryptionPrivateKey: Hex;
  encryptionPublicKey: Hex;
  indexKey: Hex;
  /** Key-encryption keys, oldest first; the last is current. Ids are unique within the file. */
  keks: { id: string; key: Hex }[];
  /** Consortium keys (patient discovery), oldest first; the last is current. May be empty. */
  consortiumKeys: { id: string; key: Hex }[];
}

const newKek = (taken: readonly { id: string }[]) => {
  let id: string;
  do id = randomBytes(4).toString('hex');
  while (taken.some((k) => k.id === id));
  return { id, key: toHex(randomBytes(32)) };
};

function secretsOf(i: MemberIdentity): Record<string, string> {
  return {
    chainKey: i.chainKey,
    encryptionPrivateKey: i.encryptionPrivateKey,
    indexKey: i.indexKey,
    keks: JSON.stringify(i.keks),
    ...(i.consortiumKeys.length > 0 ? { consortiumKeys: JSON.stringify(i.consortiumKeys) } : {}),
  };
}

const publicOf = (i: MemberIdentity) => ({ address: i.address, encryptionPublicKey: i.encryptionPublicKey });

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
    keks: [newKek([])],
    consortiumKeys: [],
  };
  writeKeystore(file, passphrase, secretsOf(identity), publicOf(identity));
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
  let keks: MemberIdentity['keks'] = [];
  if (s.keks !== undefined) {
    try {
      keks = JSON.parse(s.keks);
    } catch {
      keks = [{ id: '', key: '0x' }];
    }
    if (
      !Array.isArray(keks) ||
      keks.length === 0 ||
      keks.some((k) => typeof k?.id !== 'string' || !/^[0-9a-f]{8}$/.test(k.id) || !is32(k.key))
    )
      throw new CryptoError('keystore-corrupt', `${file} holds malformed key-encryption keys`);
  }
  let consortiumKeys: MemberIdentity['consortiumKeys'] = [];
  if (s.consortiumKeys !== undefined) {
    try {
      consortiumKeys = JSON.parse(s.consortiumKeys);
    } catch {
      consortiumKeys = [{ id: '', key: '0x' }];
    }
    if (
      !Array.isArray(consortiumKeys) ||
      consortiumKeys.some((k) => typeof k?.id !== 'string' || !CONSORTIUM_KEY_ID.test(k.id) || !is32(k.key))
    )
      throw new CryptoError('keystore-corrupt', `${file} holds malformed consortium keys`);
  }
  const identity: MemberIdentity = {
    chainKey: s.chainKey,
    address: privateKeyToAccount(s.chainKey).address,
    encryptionPrivateKey: s.encryptionPrivateKey,
    encryptionPublicKey: toHex(x25519PublicKey(Buffer.from(s.encryptionPrivateKey.slice(2), 'hex'))),
    indexKey: s.indexKey,
    keks,
    consortiumKeys,
  };
  if (keks.length === 0) {
    // A key file from before key-encryption keys: add the first one, once.
    identity.keks = [newKek([])];
    writeKeystore(file, passphrase, secretsOf(identity), publicOf(identity));
  }
  return identity;
}

/** Add a new current key-encryption key to the identity in `file`; the older ones stay until retired. */
export function addKek(file: string, passphrase: string): MemberIdentity {
  const identity = loadIdentity(file, passphrase);
  identity.keks = [...identity.keks, newKek(identity.keks)];
  writeKeystore(file, passphrase, secretsOf(identity), publicOf(identity));
  return identity;
}

/** Keep only the current key-encryption key (after every wrap under the older ones was rewrapped). */
export function retireOldKeks(file: string, passphrase: string): MemberIdentity {
  const identity = loadIdentity(file, passphrase);
  identity.keks = identity.keks.slice(-1);
  writeKeystore(file, passphrase, secretsOf(identity), publicOf(identity));
  return identity;
}

/** The current consortium key of an identity, as bytes (undefined when it was given none). */
export function currentConsortiumKey(i: MemberIdentity): ConsortiumKey | undefined {
  const k = i.consortiumKeys.at(-1);
  return k ? { id: k.id, key: new Uint8Array(Buffer.from(k.key.slice(2), 'hex')) } : undefined;
}

/**
 * Open a consortium key sealed to this member and keep it in `file` as the current one (a key it
 * already holds is not added twice). Older keys stay until the consortium has moved on.
 */
export async function installConsortiumKey(
  file: string,
  passphrase: string,
  sealed: SealedConsortiumKey,
): Promise<MemberIdentity> {
  const identity = loadIdentity(file, passphrase);
  const ck = await openConsortiumKey(
    new Uint8Array(Buffer.from(identity.encryptionPrivateKey.slice(2), 'hex')),
    identity.address,
    sealed,
  );
  if (identity.consortiumKeys.at(-1)?.id === ck.id) return identity;
  identity.consortiumKeys = [
    ...identity.consortiumKeys.filter((k) => k.id !== ck.id),
    { id: ck.id, key: toHex(ck.key) },
  ];
  ck.key.fill(0);
  writeKeystore(file, passphrase, secretsOf(identity), publicOf(identity));
  return identity;
}

/** The public halves of an identity file (no passphrase needed). */
export function readPublicIdentity(file: string): PublicIdentity {
  const p = readKeystorePublic(file);
  if (typeof p.address !== 'string' || !isAddress(p.address) || !is32(p.encryptionPublicKey)) {
    throw new CryptoError('keystore-corrupt', `${file} does not hold a medchain member identity`);
  }
  return { address: p.address, encryptionPublicKey: p.encryptionPublicKey };
}
