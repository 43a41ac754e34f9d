import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  EMPTY_ROOT,
  type Hash,
  leafHash,
  leafHashPrefixed,
  MerkleTree,
  nodeHash,
  verifyConsistency,
  verifyInclusion,
  verifyInclusions,
} from './merkle.js';

const V = JSON.parse(
  readFileSync(new URL('../../test/vectors/rfc6962-merkle.json', import.meta.url), 'utf8'),
);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const SOME = unhex('abacaba000000000000000000000000000000000000000000060061e00123456');

function tree(n: number): MerkleTree {
  const t = new MerkleTree();
  for (const l of (V.leaves as string[]).slice(0, n)) t.append(leafHash(unhex(l)));
  return t;
}

function bigTree(n: number): MerkleTree {
  const t = new MerkleTree();
  for (let i = 0; i < n; i++) t.append(leafHash(Uint8Array.of(i & 0xff, i >> 8, 7)));
  return t;
}

const flip = (path: Hash[], i: number, byte: number, bit: number) =>
  path.map((p, j) => (j === i ? Uint8Array.from(p, (x, k) => (k === byte ? x ^ (1 << bit) : x)) : p));

describe('RFC 6962/9162 known-answer vectors (test/vectors/rfc6962-merkle.json)', () => {
  test('leaf hashes and the roots of the empty tree and trees of 1 to 8 leaves', () => {
    assert.equal(hex(EMPTY_ROOT), V.roots[0]);
    assert.equal(hex(new MerkleTree().root()), V.roots[0]);
    for (const [i, l] of (V.leaves as string[]).entries())
      assert.equal(hex(leafHash(unhex(l))), V.leafHashes[i]);
    const t = tree(8);
    for (let n = 0; n <= 8; n++) {
      assert.equal(hex(t.root(n)), V.roots[n], `size ${n}`);
      assert.equal(hex(tree(n).root()), V.roots[n], `fresh tree of ${n}`);
    }
  });

  test('a leaf hashed where it lies behind its 0x00 byte (leafHashPrefixed) is leafHash of the entry', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1500 }), fc.nat(8), (entry, before) => {
        // Laid out inside a larger buffer, as the log lays a batch's entries out in one.
        const buf = new Uint8Array(before + 1 + entry.length + 3).fill(0xee);
        buf[before] = 0;
        buf.set(entry, before + 1);
        const h = leafHashPrefixed(buf.subarray(before, before + 1 + entry.length));
        assert.deepStrictEqual(h, leafHash(entry));
        // A plain Uint8Array of 32 bytes, as before (not a Buffer, not a view into a shared one).
        assert.equal(Object.getPrototypeOf(h), Uint8Array.prototype);
        assert.equal(h.buffer.byteLength, 32);
      }),
    );
    assert.throws(() => leafHashPrefixed(Uint8Array.of(1, 2, 3)), /0x00 \|\| entry/);
    assert.throws(() => leafHashPrefixed(new Uint8Array(0)), /0x00 \|\| entry/);
  });

  test('inclusion proofs match and verify', () => {
    const t = tree(8);
    for (const v of V.inclusion as { index: number; treeSize: number; path: string[] }[]) {
      const path = t.inclusionProof(v.index, v.treeSize);
      assert.deepEqual(path.map(hex), v.path, `${v.index} in ${v.treeSize}`);
      assert.ok(verifyInclusion(t.leaf(v.index), v.index, v.treeSize, path, unhex(V.roots[v.treeSize])));
    }
  });

  test('consistency proofs match and verify', () => {
    const t = tree(8);
    for (const v of V.consistency as { first: number; second: number; path: string[] }[]) {
      const path = t.consistencyProof(v.first, v.second);
      assert.deepEqual(path.map(hex), v.path, `${v.first} -> ${v.second}`);
      assert.ok(
        verifyConsistency(v.first, v.second, unhex(V.roots[v.first]), unhex(V.roots[v.second]), path),
      );
    }
  });

  test('every leaf and every pair of sizes up to 8 round-trips', () => {
    const t = tree(8);
    for (let n = 1; n <= 8; n++) {
      for (let i = 0; i < n; i++)
        assert.ok(verifyInclusion(t.leaf(i), i, n, t.inclusionProof(i, n), t.root(n)));
      for (let m = 1; m <= n; m++)
        assert.ok(verifyConsistency(m, n, t.root(m), t.root(n), t.consistencyProof(m, n)));
    }
  });
});

describe('corrupt it and it must fail', () => {
  test('inclusion proofs', () => {
    for (const [index, size] of [
      [0, 8],
      [5, 8],
      [2, 3],
      [1, 5],
      [6, 7],
      [12, 13],
      [0, 2],
    ] as const) {
      const t = size <= 8 ? tree(size) : bigTree(size);
      const root = t.root(size);
      const leaf = t.leaf(index);
      const path = t.inclusionProof(index, size);
      assert.ok(verifyInclusion(leaf, index, size, path, root));
      const probes: [string, boolean][] = [
        ['index - 1', verifyInclusion(leaf, index - 1, size, path, root)],
        ['index + 1', verifyInclusion(leaf, index + 1, size, path, root)],
        ['index ^ 2', verifyInclusion(leaf, index ^ 2, size, path, root)],
        ['size * 2', verifyInclusion(leaf, index, size * 2, path, root)],
        ['size / 2', verifyInclusion(leaf, index, Math.floor(size / 2), path, root)],
        ['wrong leaf', verifyInclusion(SOME, index, size, path, root)],
        ['empty root', verifyInclusion(leaf, index, size, path, EMPTY_ROOT)],
        ['random root', verifyInclusion(leaf, index, size, path, SOME)],
        ['trailing garbage', verifyInclusion(leaf, index, size, [...path, new Uint8Array()], root)],
        ['trailing root', verifyInclusion(leaf, index, size, [...path, root], root)],
        ['preceding garbage', verifyInclusion(leaf, index, size, [new Uint8Array(), ...path], root)],
        ['preceding root', verifyInclusion(leaf, index, size, [root, ...path], root)],
        ['index >= size', verifyInclusion(leaf, size, size, path, root)],
      ];
      if (path.length > 0)
        probes.push(['removed element', verifyInclusion(leaf, index, size, path.slice(0, -1), root)]);
      if (path.length > 1)
        probes.push([
          'inserted element',
          verifyInclusion(leaf, index, size, [path[0] as Hash, SOME, ...path.slice(1)], root),
        ]);
      for (let i = 0; i < path.length; i++) {
        for (let byte = 0; byte < 32; byte++) {
          for (let bit = 0; bit < 8; bit++) {
            if (verifyInclusion(leaf, index, size, flip(path, i, byte, bit), root))
              probes.push([`bit ${byte}.${bit} of path[${i}]`, true]);
          }
        }
      }
      const accepted = probes.filter(([, ok]) => ok).map(([d]) => d);
      assert.deepEqual(accepted, [], `${index} in ${size}: accepted ${accepted.join(', ')}`);
    }
  });

  test('consistency proofs', () => {
    for (const [first, second] of [
      [1, 8],
      [6, 8],
      [2, 5],
      [6, 7],
      [3, 7],
      [5, 13],
      [4, 8],
    ] as const) {
      const t = second <= 8 ? tree(second) : bigTree(second);
      const r1 = t.root(first);
      const r2 = t.root(second);
      const path = t.consistencyProof(first, second);
      assert.ok(verifyConsistency(first, second, r1, r2, path));
      const probes: [string, boolean][] = [
        ['first - 1', verifyConsistency(first - 1, second, r1, r2, path)],
        ['first + 1', verifyConsistency(first + 1, second, r1, r2, path)],
        ['first ^ 2', verifyConsistency(first ^ 2, second, r1, r2, path)],
        ['second * 2', verifyConsistency(first, second * 2, r1, r2, path)],
        ['second / 2', verifyConsistency(first, Math.floor(second / 2), r1, r2, path)],
        ['wrong root1', verifyConsistency(first, second, SOME, r2, path)],
        ['wrong root2', verifyConsistency(first, second, r1, SOME, path)],
        ['swapped roots', verifyConsistency(first, second, r2, r1, path)],
        ['empty proof', verifyConsistency(first, second, r1, r2, [])],
        ['trailing garbage', verifyConsistency(first, second, r1, r2, [...path, new Uint8Array()])],
        ['trailing root1', verifyConsistency(first, second, r1, r2, [...path, r1])],
        ['trailing root2', verifyConsistency(first, second, r1, r2, [...path, r2])],
        ['preceding garbage', verifyConsistency(first, second, r1, r2, [new Uint8Array(), ...path])],
        ['preceding root1', verifyConsistency(first, second, r1, r2, [r1, ...path])],
        ['preceding root2', verifyConsistency(first, second, r1, r2, [r2, ...path])],
        ['preceding path[0]', verifyConsistency(first, second, r1, r2, [path[0] as Hash, ...path])],
        ['truncated', verifyConsistency(first, second, r1, r2, path.slice(0, -1))],
        ['second < first', verifyConsistency(second, first, r2, r1, path)],
        ['first = 0', verifyConsistency(0, second, EMPTY_ROOT, r2, path)],
      ];
      for (let i = 0; i < path.length; i++) {
        for (let byte = 0; byte < 32; byte++) {
          for (let bit = 0; bit < 8; bit++) {
            if (verifyConsistency(first, second, r1, r2, flip(path, i, byte, bit)))
              probes.push([`bit ${byte}.${bit} of path[${i}]`, true]);
          }
        }
      }
      const accepted = probes.filter(([, ok]) => ok).map(([d]) => d);
      assert.deepEqual(accepted, [], `${first} -> ${second}: accepted ${accepted.join(', ')}`);
    }
  });

  test('edge cases: first = 0, second < first, first = second with a non-empty path', () => {
    const t = tree(8);
    assert.equal(verifyConsistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, []), false);
    assert.equal(verifyConsistency(0, 5, EMPTY_ROOT, t.root(5), []), false);
    assert.equal(verifyConsistency(5, 4, t.root(5), t.root(4), t.consistencyProof(4, 5)), false);
    assert.equal(verifyConsistency(5, 5, t.root(5), t.root(5), []), true);
    assert.equal(verifyConsistency(5, 5, t.root(5), t.root(5), [t.root(5)]), false);
    assert.equal(verifyConsistency(5, 5, t.root(5), t.root(4), []), false);
    assert.equal(verifyInclusion(t.leaf(0), 0, 0, [], EMPTY_ROOT), false);
    assert.equal(verifyInclusion(t.leaf(0), -1, 8, t.inclusionProof(0), t.root()), false);
    assert.throws(() => t.inclusionProof(8, 8), RangeError);
    assert.throws(() => t.consistencyProof(0, 8), RangeError);
    assert.throws(() => t.consistencyProof(9, 8), RangeError);
  });
});

describe('properties (fast-check)', () => {
  const treeAndIndex = fc
    .integer({ min: 1, max: 300 })
    .chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 })));

  test('generated inclusion proofs verify and any single change breaks them', () => {
    const big = bigTree(300);
    fc.assert(
      fc.property(treeAndIndex, fc.nat(), fc.nat({ max: 255 }), ([n, i], pick, bit) => {
        const path = big.inclusionProof(i, n);
        const root = big.root(n);
        assert.ok(verifyInclusion(big.leaf(i), i, n, path, root));
        if (path.length > 0) {
          const j = pick % path.length;
          assert.equal(verifyInclusion(big.leaf(i), i, n, flip(path, j, bit % 32, bit % 8), root), false);
        }
        assert.equal(
          verifyInclusion(big.leaf(i), i, n, path, flip([root], 0, bit % 32, bit % 8)[0] as Hash),
          false,
        );
        if (n > 1) assert.equal(verifyInclusion(big.leaf(i), (i + 1) % n, n, path, root), false);
      }),
      { numRuns: 300 },
    );
  });

  test('generated consistency proofs verify and any single change breaks them', () => {
    const big = bigTree(300);
    const sizes = fc
      .integer({ min: 1, max: 300 })
      .chain((n) => fc.tuple(fc.integer({ min: 1, max: n }), fc.constant(n)));
    fc.assert(
      fc.property(sizes, fc.nat(), fc.nat({ max: 255 }), ([m, n], pick, bit) => {
        const path = big.consistencyProof(m, n);
        assert.ok(verifyConsistency(m, n, big.root(m), big.root(n), path));
        if (path.length > 0) {
          assert.equal(
            verifyConsistency(
              m,
              n,
              big.root(m),
              big.root(n),
              flip(path, pick % path.length, bit % 32, bit % 8),
            ),
            false,
          );
        }
        if (m < n) {
          assert.equal(verifyConsistency(m, n, big.root(m), big.root(n - 1), path), false);
          assert.equal(verifyConsistency(m, n, big.root(m), big.root(n), path.slice(1)), false);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('the incremental tree equals the recursive definition', () => {
    // RFC 9162 §2.1.1 MTH, written out recursively.
    const reference = (leaves: Hash[]): Hash => {
      if (leaves.length === 0) return EMPTY_ROOT;
      if (leaves.length === 1) return leaves[0] as Hash;
      let k = 1;
      while (k * 2 < leaves.length) k *= 2;
      return nodeHash(reference(leaves.slice(0, k)), reference(leaves.slice(k)));
    };
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 20 }), { maxLength: 70 }), (entries) => {
        const leaves = entries.map(leafHash);
        const t = new MerkleTree();
        for (const l of leaves) t.append(l);
        assert.equal(hex(t.root()), hex(reference(leaves)));
      }),
    );
  });
});

describe('the flat tree: restore from persisted nodes, truncate', () => {
  test('fromNodes with any persisted prefix of each level equals the incremental tree', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 600 }), fc.array(fc.nat(), { maxLength: 12 }), (n, cut) => {
        const full = bigTree(n);
        const levels: Uint8Array[] = [];
        const filled: number[] = [];
        for (let j = 0; Math.floor(n / 2 ** j) > 0; j++) {
          const count = Math.floor(n / 2 ** j);
          const have = j === 0 ? count : (cut[j] ?? 0) % (count + 1);
          const buf = new Uint8Array(count * 32);
          buf.set(full.levelBytes(j, 0, have));
          levels.push(buf);
          filled.push(have);
        }
        const t = MerkleTree.fromNodes(n, levels, filled);
        assert.equal(t.size, n);
        assert.equal(hex(t.root()), hex(full.root()));
        for (let j = 0; j < full.height; j++)
          assert.equal(
            hex(t.levelBytes(j, 0, t.levelSize(j))),
            hex(full.levelBytes(j, 0, full.levelSize(j))),
          );
        if (n > 0) assert.deepEqual(t.inclusionProof(n - 1), full.inclusionProof(n - 1));
      }),
      { numRuns: 100 },
    );
  });

  test('truncate then append gives the tree of the new leaves', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.nat(),
        fc.integer({ min: 0, max: 40 }),
        (n, k, more) => {
          const cut = k % (n + 1);
          const t = bigTree(n);
          t.root(); // fills the cache of incomplete subtrees, which truncate must drop
          t.truncate(cut);
          const extra = Array.from({ length: more }, (_, i) => leafHash(Uint8Array.of(9, i)));
          for (const l of extra) t.append(l);
          const fresh = bigTree(cut);
          for (const l of extra) fresh.append(l);
          assert.equal(hex(t.root()), hex(fresh.root()));
          if (t.size > 0) assert.deepEqual(t.inclusionProof(0), fresh.inclusionProof(0));
        },
      ),
      { numRuns: 100 },
    );
  });

  test('interior nodes hashed on read: any mix of appends, reads and truncates gives the tree of the leaves left', () => {
    // Truncates land both below and above the last read (the leaves whose parents are hashed).
    const step = fc.oneof(
      fc.record({ op: fc.constant('append' as const), n: fc.integer({ min: 1, max: 40 }) }),
      fc.record({ op: fc.constant('read' as const), n: fc.constant(0) }),
      fc.record({ op: fc.constant('truncate' as const), n: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 25 }), (steps) => {
        const t = new MerkleTree();
        let leaves: Hash[] = [];
        let next = 0;
        for (const s of steps) {
          if (s.op === 'append')
            for (let i = 0; i < s.n; i++) {
              const l = leafHash(Uint8Array.of(next >> 8, next & 255));
              next++;
              leaves.push(l);
              t.append(l);
            }
          else if (s.op === 'read') t.hashPending();
          else {
            const cut = s.n % (leaves.length + 1);
            t.truncate(cut);
            leaves = leaves.slice(0, cut);
          }
        }
        const fresh = new MerkleTree();
        for (const l of leaves) fresh.append(l);
        assert.equal(t.size, leaves.length);
        assert.equal(hex(t.root()), hex(fresh.root()));
        assert.equal(t.height, fresh.height);
        for (let j = 0; j < fresh.height; j++)
          assert.equal(
            hex(t.levelBytes(j, 0, t.levelSize(j))),
            hex(fresh.levelBytes(j, 0, fresh.levelSize(j))),
          );
      }),
      { numRuns: 300 },
    );
  });

  test('bad arguments are refused', () => {
    const t = bigTree(10);
    assert.throws(() => t.truncate(11), RangeError);
    assert.throws(() => t.append(new Uint8Array(31)), RangeError);
    assert.throws(() => MerkleTree.fromNodes(4, [new Uint8Array(64)], [2]), RangeError);
    assert.throws(
      () => MerkleTree.fromNodes(4, [new Uint8Array(128), new Uint8Array(32)], [4, 0]),
      RangeError,
    );
    assert.throws(() => t.levelBytes(0, 5, 11), RangeError);
  });

  test('hashes handed out are copies', () => {
    const t = bigTree(8);
    const root = t.root();
    t.leaf(3).fill(0);
    t.inclusionProof(2)[0]?.fill(0);
    assert.equal(hex(t.root()), hex(root));
  });
});

describe('a batch of inclusion proofs under one head', () => {
  // Each item genuine or corrupted in one of the ways a forger would try; the batch must answer
  // every item exactly as the lone verifier does, whatever came before it in the batch.
  const corruption = fc.constantFrom(
    'none',
    'none',
    'none',
    'flip',
    'index+1',
    'drop-last',
    'drop-first',
    'append',
    'swap-last',
    'other-leaf',
    'other-path',
  );
  test('property: one answer per item, the lone verifier’s', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.array(fc.tuple(fc.nat(), corruption, fc.nat(), fc.nat()), { minLength: 1, maxLength: 60 }),
        (size, picks) => {
          const t = bigTree(size);
          const root = t.root();
          const items = picks.map(([i, how, x, y]) => {
            const index = i % size;
            let leaf = t.leaf(index);
            let path: Hash[] = t.inclusionProof(index);
            let at = index;
            if (how === 'flip' && path.length > 0) path = flip(path, x % path.length, y % 32, x % 8);
            if (how === 'index+1') at = index + 1;
            if (how === 'drop-last') path = path.slice(0, -1);
            if (how === 'drop-first') path = path.slice(1);
            if (how === 'append') path = [...path, root];
            if (how === 'swap-last' && path.length > 1)
              path = [...path.slice(0, -2), path.at(-1) as Hash, path.at(-2) as Hash];
            if (how === 'other-leaf') leaf = t.leaf((index + 1 + (x % size)) % size);
            if (how === 'other-path') path = t.inclusionProof((index + 1 + (x % size)) % size);
            return { leaf, index: at, path };
          });
          const lone = items.map((it) => verifyInclusion(it.leaf, it.index, size, it.path, root));
          assert.deepEqual(verifyInclusions(items, size, root), lone);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('every genuine proof of a tree verifies in one batch, and none under another root', () => {
    const size = 1000;
    const t = bigTree(size);
    const items = Array.from({ length: size }, (_, i) => ({
      leaf: t.leaf(i),
      index: i,
      path: t.inclusionProof(i),
    }));
    assert.ok(verifyInclusions(items, size, t.root()).every(Boolean));
    assert.ok(verifyInclusions(items, size, t.root(size - 1)).every((ok) => !ok));
  });

  test('a known node does not vouch for a proof whose path above it differs', () => {
    const t = bigTree(8);
    const good = { leaf: t.leaf(0), index: 0, path: t.inclusionProof(0) };
    // Leaf 1 reaches the node good computed at level 1; a forged top element must not ride on it.
    const forged = { leaf: t.leaf(1), index: 1, path: [...t.inclusionProof(1).slice(0, -1), SOME] };
    assert.deepEqual(verifyInclusions([good, forged], 8, t.root()), [true, false]);
  });
});
