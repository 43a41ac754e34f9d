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

  test('binding bytes: known answers (the AAD of every stored record; they must never change)', () => {
    const cases: [RecordBinding, string][] = [
      [
        { resourceType: 'Observation', id: 'a-1', version: 3, patient: 'Patient/p1' },
        '000000126d6564636861696e2d7265636f72642d76310000000b4f62736572766174696f6e00000003612d3100000001330000000a50617469656e742f7031',
      ],
      [
        { resourceType: 'Patient', id: 'x', version: 1, patient: '' },
        '000000126d6564636861696e2d7265636f72642d76310000000750617469656e740000000178000000013100000000',
      ],
      [
        // Lengths count UTF-8 bytes, not characters.
        { resourceType: 'Observation', id: 'é', version: 123456789, patient: 'Patient/ü€' },
        '000000126d6564636861696e2d7265636f72642d76310000000b4f62736572766174696f6e00000002c3a9000000093132333435363738390000000d50617469656e742fc3bce282ac',
      ],
    ];
    for (const [binding, hex] of cases) assert.equal(Buffer.from(bindingBytes(binding)).toString('hex'), hex);
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
