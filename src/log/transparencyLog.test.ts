import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { openDatabase } from '../store/database.js';
import { NODE_MIGRATIONS } from '../store/nodeSchema.js';
import { decodeEntry } from './entry.js';
import { leafHash, verifyConsistency, verifyInclusion } from './merkle.js';
import { type LogInput, LogUnavailableError, TransparencyLog } from './transparencyLog.js';

const MEMBER = '0x4D1Ad100619f59d961c0CFD53D3cAcF34B1892cD';
const input = (i: number): LogInput => ({
  actor: `user-${i}`,
  patient: null,
  action: 'read',
  target: { resourceType: 'Observation', id: `o${i}`, version: 1, ciphertextHash: null },
  purpose: 'treatment',
  outcome: 'permit',
  reason: 'ok',
  queryHash: null,
});

function freshDb() {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'tlog-')), 'node.db');
  return { file, db: openDatabase(file, NODE_MIGRATIONS) };
}

describe('transparency log', () => {
  test('concurrent appends share one SQLite transaction (group commit) and get contiguous indexes', async () => {
    const { db } = freshDb();
    const log = new TransparencyLog(db, MEMBER);
    const records = await Promise.all(Array.from({ length: 200 }, (_, i) => log.append(input(i))));
    assert.deepEqual(
      records.map((r) => r.index),
      Array.from({ length: 200 }, (_, i) => i),
    );
    assert.equal(log.stats.commits, 1, 'one commit for 200 concurrent appends');
    await log.append(input(200));
    assert.equal(log.stats.commits, 2);
    assert.equal(log.size, 201);
    const stored = log.entries(5, 6)[0];
    assert.equal(decodeEntry(stored?.leaf as Uint8Array).actor, 'user-5');
    assert.deepEqual(leafHash(stored?.leaf as Uint8Array), log.leafHash(5));
  });

  test('the tree survives a restart, and proofs verify', async () => {
    const { file, db } = freshDb();
    const log = new TransparencyLog(db, MEMBER);
    await Promise.all(Array.from({ length: 37 }, (_, i) => log.append(input(i))));
    const root20 = log.root(20);
    db.close();
    const reopened = new TransparencyLog(openDatabase(file, NODE_MIGRATIONS), MEMBER);
    assert.equal(reopened.size, 37);
    assert.deepEqual(reopened.root(20), root20);
    assert.ok(verifyInclusion(reopened.leafHash(11), 11, 37, reopened.inclusionProof(11), reopened.root()));
    assert.ok(verifyConsistency(20, 37, root20, reopened.root(), reopened.consistencyProof(20)));
  });

  test('when the store refuses writes, appends fail with LogUnavailableError and nothing changes', async () => {
    const { db } = freshDb();
    const log = new TransparencyLog(db, MEMBER);
    await log.append(input(0));
    const root = log.root();
    db.pragma('query_only = ON');
    await assert.rejects(Promise.all([log.append(input(1)), log.append(input(2))]), LogUnavailableError);
    assert.equal(log.size, 1);
    assert.deepEqual(log.root(), root);
    db.pragma('query_only = OFF');
    assert.equal((await log.append(input(3))).index, 1, 'the next entry takes the next index');
  });

  test('commitWith writes work and entries atomically', () => {
    const { db } = freshDb();
    db.exec('CREATE TABLE side (x INTEGER)');
    const log = new TransparencyLog(db, MEMBER);
    assert.throws(
      () =>
        log.commitWith([input(0)], () => {
          db.prepare('INSERT INTO side VALUES (1)').run();
          throw new Error('the record write failed');
        }),
      /the record write failed/,
    );
    assert.equal(log.size, 0);
    assert.deepEqual(db.prepare('SELECT count(*) AS n FROM side').get(), { n: 0 });
    log.commitWith([input(0), input(1)], () => db.prepare('INSERT INTO side VALUES (1)').run());
    assert.equal(log.size, 2);
  });
});
