import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Aes128Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import fc from 'fast-check';
import { CryptoError } from './cryptoError.js';
import { unwrapKey, wrapKey } from './keyWrap.js';
import { generateX25519 } from './x25519.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: ArrayBuffer | Uint8Array) =>
  Buffer.from(b instanceof Uint8Array ? b : new Uint8Array(b)).toString('hex');
const vector = JSON.parse(
  readFileSync(new URL('../../test/vectors/hpke-rfc9180-a1-base.json', import.meta.url), 'utf8'),
);

describe('HPKE (RFC 9180) via @hpke/core', () => {
  // RFC 9180 publishes no vector for X25519 with AES-256-GCM; A.1 exercises the same KEM
  // (DHKEM(X25519, HKDF-SHA256)) and KDF (HKDF-SHA256) that our suite uses, with AES-128-GCM.
  test('RFC 9180 A.1.1 base-mode vector (test/vectors): key derivation, encapsulation, sealing, export', async () => {
    const suite = new CipherSuite({
      kem: new DhkemX25519HkdfSha256(),
      kdf: new HkdfSha256(),
      aead: new Aes128Gcm(),
    });
    const recipient = await suite.kem.deriveKeyPair(hex(vector.ikmR));
    assert.equal(toHex(await suite.kem.serializePublicKey(recipient.publicKey)), vector.pkRm);
    assert.equal(toHex(await suite.kem.serializePrivateKey(recipient.privateKey)), vector.skRm);
    const ephemeral = await suite.kem.deriveKeyPair(hex(vector.ikmE));
    const sender = await suite.createSenderContext({
      recipientPublicKey: recipient.publicKey,
      info: hex(vector.info),
      ekm: ephemeral,
    });
    assert.equal(toHex(sender.enc), vector.enc);
    assert.equal(toHex(await suite.kem.serializePrivateKey(ephemeral.privateKey)), vector.skEm);
    const receiver = await suite.createRecipientContext({
      recipientKey: await suite.kem.deserializePrivateKey(hex(vector.skRm)),
      enc: hex(vector.enc),
      info: hex(vector.info),
    });
    // Seal and open in sequence; compare at the sequence numbers the RFC lists.
    const bySeq = new Map<number, { aad: string; pt: string; ct: string }>(
      vector.encryptions.map((e: { seq: number }) => [e.seq, e]),
    );
    const pt = hex(vector.encryptions[0].pt);
    for (let seq = 0; seq <= 256; seq++) {
      const e = bySeq.get(seq);
      const aad = e ? hex(e.aad) : new TextEncoder().encode(`Count-${seq}`);
      const ct = await sender.seal(pt, aad);
      if (e) assert.equal(toHex(ct), e.ct, `sequence ${seq}`);
      assert.equal(toHex(await receiver.open(ct, aad)), toHex(pt));
    }
    for (const x of vector.exports) {
      assert.equal(toHex(await sender.export(hex(x.context), x.length)), x.value);
      assert.equal(toHex(await receiver.export(hex(x.context), x.length)), x.value);
    }
  });

  test('a wrapped data key opens only for its recipient and its binding', async () => {
    const alice = generateX25519();
    const bob = generateX25519();
    const dataKey = new Uint8Array(32).fill(7);
    const aad = new TextEncoder().encode('Observation/1/_history/1');
    const wrap = await wrapKey(alice.publicKey, dataKey, aad);
    assert.equal(wrap.enc.length, 32);
    assert.equal(wrap.wrapped.length, 48);
    assert.deepEqual(await unwrapKey(alice.privateKey, wrap, aad), dataKey);
    await assert.rejects(
      unwrapKey(bob.privateKey, wrap, aad),
      (e: CryptoError) => e.code === 'unwrap-failed',
    );
    await assert.rejects(
      unwrapKey(alice.privateKey, wrap, new TextEncoder().encode('Observation/2/_history/1')),
      CryptoError,
    );
    const flipped = { ...wrap, wrapped: Uint8Array.from(wrap.wrapped, (b, i) => (i === 3 ? b ^ 1 : b)) };
    await assert.rejects(unwrapKey(alice.privateKey, flipped, aad), CryptoError);
  });

  test('round trip for random keys and bindings (fast-check)', async () => {
    const r = generateX25519();
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 64 }),
        async (key, aad) => {
          assert.deepEqual(await unwrapKey(r.privateKey, await wrapKey(r.publicKey, key, aad), aad), key);
        },
      ),
      { numRuns: 50 },
    );
  });

  test('bad key lengths are refused by name', async () => {
    await assert.rejects(
      wrapKey(new Uint8Array(31), new Uint8Array(32), new Uint8Array()),
      /recipient public key must be 32 bytes/,
    );
    await assert.rejects(
      wrapKey(new Uint8Array(32), new Uint8Array(16), new Uint8Array()),
      /data key must be 32 bytes/,
    );
  });
});
