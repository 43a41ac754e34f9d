import assert from 'node:assert/strict';
import * as node from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { createHash, hash } from './nodeCrypto.js';

describe('the browser shim of node:crypto', () => {
  test('SHA-256 equals Node’s, one-shot and streamed', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
        const want = node.createHash('sha256').update(data).digest();
        assert.deepEqual(Buffer.from(hash('sha256', data, 'buffer')), want);
        assert.deepEqual(Buffer.from(createHash('sha256').update(data).digest() as Uint8Array), want);
        // As src/log/merkle.ts asks for it: one character a byte.
        assert.equal(hash('sha256', data, 'binary'), node.hash('sha256', data, 'binary'));
      }),
    );
    assert.throws(() => hash('md5', new Uint8Array()), /not available in the browser/);
    assert.throws(() => hash('sha256', new Uint8Array(), 'hex' as never), /not available in the browser/);
  });
});
