/**
 * The pairwise key two members share for authenticating one direction of their requests (member
 * request MACs, src/access/memberMac.ts): from their static X25519 keys in the Registry (RFC 7748),
 * no message exchanged.
 *
 *   ikm  = X25519(own private key, peer's Registry public key)      (the same for both directions)
 *   K    = HKDF-SHA256(ikm, salt = "medchain member mac v1",          (RFC 5869)
 *            info = "from: <A>\nto: <B>\nfrom key: <hex>\nto key: <hex>\nchain: <id>\nregistry: <address>")
 *
 * The info binds the direction (A's key towards B is not B's towards A, so nothing is reflected),
 * both Registry keys themselves (their ids are the keys: a key change gives another K), and the
 * deployment (chain id and Registry address: a key of another consortium is no key here). An
 * all-zero shared secret (a low-order public key, RFC 7748 §6.1) is refused: anyone could compute it.
 */
import { createPublicKey, diffieHellman, hkdfSync } from 'node:crypto';
import { type Address, getAddress } from 'viem';
import { assertBytes, CryptoError } from './cryptoError.js';
import { x25519PrivateKeyObject, x25519PublicKey } from './x25519.js';

/** The deployment a pairwise key is bound to. */
export interface MacDomain {
  chainId: number;
  /** The Registry contract whose keys are used. */
  registry: Address;
}

export const PAIRWISE_KEY_BYTES = 32;
const SALT = Buffer.from('medchain member mac v1', 'utf8');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** A raw X25519 public key as a node:crypto KeyObject. */
function publicKeyObject(publicKey: Uint8Array) {
  return createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(publicKey).toString('base64url') },
    format: 'jwk',
  });
}

/**
 * K for requests from `own` to `peer` (`to-peer`) or from `peer` to `own` (`from-peer`). Both ends
 * compute the same K for one direction. CryptoError when the peer's key gives no usable secret.
 */
export function pairwiseMacKey(
  own: { address: Address; privateKey: Uint8Array },
  peer: { address: Address; publicKey: Uint8Array },
  direction: 'to-peer' | 'from-peer',
  domain: MacDomain,
): Uint8Array {
  assertBytes(own.privateKey, 32, 'an X25519 private key');
  assertBytes(peer.publicKey, 32, 'an X25519 public key');
  if (!Number.isSafeInteger(domain.chainId) || domain.chainId <= 0)
    throw new CryptoError('bad-argument', 'a chain id is a positive integer');
  const ownKey = { address: getAddress(own.address), publicKey: x25519PublicKey(own.privateKey) };
  const peerKey = { address: getAddress(peer.address), publicKey: peer.publicKey };
  const [from, to] = direction === 'to-peer' ? [ownKey, peerKey] : [peerKey, ownKey];
  let ikm: Buffer;
  try {
    ikm = diffieHellman({
      privateKey: x25519PrivateKeyObject(own.privateKey),
      publicKey: publicKeyObject(peer.publicKey),
    });
  } catch (cause) {
    throw new CryptoError('bad-public-key', 'the peer’s X25519 key gives no shared secret', { cause });
  }
  if (ikm.every((b) => b === 0))
    throw new CryptoError('bad-public-key', 'the peer’s X25519 key is of low order (all-zero shared secret)');
  const info = Buffer.from(
    `from: ${from.address}\nto: ${to.address}\nfrom key: ${hex(from.publicKey)}\nto key: ${hex(to.publicKey)}\nchain: ${domain.chainId}\nregistry: ${getAddress(domain.registry)}`,
    'utf8',
  );
  return new Uint8Array(hkdfSync('sha256', ikm, SALT, info, PAIRWISE_KEY_BYTES));
}
