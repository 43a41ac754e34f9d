import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keccak_256 } from '@noble/hashes/sha3.js';
import fc from 'fast-check';
import { keccak256Into, keccak256Short } from './keccak256.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('known answers: the empty message and "abc" (Keccak-256, Ethereum padding)', () => {
  assert.equal(
    hex(keccak256Short(new Uint8Array(0))),
    'c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470',
  );
  assert.equal(
    hex(keccak256Short(new TextEncoder().encode('abc'))),
    '4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45',
  );
});

test('the same hash as @noble/hashes for messages of one block and more (0 to 300 bytes)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), (m) => {
      assert.equal(hex(keccak256Short(m)), hex(keccak_256(m)));
    }),
    { numRuns: 2000 },
  );
});

test('in place, at offsets: reads its range, writes 32 bytes where told and nothing else', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 96, maxLength: 200 }),
      fc.nat(32),
      fc.integer({ min: 0, max: 64 }),
      (buf, from, length) => {
        const copy = Uint8Array.from(buf);
        const expected = keccak_256(buf.subarray(from, from + length));
        keccak256Into(buf, from, length, buf, from);
        assert.equal(hex(buf.subarray(from, from + 32)), hex(expected));
        assert.equal(hex(buf.subarray(from + 32)), hex(copy.subarray(from + 32)), 'bytes after untouched');
        assert.equal(hex(buf.subarray(0, from)), hex(copy.subarray(0, from)), 'bytes before untouched');
      },
    ),
  );
});

test('bad ranges are refused', () => {
  const b = new Uint8Array(200);
  for (const [what, from, length, at] of [
    ['a negative length', 0, -1, 0],
    ['past the input', 150, 64, 0],
    ['output past the end', 0, 32, 190],
  ] as const)
    assert.throws(() => keccak256Into(b, from, length, b, at), /keccak256Into/, what);
});
