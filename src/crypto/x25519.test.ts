import assert from 'node:assert/strict';
import { createPublicKey, diffieHellman } from 'node:crypto';
import { describe, test } from 'node:test';
import { generateX25519, x25519PrivateKeyObject, x25519PublicKey } from './x25519.js';

describe('x25519', () => {
  test('RFC 7748 §6.1 test vector: Alice public key from her private key', () => {
    const alicePriv = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex');
    const alicePub = '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a';
    assert.equal(Buffer.from(x25519PublicKey(alicePriv)).toString('hex'), alicePub);
    const bobPriv = Buffer.from('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb', 'hex');
    const bobPub = createPublicKey({
      key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(x25519PublicKey(bobPriv)).toString('base64url') },
      format: 'jwk',
    });
    const shared = diffieHellman({ privateKey: x25519PrivateKeyObject(alicePriv), publicKey: bobPub });
    assert.equal(shared.toString('hex'), '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742');
  });

  test('generated pairs are consistent and fresh', () => {
    const a = generateX25519();
    const b = generateX25519();
    assert.equal(a.privateKey.length, 32);
    assert.deepEqual(Buffer.from(x25519PublicKey(a.privateKey)), Buffer.from(a.publicKey));
    assert.notDeepEqual(Buffer.from(a.publicKey), Buffer.from(b.publicKey));
    assert.throws(() => x25519PublicKey(new Uint8Array(31)), /32 bytes/);
  });
});
