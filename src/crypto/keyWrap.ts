/**
 * Wrapping data keys to recipients with HPKE (RFC 9180), base mode, single shot:
 * DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, via @hpke/core.
 * The wrap's AAD is the record binding, so a wrap only opens for the record version it was made for.
 */
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import { assertBytes, CryptoError } from './cryptoError.js';

/** The HPKE `info` of every medchain key wrap (also src/crypto/responseKey.ts's seal). */
export const WRAP_INFO = new TextEncoder().encode('medchain data key wrap v1');
const INFO = WRAP_INFO;

let suite: CipherSuite | undefined;
/** The medchain HPKE suite (created on first use; no work at import time). */
export function hpkeSuite(): CipherSuite {
  suite ??= new CipherSuite({
    kem: new DhkemX25519HkdfSha256(),
    kdf: new HkdfSha256(),
    aead: new Aes256Gcm(),
  });
  return suite;
}

export interface KeyWrap {
  /** The HPKE encapsulated key (32 bytes). */
  enc: Uint8Array;
  /** The sealed data key (32 + 16 bytes). */
  wrapped: Uint8Array;
}

/** Wrap `dataKey` to the X25519 public key `recipient`, bound to `aad`. */
export async function wrapKey(recipient: Uint8Array, dataKey: Uint8Array, aad: Uint8Array): Promise<KeyWrap> {
  assertBytes(recipient, 32, 'recipient public key');
  assertBytes(dataKey, 32, 'data key');
  const s = hpkeSuite();
  const recipientPublicKey = await s.kem.deserializePublicKey(recipient);
  const { ct, enc } = await s.seal({ recipientPublicKey, info: INFO }, dataKey, aad);
  return { enc: new Uint8Array(enc), wrapped: new Uint8Array(ct) };
}

/** Unwrap with the recipient's raw X25519 private key; CryptoError('unwrap-failed') when it is not theirs. */
export async function unwrapKey(
  recipientPrivate: Uint8Array,
  wrap: KeyWrap,
  aad: Uint8Array,
): Promise<Uint8Array> {
  return (await unwrapperFor(recipientPrivate))(wrap, aad);
}

/**
 * An unwrap function bound to one private key, imported once (a node unwraps many data keys with
 * the same private key; importing it each time costs about 0.4 ms).
 */
export async function unwrapperFor(
  recipientPrivate: Uint8Array,
): Promise<(wrap: KeyWrap, aad: Uint8Array) => Promise<Uint8Array>> {
  assertBytes(recipientPrivate, 32, 'recipient private key');
  const s = hpkeSuite();
  const recipientKey = await s.kem.deserializePrivateKey(recipientPrivate);
  return async (wrap, aad) => {
    assertBytes(wrap.enc, 32, 'encapsulated key');
    try {
      return new Uint8Array(await s.open({ recipientKey, enc: wrap.enc, info: INFO }, wrap.wrapped, aad));
    } catch (cause) {
      throw new CryptoError(
        'unwrap-failed',
        'the data key does not unwrap with this key (not a recipient, or the wrap was altered or moved)',
        { cause },
      );
    }
  };
}
