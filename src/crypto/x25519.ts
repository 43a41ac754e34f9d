/** X25519 key pairs (RFC 7748) from node:crypto, as raw 32-byte values. */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { InvalidInputError } from '../errors.js';

export interface X25519KeyPair {
  /** Raw 32-byte private scalar. */
  privateKey: Uint8Array;
  /** Raw 32-byte public key (u-coordinate). */
  publicKey: Uint8Array;
}

export function generateX25519(): X25519KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  return {
    privateKey: Buffer.from(privateKey.export({ format: 'jwk' }).d as string, 'base64url'),
    publicKey: Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url'),
  };
}

/** The public key of a raw X25519 private key. */
export function x25519PublicKey(privateKey: Uint8Array): Uint8Array {
  if (!(privateKey instanceof Uint8Array) || privateKey.length !== 32) {
    throw new InvalidInputError('an X25519 private key is 32 bytes');
  }
  const pub = createPublicKey(x25519PrivateKeyObject(privateKey));
  return Buffer.from(pub.export({ format: 'jwk' }).x as string, 'base64url');
}

/** PKCS#8 DER prefix of an X25519 private key (RFC 8410 §7); the raw 32 bytes follow. */
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** A node:crypto KeyObject for a raw X25519 private key. */
export function x25519PrivateKeyObject(privateKey: Uint8Array) {
  return createPrivateKey({
    key: Buffer.concat([PKCS8_X25519_PREFIX, privateKey]),
    format: 'der',
    type: 'pkcs8',
  });
}
