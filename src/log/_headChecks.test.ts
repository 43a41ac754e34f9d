import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Hex } from 'viem';
import { type ChainHead, HeadChecks, type HeadProblem } from './_headChecks.js';
import { leafHash, MerkleTree, verifyConsistency } from './merkle.js';

const hex = (b: Uint8Array): Hex => `0x${Buffer.from(b).toString('hex')}`;
const leaf = (i: number) => leafHash(Uint8Array.of(i & 0xff, i >> 8, 5));
const tree = (n: number) => {
  const t = new MerkleTree();
  for (let i = 0; i < n; i++) t.append(leaf(i));
  return t;
};

/** Stream `n` leaves past checks of `heads`; the problems reported. */
function run(n: number, heads: ChainHead[], leafAt = leaf): HeadProblem[] {
  const found: HeadProblem[] = [];
  const c = new HeadChecks(heads, (kind) => found.push(kind));
  for (let i = 0; i < n; i++) c.append(leafAt(i));
  c.finish();
  return found.sort();
}

/** The same checks on a whole tree in memory, as the verifier did them before it streamed. */
function reference(n: number, heads: ChainHead[], leafAt = leaf): HeadProblem[] {
  const t = new MerkleTree();
  for (let i = 0; i < n; i++) t.append(leafAt(i));
  const found: HeadProblem[] = [];
  let previous: ChainHead | undefined;
  for (const h of [...heads].sort((a, b) => a.treeSize - b.treeSize)) {
    if (h.treeSize > t.size) found.push('log-truncated');
    else if (hex(t.root(h.treeSize)) !== h.rootHash) found.push('log-rewritten');
    if (previous && h.treeSize <= t.size) {
      const bytes = (x: Hex) => Buffer.from(x.slice(2), 'hex');
      const proof = t.consistencyProof(previous.treeSize, h.treeSize);
      if (
        !verifyConsistency(previous.treeSize, h.treeSize, bytes(previous.rootHash), bytes(h.rootHash), proof)
      )
        found.push('anchors-inconsistent');
    }
    previous = h;
  }
  return found.sort();
}

describe('anchored heads checked while the log streams past', () => {
  test('every pair of heads up to 64, right or with a wrong earlier root: as the whole tree says', () => {
    const t = tree(64);
    for (let n = 1; n <= 64; n++) {
      for (let m = 1; m <= n; m++) {
        const good = [
          { treeSize: m, rootHash: hex(t.root(m)) },
          { treeSize: n, rootHash: hex(t.root(n)) },
        ];
        assert.deepEqual(run(n, good), [], `${m} -> ${n}`);
        const bad = [{ treeSize: m, rootHash: `0x${'11'.repeat(32)}` as Hex }, good[1] as ChainHead];
        assert.deepEqual(run(n, bad), reference(n, bad), `${m} -> ${n}`);
        assert.ok(run(n, bad).includes('anchors-inconsistent'));
      }
    }
  });

  test('property: many heads, one leaf changed after anchoring, a log cut short: as the whole tree says', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 700 })
          .chain((n) =>
            fc.tuple(
              fc.constant(n),
              fc.array(fc.integer({ min: 1, max: n }), { minLength: 1, maxLength: 8 }),
              fc.integer({ min: 0, max: n - 1 }),
              fc.integer({ min: 0, max: n }),
            ),
          ),
        ([n, sizes, changed, cut]) => {
          const t = tree(n);
          const heads = sizes.map((s) => ({ treeSize: s, rootHash: hex(t.root(s)) }));
          assert.deepEqual(run(n, heads), []);
          const edited = (i: number) => (i === changed ? leaf(i + 100_000) : leaf(i));
          const found = run(n, heads, edited);
          assert.deepEqual(found, reference(n, heads, edited));
          // Every head covering the changed leaf no longer has its root.
          assert.equal(
            found.filter((k) => k === 'log-rewritten').length,
            sizes.filter((s) => s > changed).length,
          );
          assert.deepEqual(run(cut, heads, edited), reference(cut, heads, edited));
        },
      ),
      { numRuns: 200 },
    );
  });
});
