/**
 * The current rows RecordStore keeps in memory (recordStore.ts, HeadCache) answer exactly what the
 * store holds: after a write through the node, a write that rolled back, a write by another
 * connection to the file, and inside an open transaction.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Observation } from '@medplum/fhirtypes';
import Database from 'better-sqlite3';
import { startTestNode, type TestNode } from '../../test/support/testNode.js';
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
