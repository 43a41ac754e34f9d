/**
 * The current rows RecordStore keeps in memory (recordStore.ts, HeadCache) answer exactly what the
 * store holds: after a write through the node, a write that rolled back, a write by another
 * connection to the file, and inside an open transaction; and a read through the gatekeeper, which
 * takes a kept row first and confirms it once its log entry is durable, serves nothing another
 * connection changed before that confirmation.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Observation } from '@medplum/fhirtypes';
import Database from 'better-sqlite3';
import { startTestNode, type TestNode } from '../../test/support/testNode.js';
import type { Actor } from '../access/gatekeeper.js';
import { decodeEntry } from '../log/entry.js';
import { dbFileOf } from '../node/memberNode.js';

let t: TestNode;
before(async () => {
  t = await startTestNode();
});
after(() => t.close());

const observation = (text: string): Observation => ({
  resourceType: 'Observation',
  status: 'final',
  code: { text },
});
const textOf = async (id: string) =>
  ((await t.node.records.read('Observation', id)) as Observation).code?.text;

describe('current rows kept in memory', () => {
  test('a record read, then updated through the node, reads as updated', async () => {
    const o = await t.node.records.create(observation('first'));
    assert.equal(await textOf(o.id as string), 'first');
    await t.node.records.update('Observation', o.id as string, { ...observation('second'), id: o.id });
    assert.equal(await textOf(o.id as string), 'second');
    t.node.records.delete('Observation', o.id as string);
    assert.throws(() => t.node.records.currentRow('Observation', o.id as string), { name: 'GoneError' });
  });

  test('a write that rolled back leaves the record as it was', async () => {
    const o = await t.node.records.create(observation('kept'));
    assert.equal(await textOf(o.id as string), 'kept');
    const { prepared } = await t.node.records.prepare(
      { ...observation('rolled back'), id: o.id },
      { type: 'Observation', id: o.id as string },
    );
    assert.throws(() =>
      t.node.db.transaction(() => {
        t.node.records.write([prepared]);
        // Inside the transaction the write is visible, and must not be kept.
        assert.equal(t.node.records.currentRow('Observation', o.id as string).version, 2);
        throw new Error('the enclosing commit failed');
      })(),
    );
    assert.equal(t.node.records.currentRow('Observation', o.id as string).version, 1);
    assert.equal(await textOf(o.id as string), 'kept');
  });

  test('a change made through another connection to the store file is seen at the next read', async () => {
    const a = await t.node.records.create(observation('A'));
    const b = await t.node.records.create(observation('B'));
    assert.equal(await textOf(b.id as string), 'B');
    const other = new Database(dbFileOf(t.dir));
    try {
      other.prepare('UPDATE resource_versions SET deleted = 1 WHERE id = ?').run(b.id);
      assert.throws(() => t.node.records.currentRow('Observation', b.id as string), { name: 'GoneError' });
      other.prepare('UPDATE resource_versions SET deleted = 0 WHERE id = ?').run(b.id);
      // A's ciphertext moved into B's row: the binding refuses it, it is not served from memory.
      const rowA = other
        .prepare('SELECT nonce, ciphertext FROM resource_versions WHERE id = ?')
        .get(a.id) as { nonce: Buffer; ciphertext: Buffer };
      other
        .prepare('UPDATE resource_versions SET nonce = ?, ciphertext = ? WHERE id = ?')
        .run(rowA.nonce, rowA.ciphertext, b.id);
      await assert.rejects(t.node.records.read('Observation', b.id as string));
    } finally {
      other.close();
    }
  });
});

describe('reads through the gatekeeper, from rows kept in memory', () => {
  const clinician: Actor = { id: 'u-head-cache', role: 'clinician', purpose: 'treatment' };
  const gateText = async (id: string) =>
    ((await t.node.gate.read(clinician, 'Observation', id)) as Observation).code?.text;
  const readsOf = (id: string, from: number) =>
    t.node.log
      .entries(from, t.node.log.size)
      .map((e) => decodeEntry(e.leaf))
      .filter((e) => e.action === 'read' && e.target?.id === id);

  test('a kept row that another connection changed before the read is read again, not served', async () => {
    const o = await t.node.records.create(observation('kept, then erased elsewhere'));
    assert.equal(await gateText(o.id as string), 'kept, then erased elsewhere');
    const other = new Database(dbFileOf(t.dir));
    try {
      other.prepare('UPDATE resource_versions SET deleted = 1 WHERE id = ?').run(o.id);
      await assert.rejects(t.node.gate.read(clinician, 'Observation', o.id as string), { name: 'GoneError' });
    } finally {
      other.close();
    }
  });

  test('a change by another connection while the read is being logged is seen before anything is served', async () => {
    const a = await t.node.records.create(observation('A'));
    const b = await t.node.records.create(observation('B'));
    assert.equal(await gateText(a.id as string), 'A');
    const other = new Database(dbFileOf(t.dir));
    const append = t.node.log.append;
    try {
      // B's ciphertext moved into A's row after the read took A's kept row, before its entry is durable.
      const rowB = other
        .prepare('SELECT nonce, ciphertext FROM resource_versions WHERE id = ?')
        .get(b.id) as { nonce: Buffer; ciphertext: Buffer };
      let moved = false;
      t.node.log.append = (input) => {
        if (!moved) {
          moved = true;
          other
            .prepare('UPDATE resource_versions SET nonce = ?, ciphertext = ? WHERE id = ?')
            .run(rowB.nonce, rowB.ciphertext, a.id);
        }
        return append.call(t.node.log, input);
      };
      const from = t.node.log.size;
      await assert.rejects(t.node.gate.readJson(clinician, 'Observation', a.id as string), {
        code: 'decrypt-failed',
      });
      assert.ok(moved, 'the change was made while the read was being logged');
      // Both reads are in the log: the kept row's and the one made again from the store.
      assert.equal(readsOf(a.id as string, from).length, 2);
    } finally {
      t.node.log.append = append;
      other.close();
    }
  });

  test('a kept row nobody else changed is served once its entry is durable, logged once', async () => {
    const o = await t.node.records.create(observation('unchanged'));
    assert.equal(await gateText(o.id as string), 'unchanged');
    const from = t.node.log.size;
    const reads = await Promise.all(
      Array.from({ length: 5 }, () => t.node.gate.readJson(clinician, 'Observation', o.id as string)),
    );
    for (const r of reads) assert.equal(JSON.parse(r.json.toString('utf8')).code.text, 'unchanged');
    assert.equal(readsOf(o.id as string, from).length, 5);
  });
});
