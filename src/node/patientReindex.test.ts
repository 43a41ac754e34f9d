import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import Database from 'better-sqlite3';
import { TEST_PASSPHRASE } from '../../test/support/testNode.js';
import { hashPassword } from '../crypto/password.js';
import { NODE_MIGRATIONS } from '../store/nodeSchema.js';
import { createIdentity } from './memberIdentity.js';
import { dbFileOf, keyFileOf, type MemberNode, openMemberNode, serveMemberNode } from './memberNode.js';

/** The index parameters migration 8 added for Patients (what a store from before lacks). */
const NEW_PARAMS = ['name', 'family', 'given', 'birthdate', 'gender'];
const PASSWORD = 'clinician password 123';

let dir: string;
let node: MemberNode | undefined;
const ids: string[] = [];
let deletedId: string;

const patient = (i: number): Patient => ({
  resourceType: 'Patient',
  name: [{ family: `Reindexé${i}`, given: ['Vorher'] }],
  birthDate: `1955-0${(i % 9) + 1}-11`,
  gender: i % 2 ? 'female' : 'male',
  identifier: [{ system: 'http://hospital.example/mrn', value: `OLD-${i}` }],
});

const tokenRows = (n: MemberNode, id: string) =>
  n.db
    .prepare(
      "SELECT param, token FROM search_tokens WHERE resource_type = 'Patient' AND id = ? ORDER BY param, token",
    )
    .all(id) as { param: string; token: string }[];
const queued = (n: MemberNode) =>
  (n.db.prepare('SELECT count(*) AS n FROM reindex_queue').get() as { n: number }).n;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'medchain-reindex-'));
  createIdentity(keyFileOf(dir), TEST_PASSPHRASE);
  const n = openMemberNode(dir, TEST_PASSPHRASE);
  n.users.add('clinician', 'clinician', await hashPassword(PASSWORD));
  for (let i = 0; i < 7; i++) ids.push((await n.records.create(patient(i))).id);
  deletedId = (await n.records.create(patient(99))).id;
  n.records.delete('Patient', deletedId);
  await n.records.create({
    resourceType: 'Observation',
    status: 'final',
    code: { text: 'x' },
    subject: { reference: `Patient/${ids[0]}` },
  });
  n.close();
  // The store as a node from before migration 8 left it: Patients indexed by identifier only, no queue.
  const db = new Database(dbFileOf(dir));
  db.prepare(
    `DELETE FROM search_tokens WHERE resource_type = 'Patient' AND param IN (${NEW_PARAMS.map(() => '?').join(', ')})`,
  ).run(...NEW_PARAMS);
  // Undo migrations 8 (the queue), 9 (discovery tokens, rebuilt on open from the Patients), 10
  // (the supply chain's tables, empty here) 11 (cases and shipments, empty too), 12 (supply
  // incidents and notices, empty), 13 (commissioning runs, empty), 14 (pallets, empty), 15 (askers, empty) and 16 (the log's
  // indexes, put back as they were).
  db.exec(
    'DROP TABLE reindex_queue; DROP TABLE discovery_tokens; DROP TABLE discovery_indexed; ' +
      'DROP TABLE supply_units; DROP TABLE supply_events; DROP TABLE supply_askers; DROP TABLE supply_settings; ' +
      'DROP TABLE supply_cases; DROP TABLE supply_case_units; DROP TABLE supply_shipments; ' +
      'DROP TABLE supply_incidents; DROP TABLE supply_notices; DROP TABLE supply_runs; DROP TABLE supply_pallet_cases; ' +
      'DROP INDEX log_entries_break_glass; DROP INDEX log_entries_by_patient; ' +
      'CREATE INDEX log_entries_patient ON log_entries (patient, idx); CREATE INDEX log_entries_action ON log_entries (action, idx)',
  );
  db.pragma('user_version = 7');
  db.close();
  assert.equal(
    NODE_MIGRATIONS.length,
    16,
    'this test rolls a store back to just before migration 8 (undoing 8 to 16)',
  );
});
after(() => {
  node?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Patients stored before name search (migration 8)', () => {
  test('the migration queues every live Patient, and nothing else', () => {
    node = openMemberNode(dir, TEST_PASSPHRASE);
    assert.equal(queued(node), ids.length);
    const rows = node.db.prepare('SELECT resource_type, id FROM reindex_queue').all() as { id: string }[];
    assert.deepEqual(rows.map((r) => r.id).sort(), [...ids].sort());
    for (const id of ids)
      assert.deepEqual(
        tokenRows(node, id).map((t) => t.param),
        ['identifier', 'identifier'],
        'before reindexing, only the identifier is indexed',
      );
  });

  test('an interrupted reindex keeps what it finished and resumes; running it again changes nothing', async () => {
    const n = node as MemberNode;
    const store = n.records.storeForReplication;
    const reindex = store.reindex.bind(store);
    let calls = 0;
    store.reindex = (items, done) => {
      if (++calls === 2) throw new Error('simulated crash in the second batch');
      reindex(items, done);
    };
    await assert.rejects(n.records.reindexStored(3), /simulated crash/);
    store.reindex = reindex;
    assert.equal(queued(n), ids.length - 3, 'the first batch and its progress committed together');
    const indexed = ids.filter((id) => tokenRows(n, id).some((t) => t.param === 'name'));
    assert.equal(indexed.length, 3);

    assert.equal(await n.records.reindexStored(3), ids.length - 3);
    assert.equal(queued(n), 0);
    const before = ids.map((id) => tokenRows(n, id));
    // The same Patient written now gets exactly the rows a reindexed one has (same key, same values).
    const fresh = await n.records.create(patient(0));
    assert.deepEqual(
      tokenRows(n, fresh.id).map((t) => t.param),
      (before[0] as { param: string }[]).map((t) => t.param),
    );
    assert.deepEqual(
      tokenRows(n, fresh.id).map((t) => t.token),
      (before[0] as { token: string }[]).map((t) => t.token),
    );
    n.records.delete('Patient', fresh.id);
    // Queued again (as a later change of the index would): the rows come out the same, none doubled.
    n.db
      .prepare(
        "INSERT INTO reindex_queue SELECT 'Patient', id FROM resource_heads WHERE resource_type = 'Patient'",
      )
      .run();
    await n.records.reindexStored(2);
    assert.deepEqual(
      ids.map((id) => tokenRows(n, id)),
      before,
    );
    assert.deepEqual(tokenRows(n, deletedId), [], 'an erased Patient gets no index rows back');
  });

  test('a served node has indexed them: found by name, birth date and gender over its socket', async () => {
    const n = node as MemberNode;
    n.db
      .prepare(
        "INSERT INTO reindex_queue SELECT 'Patient', id FROM resource_heads WHERE resource_type = 'Patient' AND deleted = 0",
      )
      .run();
    n.db
      .prepare(`DELETE FROM search_tokens WHERE param IN (${NEW_PARAMS.map(() => '?').join(', ')})`)
      .run(...NEW_PARAMS);
    const running = await serveMemberNode(n, { port: 0 });
    try {
      assert.equal(queued(n), 0, 'serving indexed the queue first');
      const login = await fetch(`${running.url}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'clinician', password: PASSWORD }),
      });
      const { access_token } = (await login.json()) as { access_token: string };
      const search = async (q: string) => {
        const r = await fetch(`${running.url}/fhir/Patient?${q}&_count=100`, {
          headers: { authorization: `Bearer ${access_token}` },
        });
        assert.equal(r.status, 200, q);
        return ((await r.json()) as Bundle).entry?.map((e) => e.resource?.id).sort() ?? [];
      };
      assert.deepEqual(await search('given=vorher'), [...ids].sort());
      assert.deepEqual(await search('family=reindexe3'), [ids[3]]);
      assert.deepEqual(await search('birthdate=1955-05-11&gender=male'), [ids[4]]);
      assert.deepEqual(await search('birthdate=1955-05-11&gender=female'), []);
      assert.deepEqual(await search('birthdate=1955'), [...ids].sort());
    } finally {
      await running.close();
    }
  });
});
