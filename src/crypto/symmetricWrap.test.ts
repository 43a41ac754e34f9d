import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { CryptoError } from './cryptoError.js';
import { unwrapperFor } from './keyWrap.js';
import { newResponseKey, openResponseKey } from './responseKey.js';
import { SYMMETRIC_WRAP_BYTES, unwrapSymmetric, wrapSymmetric, wrapSymmetricAll } from './symmetricWrap.js';
import { generateX25519 } from './x25519.js';

const bytes = (n: number) => new Uint8Array(randomBytes(n));
const A = '0x000000000000000000000000000000000000000A' as const;
const B = '0x000000000000000000000000000000000000000b' as const;

describe('symmetric key wrap (AES-256-GCM)', () => {
  test('round trip for any key and binding', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 200 }),
        (dk, aad) => {
          const kek = bytes(32);
          const w = wrapSymmetric(kek, dk, aad);
          assert.equal(w.length, SYMMETRIC_WRAP_BYTES);
          assert.deepEqual(unwrapSymmetric(kek, w, aad), dk);
        },
      ),
    );
  });
  test('wrapSymmetricAll: each key under its own binding and its own random nonce, the same format', () => {
    const kek = bytes(32);
    const items = Array.from({ length: 20 }, (_, i) => ({
      dataKey: bytes(32),
      aad: new TextEncoder().encode(`Observation/${i}/_history/1`),
    }));
    const wraps = wrapSymmetricAll(kek, items);
    assert.equal(wraps.length, 20);
    for (const [i, w] of wraps.entries()) {
      assert.equal(w.length, SYMMETRIC_WRAP_BYTES);
      assert.deepEqual(unwrapSymmetric(kek, w, items[i]?.aad as Uint8Array), items[i]?.dataKey);
      const other = items[(i + 1) % 20]?.aad as Uint8Array;
      assert.throws(() => unwrapSymmetric(kek, w, other), CryptoError, 'bound to its own record');
    }
    const nonces = new Set(wraps.map((w) => Buffer.from(w.subarray(0, 12)).toString('hex')));
    assert.equal(nonces.size, 20, 'no nonce repeats');
    assert.deepEqual(wrapSymmetricAll(kek, []), []);
    assert.throws(() => wrapSymmetricAll(kek, [{ dataKey: bytes(31), aad: bytes(1) }]), CryptoError);
  });
  test('corrupt it and it must fail: every byte flipped, another binding, another key, short input', () => {
    const kek = bytes(32);
    const dk = bytes(32);
    const aad = new TextEncoder().encode('Observation/1/_history/1');
    const w = wrapSymmetric(kek, dk, aad);
    for (let i = 0; i < w.length; i++) {
      const bad = new Uint8Array(w);
      bad[i] = (bad[i] as number) ^ 1;
      assert.throws(() => unwrapSymmetric(kek, bad, aad), CryptoError, `byte ${i}`);
    }
    assert.throws(
      () => unwrapSymmetric(kek, w, new TextEncoder().encode('Observation/1/_history/2')),
      CryptoError,
    );
    assert.throws(() => unwrapSymmetric(bytes(32), w, aad), CryptoError);
    assert.throws(() => unwrapSymmetric(kek, w.subarray(1), aad), /must be 60 bytes/);
    assert.throws(() => wrapSymmetric(bytes(16), dk, aad), /must be 32 bytes/);
  });
  test('two wraps of one key differ (fresh nonce each time)', () => {
    const kek = bytes(32);
    const dk = bytes(32);
    assert.notDeepEqual(wrapSymmetric(kek, dk, new Uint8Array()), wrapSymmetric(kek, dk, new Uint8Array()));
  });
});

describe('response key (one HPKE seal per answer)', () => {
  test('opens for the requester it names, not for another pairing', async () => {
    const r = generateX25519();
    const { key, sealed } = await newResponseKey(r.publicKey, A, B);
    const unwrap = await unwrapperFor(r.privateKey);
    assert.deepEqual(await openResponseKey(unwrap, sealed, A, B), key);
    await assert.rejects(openResponseKey(unwrap, sealed, B, A), CryptoError);
    const other = await unwrapperFor(generateX25519().privateKey);
    await assert.rejects(openResponseKey(other, sealed, A, B), CryptoError);
  });
});
