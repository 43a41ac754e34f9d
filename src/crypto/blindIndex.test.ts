import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { blindToken } from './blindIndex.js';

describe('blind index', () => {
  const k1 = new Uint8Array(32).fill(1);
  const k2 = new Uint8Array(32).fill(2);
  test('deterministic per key, parameter and value; unrelated otherwise', () => {
    assert.equal(
      blindToken(k1, 'Observation.code', 'http://loinc.org|718-7'),
      blindToken(k1, 'Observation.code', 'http://loinc.org|718-7'),
    );
    assert.notEqual(blindToken(k1, 'Observation.code', 'x'), blindToken(k2, 'Observation.code', 'x'));
    assert.notEqual(blindToken(k1, 'Observation.code', 'x'), blindToken(k1, 'Condition.code', 'x'));
    assert.match(blindToken(k1, 'p', 'v'), /^[0-9a-f]{64}$/);
  });
  test('parameter/value boundary cannot be shifted', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (a, b, c) => {
        fc.pre(!a.includes('\0') && !(a + b).includes('\0'));
        fc.pre(a !== a + c);
        assert.notEqual(blindToken(k1, a, c + b), blindToken(k1, a + c, b));
      }),
    );
  });
  test('the token does not contain the value', () => {
    assert.ok(!blindToken(k1, 'Patient.name', 'Smith').includes('Smith'));
    assert.throws(() => blindToken(new Uint8Array(8), 'p', 'v'), /index key must be 32 bytes/);
  });
});
