import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { after, beforeEach, describe, test } from 'node:test';
import type { Hex } from 'viem';
import { startTestNode, type TestNode } from '../../test/support/testNode.js';
import type { Actor } from '../access/gatekeeper.js';
import { decodeEntry, encodeEntry } from './entry.js';
import { leafHash } from './merkle.js';
import { type ChainHead, type ProblemKind, verifyStore, verifyStoreAsync } from './verifier.js';

const ACTOR: Actor = { id: 'u-1', role: 'clinician', purpose: 'treatment' };
let t: TestNode | undefined;
let heads: ChainHead[];
let ids: string[];
after(() => t?.close());

/** A node with records, reads and two "anchored" heads (taken from the log as it was). */
beforeEach(async () => {
  await t?.close();
  t = await startTestNode({ roles: [] });
  const g = t.node.gate;
  ids = [];
  for (let i = 0; i < 4; i++)
    ids.push((await g.create(ACTOR, 'Patient', { resourceType: 'Patient', gender: 'other' })).id);
  const hex = (b: Uint8Array): Hex => `0x${Buffer.from(b).toString('hex')}`;
  heads = [{ treeSize: t.node.log.size, rootHash: hex(t.node.log.root()) }];
  await g.update(ACTOR, 'Patient', ids[0] as string, {
    resourceType: 'Patient',
    id: ids[0],
    gender: 'female',
  });
  for (const id of ids) await g.read(ACTOR, 'Patient', id);
  heads.push({ treeSize: t.node.log.size, rootHash: hex(t.node.log.root()) });
});

const kinds = (r: ReturnType<typeof verifyStore>) => [...new Set(r.problems.map((p) => p.kind))].sort();
const node = () => (t as TestNode).node;

describe('verify', () => {
  test('a clean store verifies', () => {
    const r = verifyStore(node().db, heads);
    assert.deepEqual(r.problems, []);
    assert.equal(r.ok, true);
    assert.equal(r.checked.anchoredHeads, 2);
    assert.equal(r.checked.recordVersions, 5);
  });

  const cases: [string, () => void, ProblemKind[], RegExp][] = [
    [
      'a record ciphertext modified',
      () =>
        node()
          .db.prepare(
            'UPDATE resource_versions SET ciphertext = randomblob(length(ciphertext)) WHERE id = ? AND version = 1',
          )
          .run(ids[2]),
      ['record-modified'],
      /Patient\/.*\/_history\/1/,
    ],
    [
      'a record version deleted outside the API',
      () => node().db.prepare('DELETE FROM resource_versions WHERE id = ? AND version = 2').run(ids[0]),
      ['record-deleted'],
      /_history\/2/,
    ],
    [
      'a record inserted without logging',
      () =>
        node()
          .db.prepare(
            "INSERT INTO resource_versions SELECT resource_type, 'forged', version, last_updated, last_updated_ms, patient_ref, deleted, nonce, ciphertext, ciphertext_hash, category_mask FROM resource_versions WHERE id = ?",
          )
          .run(ids[1]),
      ['record-unlogged'],
      /Patient\/forged/,
    ],
    [
      'a log entry edited (bytes and leaf hash rewritten, as an insider would)',
      () => {
        const row = node().db.prepare('SELECT entry FROM log_entries WHERE idx = 1').get() as {
          entry: Buffer;
        };
        const e = decodeEntry(row.entry);
        const forged = encodeEntry({ ...e, actor: 'someone-else' });
        node()
          .db.prepare('UPDATE log_entries SET entry = ?, leaf_hash = ? WHERE idx = 1')
          .run(forged, leafHash(forged));
      },
      ['log-rewritten'],
      /anchored head size 4.*between index 0 and 3/,
    ],
    [
      'a log entry edited carelessly (leaf hash left as it was)',
      () => node().db.prepare("UPDATE log_entries SET entry = entry || x'00' WHERE idx = 6").run(),
      ['log-entry-modified', 'log-rewritten', 'anchors-inconsistent'],
      /position 6/,
    ],
    [
      'a log entry deleted',
      () => node().db.prepare('DELETE FROM log_entries WHERE idx = 5').run(),
      ['log-entry-deleted', 'log-truncated'],
      /log entry 5: entries 5 to 5 are missing/,
    ],
    [
      'two log entries swapped',
      () => {
        node().db.exec(
          'UPDATE log_entries SET idx = -1 WHERE idx = 6; UPDATE log_entries SET idx = 6 WHERE idx = 7; UPDATE log_entries SET idx = 7 WHERE idx = -1;',
        );
      },
      ['log-entries-reordered', 'log-rewritten', 'anchors-inconsistent'],
      /positions 6, 7/,
    ],
    [
      'a log entry inserted (a copy of another)',
      () => {
        node().db.exec(
          'UPDATE log_entries SET idx = idx + 1000 WHERE idx >= 3; UPDATE log_entries SET idx = idx - 999 WHERE idx >= 1003;',
        );
        node().db.exec(
          'INSERT INTO log_entries SELECT 3, entry, leaf_hash, patient, action, outcome, time_ms FROM log_entries WHERE idx = 2;',
        );
      },
      ['log-entry-inserted', 'log-rewritten', 'anchors-inconsistent'],
      /claims index 2/,
    ],
    [
      'the end of the log cut off after it was anchored',
      () => node().db.prepare('DELETE FROM log_entries WHERE idx >= 7').run(),
      ['log-truncated'],
      /only 7 entries/,
    ],
  ];

  for (const [name, tamper, expected, where] of cases) {
    test(`finds: ${name}`, () => {
      tamper();
      const r = verifyStore(node().db, heads);
      assert.equal(r.ok, false);
      assert.deepEqual(kinds(r), [...expected].sort(), JSON.stringify(r.problems, null, 1));
      assert.ok(
        r.problems.some((p) => where.test(`${p.where}: ${p.detail}`)),
        JSON.stringify(r.problems, null, 1),
      );
    });
  }

  test('inconsistent anchored heads are reported', () => {
    const bad: ChainHead[] = [{ treeSize: 4, rootHash: `0x${'11'.repeat(32)}` }, heads[1] as ChainHead];
    assert.deepEqual(kinds(verifyStore(node().db, bad)), ['anchors-inconsistent', 'log-rewritten']);
  });

  test('progress is reported for long logs', () => {
    const seen: string[] = [];
    verifyStore(node().db, heads, (phase, done, total) => seen.push(`${phase} ${done}/${total}`));
    assert.ok(seen.includes(`log entries ${node().log.size}/${node().log.size}`));
    assert.ok(seen.includes('records 5/5'));
  });

  test('the async check gives way to other work between chunks and reports the same', async () => {
    await node().log.appendAll(
      Array.from({ length: 2500 }, () => ({
        actor: 'u-1',
        patient: null,
        action: 'login' as const,
        target: null,
        purpose: 'none' as const,
        outcome: 'permit' as const,
        reason: 'ok',
        queryHash: null,
      })),
    );
    const seen: number[] = [];
    let ranBetween = false;
    const size = node().log.size;
    // A record written (with its entry) while the check runs is not part of what it checks: the
    // check reads the log and the records as of one moment.
    const { prepared } = await node().records.prepare(
      { resourceType: 'Patient', gender: 'unknown' },
      { type: 'Patient' },
    );
    setImmediate(() => {
      ranBetween = seen.length > 0 && seen.length < 4;
    });
    const r = await verifyStoreAsync(node().db, heads, (phase, done) => {
      if (phase !== 'log entries') return;
      seen.push(done);
      if (done !== 1000) return;
      node().log.commitWith(
        [
          {
            actor: 'u-1',
            patient: null,
            action: 'create',
            target: {
              resourceType: 'Patient',
              id: prepared.row.id,
              version: prepared.row.version,
              ciphertextHash: `0x${prepared.row.ciphertextHash}`,
            },
            purpose: 'treatment',
            outcome: 'permit',
            reason: 'ok',
            queryHash: null,
          },
        ],
        () => node().records.write([prepared]),
      );
      node().records.finish([prepared]);
    });
    assert.equal(node().log.size, size + 1, 'the write landed during the check');
    assert.equal(r.ok, true);
    assert.deepEqual(seen, [0, 1000, 2000, size]);
    assert.equal(verifyStore(node().db, heads).ok, true);
    assert.ok(ranBetween, 'nothing else ran while the check was going on');
  });

  test('an erasure while the check runs does not wait for it, and the WAL is truncated when it ends', () => {
    let erasedInMs = -1;
    const r = verifyStore(node().db, heads, (phase, done) => {
      if (phase !== 'log entries' || done !== 0) return;
      // What the gatekeeper's delete commits, done here while the check holds its snapshot.
      const t0 = performance.now();
      const erase = node().records.prepareDelete('Patient', ids[3] as string);
      node().log.commitWith(
        [
          {
            actor: 'operator:test',
            patient: null,
            action: 'delete',
            target: {
              resourceType: 'Patient',
              id: erase.row.id,
              version: erase.row.version,
              ciphertextHash: null,
            },
            purpose: 'operations',
            outcome: 'permit',
            reason: 'ok',
            queryHash: null,
          },
        ],
        () => node().records.write([erase]),
      );
      node().records.finish([erase]);
      erasedInMs = performance.now() - t0;
    });
    assert.equal(r.ok, true, JSON.stringify(r.problems));
    assert.ok(erasedInMs >= 0 && erasedInMs < 1000, `the erasure took ${erasedInMs} ms`);
    assert.equal(node().records.head('Patient', ids[3] as string)?.deleted, true);
    assert.equal(statSync(`${node().db.name}-wal`).size, 0, 'the WAL was truncated after the check');
    assert.equal(verifyStore(node().db, heads).ok, true);
  });
});
