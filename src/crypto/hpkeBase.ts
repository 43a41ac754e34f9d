/**
 * HPKE (RFC 9180) base mode, single shot, synchronous over node:crypto: DHKEM(X25519, HKDF-SHA256)
 * (§4.1, §7.1.3), HKDF-SHA256 (§4, labeled extract/expand), AES-256-GCM (AES-128-GCM for the RFC's
 * own test vector, which has none for AES-256-GCM). The same bytes as @hpke/core (src/crypto/keyWrap.ts;
 * interop both ways and the RFC 9180 A.1.1 vector in hpkeBase.test.ts); about a fifth of its CPU,
 * because @hpke/core runs every step as an async WebCrypto call. Used where the custodian seals
 * the one response key of an answer (src/crypto/responseKey.ts).
 *
 * The ephemeral private key comes from `generateKeyPairSync('x25519')`; its public key's raw bytes
 * are X25519(sk, 9) (RFC 7748 §6.1: the public key is the base point's multiple), computed with
 * `diffieHellman` against the base point: never a JWK export (`generateKeyPairSync` followed by
 * a JWK export deadlocked Node 20.20 in garbage collection under load; the soak test in
 * hpkeBase.test.ts runs this path), and cheaper than an SPKI DER export (OpenSSL's encoder lookup
 * cost about 0.065 ms of the 0.25 ms a seal took). A raw public key is imported as a JWK (`x`
 * only: about 0.012 ms, SPKI DER 0.09 ms), and up to 256 recipients' keys are kept imported; a
 * raw private key (test vectors, the recipient's side) from PKCS#8 DER (0.35 ms: OpenSSL's decoder
 * lookup). The key schedule's psk_id_hash and info_hash depend on the suite and `info` only and
 * are kept per (suite, info); the exporter secret is derived only where it is exported.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { assertBytes, CryptoError } from './cryptoError.js';

const KEM_ID = 0x0020; // DHKEM(X25519, HKDF-SHA256)
const KDF_ID = 0x0001; // HKDF-SHA256
/** AEAD ids of RFC 9180 §7.3 this module implements. */
export const AEADS = {
  'aes-128-gcm': { id: 0x0001, nk: 16 },
  'aes-256-gcm': { id: 0x0002, nk: 32 },
} as const;
export type Aead = keyof typeof AEADS;

const NN = 12;
const NT = 16;
const NSECRET = 32;
const enc8 = (s: string) => Buffer.from(s, 'ascii');
const i2osp2 = (n: number) => Buffer.of(n >> 8, n & 0xff);
const VERSION = enc8('HPKE-v1');
const KEM_SUITE = Buffer.concat([enc8('KEM'), i2osp2(KEM_ID)]);
const EMPTY = Buffer.alloc(0);

const SUITES = Object.fromEntries(
  Object.entries(AEADS).map(([name, a]) => [
    name,
    Buffer.concat([enc8('HPKE'), i2osp2(KEM_ID), i2osp2(KDF_ID), i2osp2(a.id)]),
  ]),
) as Record<Aead, Buffer>;
const hpkeSuite = (aead: Aead) => SUITES[aead];

/** §4 LabeledExtract: HKDF-Extract(salt, "HPKE-v1" || suite_id || label || ikm). */
function labeledExtract(suite: Buffer, salt: Uint8Array, label: string, ikm: Uint8Array): Buffer {
  return createHmac('sha256', salt).update(VERSION).update(suite).update(label, 'ascii').update(ikm).digest();
}

/** §4 LabeledExpand for L <= 32 (one HMAC block of HKDF-Expand). */
function labeledExpand(suite: Buffer, prk: Uint8Array, label: string, info: Uint8Array, l: number): Buffer {
  return createHmac('sha256', prk)
    .update(i2osp2(l))
    .update(VERSION)
    .update(suite)
    .update(label, 'ascii')
    .update(info)
    .update(Buffer.of(1))
    .digest()
    .subarray(0, l);
}

/** The PKCS#8 DER prefix of an X25519 private key (RFC 8410 §7); the raw 32 bytes follow. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

const privateKeyObject = (sk: Uint8Array) =>
  createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, sk]), format: 'der', type: 'pkcs8' });
const importPublic = (x: string) => createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' });

/** Recipients' public keys kept imported, by their base64url form (the custodian seals to few members). */
const imported = new Map<string, KeyObject>();
const IMPORTED_MAX = 256;

function publicKeyObject(pk: Uint8Array): KeyObject {
  const x = Buffer.from(pk.buffer, pk.byteOffset, pk.byteLength).toString('base64url');
  let k = imported.get(x);
  if (!k) {
    k = importPublic(x);
    if (imported.size >= IMPORTED_MAX) imported.clear();
    imported.set(x, k);
  }
  return k;
}

/** The X25519 base point u = 9 (RFC 7748 §4.1), as a public key. */
let basePoint: KeyObject | undefined;

/** The raw public key of `sk`: X25519(sk, 9) (RFC 7748 §6.1). */
function rawPublic(sk: KeyObject): Buffer {
  basePoint ??= importPublic(Buffer.concat([Buffer.of(9), Buffer.alloc(31)]).toString('base64url'));
  return diffieHellman({ privateKey: sk, publicKey: basePoint });
}

function dh(sk: KeyObject, pk: Uint8Array): Buffer {
  let z: Buffer;
  try {
    z = diffieHellman({ privateKey: sk, publicKey: publicKeyObject(pk) });
  } catch (cause) {
    throw new CryptoError('bad-public-key', 'the recipient public key is not a usable X25519 key', { cause });
  }
  // §7.1.4: an all-zero shared secret (a small-order public key) must be refused.
  if (z.every((b) => b === 0))
    throw new CryptoError('bad-public-key', 'the recipient public key is not a usable X25519 key');
  return z;
}

/** §4.1 ExtractAndExpand: the KEM shared secret from the DH output and enc || pkR. */
function sharedSecret(z: Uint8Array, enc: Uint8Array, pkR: Uint8Array): Buffer {
  const prk = labeledExtract(KEM_SUITE, EMPTY, 'eae_prk', z);
  return labeledExpand(KEM_SUITE, prk, 'shared_secret', Buffer.concat([enc, pkR]), NSECRET);
}

/** §5.1 key_schedule_context (mode base, no PSK) of a suite and `info`: public values, kept per pair. */
const contexts = new Map<string, Buffer>();
const CONTEXTS_MAX = 64;

function scheduleContext(aead: Aead, suite: Buffer, info: Uint8Array): Buffer {
  const k = `${aead}:${Buffer.from(info.buffer, info.byteOffset, info.byteLength).toString('hex')}`;
  let context = contexts.get(k);
  if (!context) {
    const pskIdHash = labeledExtract(suite, EMPTY, 'psk_id_hash', EMPTY);
    const infoHash = labeledExtract(suite, EMPTY, 'info_hash', info);
    context = Buffer.concat([Buffer.of(0), pskIdHash, infoHash]);
    if (contexts.size >= CONTEXTS_MAX) contexts.clear();
    contexts.set(k, context);
  }
  return context;
}

/** §5.1 KeySchedule, mode base (no PSK): the AEAD key and base nonce, and how to get the exporter secret. */
function keySchedule(aead: Aead, shared: Uint8Array, info: Uint8Array) {
  const suite = hpkeSuite(aead);
  const context = scheduleContext(aead, suite, info);
  const secret = labeledExtract(suite, shared, 'secret', EMPTY);
  return {
    key: labeledExpand(suite, secret, 'key', context, AEADS[aead].nk),
    baseNonce: labeledExpand(suite, secret, 'base_nonce', context, NN),
    exporterSecret: () => labeledExpand(suite, secret, 'exp', context, NSECRET),
  };
}

/** §7.1.3 DeriveKeyPair for X25519: the private key derived from `ikm` (for test vectors). */
export function deriveX25519(ikm: Uint8Array): { privateKey: Uint8Array; publicKey: Uint8Array } {
  const prk = labeledExtract(KEM_SUITE, EMPTY, 'dkp_prk', ikm);
  const sk = labeledExpand(KEM_SUITE, prk, 'sk', EMPTY, 32);
  return { privateKey: new Uint8Array(sk), publicKey: new Uint8Array(rawPublic(privateKeyObject(sk))) };
}

/** A single-shot base-mode seal: the encapsulated key and the ciphertext (plaintext + 16-byte tag). */
export interface SealedBase {
  enc: Uint8Array;
  ct: Uint8Array;
}

/**
 * §6.1 SealBase(pkR, info, aad, pt), single shot (sequence 0). `ephemeral` (a raw X25519
 * private key) only for test vectors: by default a freshly generated key pair.
 */
export function sealBase(
  recipient: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  pt: Uint8Array,
  opts: { aead?: Aead; ephemeral?: Uint8Array } = {},
): SealedBase {
  assertBytes(recipient, 32, 'recipient public key');
  const aead = opts.aead ?? 'aes-256-gcm';
  let skObj: KeyObject;
  if (opts.ephemeral) {
    assertBytes(opts.ephemeral, 32, 'ephemeral private key');
    skObj = privateKeyObject(opts.ephemeral);
  } else skObj = generateKeyPairSync('x25519').privateKey;
  const enc = rawPublic(skObj);
  const { key, baseNonce } = keySchedule(aead, sharedSecret(dh(skObj, recipient), enc, recipient), info);
  const c = createCipheriv(aead, key, baseNonce, { authTagLength: NT });
  c.setAAD(aad);
  const ct = Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
  key.fill(0);
  return { enc: new Uint8Array(enc), ct: new Uint8Array(ct) };
}

/** §6.1 OpenBase(enc, skR, info, aad, ct), single shot; CryptoError('unwrap-failed') when it does not open. */
export function openBase(
  recipientPrivate: Uint8Array,
  sealed: SealedBase,
  info: Uint8Array,
  aad: Uint8Array,
  opts: { aead?: Aead } = {},
): Uint8Array {
  assertBytes(recipientPrivate, 32, 'recipient private key');
  assertBytes(sealed.enc, 32, 'encapsulated key');
  const aead = opts.aead ?? 'aes-256-gcm';
  if (!(sealed.ct instanceof Uint8Array) || sealed.ct.length < NT)
    throw new CryptoError('unwrap-failed', 'the sealed bytes are too short to be an HPKE ciphertext');
  const skObj = privateKeyObject(recipientPrivate);
  const pkR = rawPublic(skObj);
  let key: Buffer | undefined;
  try {
    const ks = keySchedule(aead, sharedSecret(dh(skObj, sealed.enc), sealed.enc, pkR), info);
    key = ks.key;
    const d = createDecipheriv(aead, key, ks.baseNonce, { authTagLength: NT });
    d.setAAD(aad);
    d.setAuthTag(sealed.ct.subarray(sealed.ct.length - NT));
    return new Uint8Array(Buffer.concat([d.update(sealed.ct.subarray(0, sealed.ct.length - NT)), d.final()]));
  } catch (cause) {
    throw new CryptoError(
      'unwrap-failed',
      'the sealed key does not open with this key (not the recipient, or the bytes were altered or moved)',
      { cause },
    );
  } finally {
    key?.fill(0);
  }
}

/** §5.3 Export for a sender's context: exporter secret for test vectors (single shot). */
export function exportBase(
  recipient: Uint8Array,
  info: Uint8Array,
  ephemeral: Uint8Array,
  exporterContext: Uint8Array,
  length: number,
  opts: { aead?: Aead } = {},
): Uint8Array {
  const skObj = privateKeyObject(ephemeral);
  const enc = rawPublic(skObj);
  const ks = keySchedule(
    opts.aead ?? 'aes-256-gcm',
    sharedSecret(dh(skObj, recipient), enc, recipient),
    info,
  );
  const suite = hpkeSuite(opts.aead ?? 'aes-256-gcm');
  return new Uint8Array(labeledExpand(suite, ks.exporterSecret(), 'sec', exporterContext, length));
}
