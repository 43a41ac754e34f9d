import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { CryptoError } from './cryptoError.js';
import { bindingBytes, openRecord, type RecordBinding, sealRecord } from './envelope.js';

const b: RecordBinding = { resourceType: 'Observation', id: 'abc', version: 1, patient: 'Patient/p1' };

describe('envelope encryption', () => {
  test('round trip for random plaintexts and bindings', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2048 }),
        fc.record({
          resourceType: fc.string(),
          id: fc.string(),
          version: fc.integer({ min: 1, max: 1e9 }),
          patient: fc.string(),
        }),
        (pt, binding) => {
          const s = sealRecord(pt, binding);
          assert.deepEqual(new Uint8Array(openRecord(s.dataKey, s.nonce, s.ciphertext, binding)), pt);
        },
      ),
      { numRuns: 200 },
    );
  });

  test('fresh key and nonce per version', () => {
    const pt = new TextEncoder().encode('{"resourceType":"Observation"}');
    const a = sealRecord(pt, b);
    const c = sealRecord(pt, b);
    assert.notDeepEqual(a.dataKey, c.dataKey);
    assert.notDeepEqual(a.nonce, c.nonce);
    assert.notDeepEqual(a.ciphertext, c.ciphertext);
  });

  test('a ciphertext moved to another record, version, type or patient does not decrypt', () => {
    const s = sealRecord(new TextEncoder().encode('secret'), b);
    const moved: RecordBinding[] = [
      { ...b, id: 'abd' },
      { ...b, version: 2 },
      { ...b, resourceType: 'Condition' },
      { ...b, patient: 'Patient/p2' },
    ];
    for (const m of moved) {
      assert.throws(
        () => openRecord(s.dataKey, s.nonce, s.ciphertext, m),
        (e: CryptoError) => e.code === 'decrypt-failed',
      );
    }
  });

  test('any flipped bit of the ciphertext or tag is detected', () => {
    const s = sealRecord(new TextEncoder().encode('0123456789'), b);
    for (let i = 0; i < s.ciphertext.length; i++) {
      const bad = Uint8Array.from(s.ciphertext, (x, j) => (j === i ? x ^ 0x80 : x));
      assert.throws(() => openRecord(s.dataKey, s.nonce, bad, b), CryptoError);
    }
    assert.throws(() => openRecord(s.dataKey, s.nonce, s.ciphertext.subarray(0, 10), b), /too short/);
    assert.throws(
      () => openRecord(s.dataKey.subarray(0, 16), s.nonce, s.ciphertext, b),
      /data key must be 32 bytes/,
    );
  });

  test('binding encoding is unambiguous', () => {
    const x = bindingBytes({ resourceType: 'A', id: 'bc', version: 1, patient: '' });
    const y = bindingBytes({ resourceType: 'Ab', id: 'c', version: 1, patient: '' });
    assert.notDeepEqual(x, y);
    assert.throws(() => bindingBytes({ ...b, version: 0 }), /positive integer/);
  });
});
