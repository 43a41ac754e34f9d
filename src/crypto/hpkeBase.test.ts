import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { CryptoError } from './cryptoError.js';
import { deriveX25519, exportBase, openBase, sealBase } from './hpkeBase.js';
import { hpkeSuite } from './keyWrap.js';
import { generateX25519 } from './x25519.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const vector = JSON.parse(
  readFileSync(new URL('../../test/vectors/hpke-rfc9180-a1-base.json', import.meta.url), 'utf8'),
);
const INFO = new TextEncoder().encode('medchain test info');

describe('HPKE base mode over node:crypto (RFC 9180)', () => {
  // A.1.1 is X25519 / HKDF-SHA256 / AES-128-GCM: the same KEM and KDF as our AES-256-GCM suite.
  test('RFC 9180 A.1.1 vector: key derivation, encapsulation, the sequence-0 seal, export', () => {
    const r = deriveX25519(hex(vector.ikmR));
    assert.equal(toHex(r.privateKey), vector.skRm);
    assert.equal(toHex(r.publicKey), vector.pkRm);
    const e = deriveX25519(hex(vector.ikmE));
    assert.equal(toHex(e.privateKey), vector.skEm);
    assert.equal(toHex(e.publicKey), vector.pkEm);
    const first = vector.encryptions.find((x: { seq: number }) => x.seq === 0);
    const sealed = sealBase(r.publicKey, hex(vector.info), hex(first.aad), hex(first.pt), {
      aead: 'aes-128-gcm',
      ephemeral: e.privateKey,
    });
    assert.equal(toHex(sealed.enc), vector.enc);
    assert.equal(toHex(sealed.ct), first.ct);
    assert.equal(
      toHex(openBase(r.privateKey, sealed, hex(vector.info), hex(first.aad), { aead: 'aes-128-gcm' })),
      first.pt,
    );
    for (const x of vector.exports) {
      const got = exportBase(r.publicKey, hex(vector.info), e.privateKey, hex(x.context), x.length, {
        aead: 'aes-128-gcm',
      });
      assert.equal(toHex(got), x.value);
    }
  });

  test('interop with @hpke/core (AES-256-GCM), both ways', async () => {
    const s = hpkeSuite();
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 0, maxLength: 64 }),
        fc.uint8Array({ minLength: 0, maxLength: 96 }),
        async (pt, aad) => {
          const r = generateX25519();
          // ours -> @hpke/core
          const ours = sealBase(r.publicKey, INFO, aad, pt);
          const opened = await s.open(
            { recipientKey: await s.kem.deserializePrivateKey(r.privateKey), enc: ours.enc, info: INFO },
            ours.ct,
            aad,
          );
          assert.deepEqual(new Uint8Array(opened), pt);
          // @hpke/core -> ours
          const theirs = await s.seal(
            { recipientPublicKey: await s.kem.deserializePublicKey(r.publicKey), info: INFO },
            pt,
            aad,
          );
          const back = openBase(
            r.privateKey,
            { enc: new Uint8Array(theirs.enc), ct: new Uint8Array(theirs.ct) },
            INFO,
            aad,
          );
          assert.deepEqual(back, pt);
        },
      ),
      { numRuns: 40 },
    );
  });

  test('corrupt it and it must fail: other recipient, info, aad, enc, ciphertext, tag, length', () => {
    const r = generateX25519();
    const other = generateX25519();
    const aad = new TextEncoder().encode('binding');
    const sealed = sealBase(r.publicKey, INFO, aad, new Uint8Array(32).fill(9));
    const flip = (b: Uint8Array, i: number) => Uint8Array.from(b, (x, j) => (j === i ? x ^ 1 : x));
    const cases: [string, () => unknown][] = [
      ['other recipient', () => openBase(other.privateKey, sealed, INFO, aad)],
      ['other info', () => openBase(r.privateKey, sealed, new TextEncoder().encode('x'), aad)],
      ['other aad', () => openBase(r.privateKey, sealed, INFO, new TextEncoder().encode('bindinG'))],
      ['enc bit', () => openBase(r.privateKey, { ...sealed, enc: flip(sealed.enc, 0) }, INFO, aad)],
      ['ciphertext bit', () => openBase(r.privateKey, { ...sealed, ct: flip(sealed.ct, 0) }, INFO, aad)],
      ['tag bit', () => openBase(r.privateKey, { ...sealed, ct: flip(sealed.ct, 47) }, INFO, aad)],
      ['truncated', () => openBase(r.privateKey, { ...sealed, ct: sealed.ct.subarray(0, 40) }, INFO, aad)],
      ['too short', () => openBase(r.privateKey, { ...sealed, ct: sealed.ct.subarray(0, 8) }, INFO, aad)],
    ];
    for (const [name, f] of cases) assert.throws(f, CryptoError, name);
    assert.deepEqual(openBase(r.privateKey, sealed, INFO, aad), new Uint8Array(32).fill(9));
  });

  test('bad inputs are refused with named errors: lengths, types, a small-order public key', () => {
    const r = generateX25519();
    const pt = new Uint8Array(32);
    assert.throws(() => sealBase(new Uint8Array(31), INFO, pt, pt), /recipient public key must be 32 bytes/);
    assert.throws(() => sealBase('x' as unknown as Uint8Array, INFO, pt, pt), /must be bytes/);
    assert.throws(
      () => openBase(r.privateKey, { enc: new Uint8Array(33), ct: new Uint8Array(48) }, INFO, pt),
      /encapsulated key must be 32 bytes/,
    );
    // The all-zero u-coordinate has small order: the DH output is zero and must be refused.
    assert.throws(
      () => sealBase(new Uint8Array(32), INFO, pt, pt),
      (e: CryptoError) => e.code === 'bad-public-key',
    );
  });

  test('soak: 2,000 seals opened by @hpke/core and by this module, interleaved with GC pressure', async () => {
    const s = hpkeSuite();
    const r = generateX25519();
    const recipientKey = await s.kem.deserializePrivateKey(r.privateKey);
    const aad = new TextEncoder().encode('soak');
    for (let i = 0; i < 2000; i++) {
      const pt = new Uint8Array(32).fill(i & 0xff);
      const sealed = sealBase(r.publicKey, INFO, aad, pt);
      const back =
        i % 10 === 0
          ? new Uint8Array(await s.open({ recipientKey, enc: sealed.enc, info: INFO }, sealed.ct, aad))
          : openBase(r.privateKey, sealed, INFO, aad);
      assert.deepEqual(back, pt);
      if (i % 500 === 0) void new Array(100_000).fill(i).map((x) => ({ x }));
    }
  });
});
