import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import type { Hex } from 'viem';
import { buildUnitBatch, treeFromLevels, verifyUnitProof } from './unitBatch.js';
import { type Commitment, lotCommitment, unitCommitment } from './unitCommitment.js';

const key = new Uint8Array(32).fill(7);
const units = (n: number) =>
  Array.from({ length: n }, (_, i) => unitCommitment(key, '09506000134352', `S${i}`));

describe('unit commitments', () => {
  test('keyed: another key, serial, GTIN or domain gives another commitment', () => {
    const c = unitCommitment(key, '09506000134352', 'S1');
    assert.match(c, /^0x[0-9a-f]{64}$/);
    assert.equal(unitCommitment(key, '09506000134352', 'S1'), c);
    assert.notEqual(unitCommitment(new Uint8Array(32).fill(8), '09506000134352', 'S1'), c);
    assert.notEqual(unitCommitment(key, '09506000134352', 'S2'), c);
    assert.notEqual(unitCommitment(key, '09520123456788', 'S1'), c);
    assert.notEqual(
      lotCommitment(key, '09506000134352', 'S1'),
      c,
      'a lot and a serial of the same text differ',
    );
    assert.throws(() => unitCommitment(new Uint8Array(16), '09506000134352', 'S1'), /32 bytes/);
  });
});

describe('unit batch Merkle tree', () => {
  for (const n of [1, 2, 3, 7, 8, 1000]) {
    test(`${n} units: every proof verifies against the root`, () => {
      const u = units(n);
      const tree = buildUnitBatch(u);
      for (const c of u) assert.ok(verifyUnitProof(tree.root, c, tree.proof(c)));
    });
  }
  test('corrupt it and it must fail', () => {
    const u = units(13);
    const tree = buildUnitBatch(u);
    const c = u[5] as Commitment;
    const proof = tree.proof(c);
    const flip = (h: Hex): Hex => `0x${(BigInt(h) ^ 1n).toString(16).padStart(64, '0')}`;
    const cases: [string, Hex, Commitment, Hex[]][] = [
      ['a flipped bit in the proof', tree.root, c, [flip(proof[0] as Hex), ...proof.slice(1)]],
      ['a dropped proof element', tree.root, c, proof.slice(0, -1)],
      ['an added proof element', tree.root, c, [...proof, tree.root]],
      ['another unit with this proof', tree.root, u[6] as Commitment, proof],
      ['a unit not in the batch', tree.root, `0x${randomBytes(32).toString('hex')}`, proof],
      ['another batch root', buildUnitBatch(units(12)).root, c, proof],
    ];
    for (const [what, root, unit, p] of cases) assert.equal(verifyUnitProof(root, unit, p), false, what);
    assert.throws(() => tree.proof(`0x${'00'.repeat(32)}`), /not in this batch/);
    assert.throws(() => buildUnitBatch([c, c]), /twice/);
    assert.throws(() => buildUnitBatch([]), /at least one/);
    assert.throws(() => tree.proofAt(13), /not in a batch of 13/);
    assert.throws(() => tree.proofAt(-1), /not in a batch/);
    assert.throws(() => buildUnitBatch(['0x1234']), /32 bytes/);
    assert.equal(verifyUnitProof(tree.root, c, ['0x12']), false, 'a proof element that is not 32 bytes');
  });
  test('stored levels: read back whole, refused when cut or for another count', () => {
    const tree = buildUnitBatch(units(13));
    const back = treeFromLevels(13, tree.levels);
    assert.equal(back.root, tree.root);
    assert.deepEqual(back.proofAt(7), tree.proofAt(7));
    assert.throws(() => treeFromLevels(13, tree.levels.subarray(32)), /not the levels of a tree of 13/);
    assert.throws(() => treeFromLevels(12, tree.levels), /not the levels of a tree of 12/);
    assert.throws(() => treeFromLevels(0, new Uint8Array(0)), /not the levels/);
  });
});
