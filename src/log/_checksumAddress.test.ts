import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { getAddress, isAddress } from 'viem';
import { isChecksummedAddress } from './_checksumAddress.js';

const hex40 = fc
  .uint8Array({ minLength: 20, maxLength: 20 })
  .map((b) => `0x${Buffer.from(b).toString('hex')}`);
/** A form of an address: lowercase, EIP-55, or with the case of some letters flipped. */
const form = fc
  .tuple(hex40, fc.integer({ min: 0, max: 2 }), fc.array(fc.nat(39), { maxLength: 3 }))
  .map(([a, kind, flips]) => {
    if (kind === 0) return a;
    const sum = getAddress(a);
    if (kind === 1) return sum;
    const c = [...sum];
    for (const i of flips) {
      const ch = c[2 + i] as string;
      c[2 + i] = ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase();
    }
    return c.join('');
  });

test('isChecksummedAddress is viem strict isAddress, asked once or again (a passed address is remembered)', () => {
  fc.assert(
    fc.property(fc.array(form, { minLength: 1, maxLength: 20 }), (forms) => {
      // Each form twice, in two passes: a remembered address must not make another form of it pass.
      for (const a of [...forms, ...forms])
        assert.equal(isChecksummedAddress(a), isAddress(a, { strict: true }), a);
    }),
  );
  const a = getAddress('0x4d1ad100619f59d961c0cfd53d3cacf34b1892cd');
  assert.ok(isChecksummedAddress(a));
  assert.ok(isChecksummedAddress(a.toLowerCase()));
  assert.equal(isChecksummedAddress(a.replace('D', 'd')), false);
  assert.equal(isChecksummedAddress(`${a}0`), false);
  assert.equal(isChecksummedAddress(a.slice(0, -1)), false);
});
