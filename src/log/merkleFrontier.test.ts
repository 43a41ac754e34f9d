import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { EMPTY_ROOT, leafHash, MerkleTree } from './merkle.js';
import { MerkleFrontier } from './merkleFrontier.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const leaf = (i: number) => leafHash(Uint8Array.of(i & 0xff, i >> 8, 3));

describe('the right edge of a streamed tree', () => {
  test('its root and suffixes are those of the whole tree at every size', () => {
    const f = new MerkleFrontier();
    const t = new MerkleTree();
    assert.equal(hex(f.root()), hex(EMPTY_ROOT));
    for (let i = 0; i < 300; i++) {
      f.append(leaf(i));
      t.append(leaf(i));
      assert.equal(hex(f.root()), hex(t.root()), `size ${i + 1}`);
      for (const n of f.nodes()) {
        assert.equal(hex(n.hash), hex(t.subtree(n.start, n.start + n.size)));
        assert.equal(hex(f.suffix(n.start)), hex(t.subtree(n.start, t.size)));
      }
    }
    assert.throws(() => f.suffix(1), RangeError);
  });

  test('keeps exactly the complete subtrees asked for, as they form', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 0, max: 7 }),
        fc.nat(),
        (at, level, k) => {
          const size = 2 ** level;
          const start = (Math.floor(at / size) + (k % 3)) * size;
          const f = new MerkleFrontier();
          for (let i = 0; i < at; i++) f.append(leaf(i));
          f.want(start, size);
          const t = new MerkleTree();
          for (let i = 0; i < start + size; i++) t.append(leaf(i));
          for (let i = at; i < start + size; i++) {
            assert.equal(f.keptNode(start, size), undefined);
            f.append(leaf(i));
          }
          if (start >= at)
            assert.equal(hex(f.keptNode(start, size) as Uint8Array), hex(t.subtree(start, start + size)));
          f.clearWanted();
          assert.equal(f.keptNode(start, size), undefined);
        },
      ),
    );
  });
});
