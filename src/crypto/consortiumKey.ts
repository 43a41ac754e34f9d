/**
 * The consortium key: one 256-bit secret every active member holds, under which discovery tokens
 * are computed (src/crypto/discoveryToken.ts). Never on chain. It is made once when the network is
 * set up and delivered to each member sealed with HPKE (RFC 9180, src/crypto/keyWrap.ts) to that
 * member's X25519 key from the Registry, bound to the member's address and the key's id, so a sealed
 * copy opens only for the member it was made for. Its id (a hash prefix, not secret) travels with
 * every discovery request, so members under different keys refuse instead of silently missing.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Address } from 'viem';
import { assertBytes, CryptoError } from './cryptoError.js';
import { CONSORTIUM_KEY_BYTES } from './discoveryToken.js';
import { unwrapKey, wrapKey } from './keyWrap.js';

export interface ConsortiumKey {
  /** 16 hex digits naming the key (SHA-256 prefix; reveals nothing about it). */
  id: string;
  key: Uint8Array;
}

/** A consortium key sealed to one member: what is handed to it (a file, or a member-signed answer). */
export interface SealedConsortiumKey {
  id: string;
  /** Hex of the HPKE encapsulated key and of the sealed key. */
  enc: string;
  wrapped: string;
}

export const CONSORTIUM_KEY_ID = /^[0-9a-f]{16}$/;

/** The id of a consortium key. */
export function consortiumKeyId(key: Uint8Array): string {
  assertBytes(key, CONSORTIUM_KEY_BYTES, 'consortium key');
  return createHash('sha256')
    .update('medchain consortium key id v1\0')
    .update(key)
    .digest('hex')
    .slice(0, 16);
}

/** A fresh consortium key (at network setup, or for a rotation). */
export function newConsortiumKey(): ConsortiumKey {
  const key = new Uint8Array(randomBytes(CONSORTIUM_KEY_BYTES));
  return { id: consortiumKeyId(key), key };
}

const context = (member: Address, id: string) =>
  new TextEncoder().encode(`medchain consortium key v1\nto: ${member.toLowerCase()}\nid: ${id}`);

/** Seal `ck` to `member` (its Registry X25519 public key `recipient`). */
export async function sealConsortiumKey(
  recipient: Uint8Array,
  member: Address,
  ck: ConsortiumKey,
): Promise<SealedConsortiumKey> {
  const w = await wrapKey(recipient, ck.key, context(member, ck.id));
  return {
    id: ck.id,
    enc: Buffer.from(w.enc).toString('hex'),
    wrapped: Buffer.from(w.wrapped).toString('hex'),
  };
}

/** Open a consortium key sealed to `member`; CryptoError when it is not for us or was altered. */
export async function openConsortiumKey(
  privateKey: Uint8Array,
  member: Address,
  sealed: SealedConsortiumKey,
): Promise<ConsortiumKey> {
  if (
    !CONSORTIUM_KEY_ID.test(sealed.id) ||
    !/^[0-9a-f]{64}$/.test(sealed.enc) ||
    !/^[0-9a-f]{96}$/.test(sealed.wrapped)
  )
    throw new CryptoError('bad-argument', 'a sealed consortium key is {id, enc, wrapped} in hex');
  const key = await unwrapKey(
    privateKey,
    {
      enc: new Uint8Array(Buffer.from(sealed.enc, 'hex')),
      wrapped: new Uint8Array(Buffer.from(sealed.wrapped, 'hex')),
    },
    context(member, sealed.id),
  );
  if (consortiumKeyId(key) !== sealed.id)
    throw new CryptoError('unwrap-failed', 'the consortium key does not have the id it was sent with');
  return { id: sealed.id, key };
}
