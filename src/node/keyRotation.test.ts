/**
 * No asymmetric operation on the local path: a member's own copies of data keys are under its
 * key-encryption key. Copies from a store that predates KEKs (sealed with HPKE) still open and are
 * rewrapped; `medchain keys rotate` moves everything under a new KEK and retires the old one.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Observation, Patient } from '@medplum/fhirtypes';
import Database from 'better-sqlite3';
import { runCliCaptured } from '../../test/support/testNetwork.js';
import { startTestNode, TEST_PASSPHRASE, type TestNode } from '../../test/support/testNode.js';
import { bindingBytes } from '../crypto/envelope.js';
import { unwrapKey, wrapKey } from '../crypto/keyWrap.js';
import { unwrapSymmetric } from '../crypto/symmetricWrap.js';
import { generateX25519 } from '../crypto/x25519.js';
import { PATIENT_KEY_EXTENSION } from '../fhir/resourceTypes.js';
import { bindingOf, patientKeyBinding } from '../records/recordService.js';
import { loadIdentity } from './memberIdentity.js';
import { dbFileOf, keyFileOf, openMemberNode } from './memberNode.js';

let t: TestNode;
const patientKeys = generateX25519();
let patientId = '';
let obsId = '';

before(async () => {
  t = await startTestNode();
  const p = await t.node.records.create({
    resourceType: 'Patient',
    name: [{ family: 'Rotate' }],
    extension: [
      {
        url: PATIENT_KEY_EXTENSION,
        valueBase64Binary: Buffer.from(patientKeys.publicKey).toString('base64'),
      },
    ],
  });
  patientId = p.id;
  obsId = (
    await t.node.records.create({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'potassium' },
      subject: { reference: `Patient/${p.id}` },
    })
  ).id;
});
after(() => t.close());

const wraps = (db = t.node.db) =>
  db.prepare('SELECT id, recipient, kind FROM key_wraps ORDER BY id, recipient').all() as {
    id: string;
    recipient: string;
    kind: string;
  }[];

describe('key-encryption keys', () => {
  test('a new record: this member’s copy is under the KEK, the patient’s under their record key', () => {
    const kek = loadIdentity(keyFileOf(t.dir), TEST_PASSPHRASE).keks.at(-1)?.id;
    const mine = wraps().filter((w) => w.id === obsId);
    assert.deepEqual(mine.map((w) => w.kind).sort(), ['kek', 'patient-key']);
    assert.ok(mine.some((w) => w.recipient === `kek:${kek}`));
  });

  test('a copy from a store before KEKs (sealed with HPKE to this member) still opens, and is rewrapped', async () => {
    const row = t.node.records.currentRow('Observation', obsId);
    const aad = bindingBytes(bindingOf(row));
    const dataKey = await t.node.records.dataKeyOf(row);
    const legacy = await wrapKey(
      Buffer.from(t.node.identity.encryptionPublicKey.slice(2), 'hex'),
      dataKey,
      aad,
    );
    // Written as a store from before KEKs holds it: through a connection of its own (what the node
    // reads through its own is kept in memory, src/store/recordStore.ts HeadCache).
    const older = new Database(dbFileOf(t.dir));
    older
      .prepare(
        "UPDATE key_wraps SET recipient = ?, kind = 'hpke', enc = ?, wrapped = ? WHERE id = ? AND kind = 'kek'",
      )
      .run(t.node.identity.encryptionPublicKey.slice(2), legacy.enc, legacy.wrapped, obsId);
    older.close();
    assert.equal(
      t.node.records.currentRow('Observation', obsId).ownWrap,
      undefined,
      'no copy under the KEK now',
    );
    assert.equal(((await t.node.records.read('Observation', obsId)) as Observation).code?.text, 'potassium');
    assert.equal(await t.node.records.rewrapToCurrentKek(), 1);
    assert.ok(
      wraps()
        .filter((w) => w.id === obsId)
        .every((w) => w.kind !== 'hpke'),
    );
    assert.equal(((await t.node.records.read('Observation', obsId)) as Observation).code?.text, 'potassium');
  });

  test('medchain keys rotate: a new KEK, every copy rewrapped, the old KEK retired; the patient’s key unchanged', async () => {
    const before = loadIdentity(keyFileOf(t.dir), TEST_PASSPHRASE);
    const envelopeBefore = t.node.records.patientKeyEnvelopes(`Patient/${patientId}`);
    process.env.MEDCHAIN_PASSPHRASE = TEST_PASSPHRASE;
    try {
      // Not beside a running node (it would not know the new key).
      writeFileSync(path.join(t.dir, 'node.pid'), `${process.pid}\n`);
      const refused = await runCliCaptured('keys', 'rotate', '--dir', t.dir);
      assert.notEqual(refused.code, 0);
      assert.match(refused.err, /is running \(process \d+\); stop it, then rotate/);
      assert.deepEqual(loadIdentity(keyFileOf(t.dir), TEST_PASSPHRASE).keks, before.keks, 'nothing changed');
      writeFileSync(path.join(t.dir, 'node.pid'), '0\n');

      const r = await runCliCaptured('keys', 'rotate', '--dir', t.dir);
      assert.equal(r.code, 0, r.err);
      assert.match(
        r.out,
        /^key-encryption key [0-9a-f]{8} is current; rewrapped \d+ key\(s\); the old key is retired$/,
      );
    } finally {
      delete process.env.MEDCHAIN_PASSPHRASE;
    }
    const afterId = loadIdentity(keyFileOf(t.dir), TEST_PASSPHRASE).keks;
    assert.equal(afterId.length, 1, 'only the new KEK is kept');
    assert.notEqual(afterId[0]?.id, before.keks.at(-1)?.id);
    const reopened = openMemberNode(t.dir, TEST_PASSPHRASE);
    try {
      const own = wraps(reopened.db).filter((w) => w.kind === 'kek');
      assert.ok(own.length >= 2 && own.every((w) => w.recipient === `kek:${afterId[0]?.id}`));
      assert.equal(
        ((await reopened.records.read('Patient', patientId)) as Patient).name?.[0]?.family,
        'Rotate',
      );
      assert.equal(
        ((await reopened.records.read('Observation', obsId)) as Observation).code?.text,
        'potassium',
      );
      // The patient's record key is the same key, now kept under the new KEK; the patient's envelope is unchanged.
      const [envelope] = reopened.records.patientKeyEnvelopes(`Patient/${patientId}`);
      assert.ok(envelope);
      assert.equal(envelope.kekId, afterId[0]?.id);
      assert.deepEqual(envelope.sealed, envelopeBefore[0]?.sealed);
      const recordKey = await unwrapKey(
        patientKeys.privateKey,
        { enc: envelope.enc, wrapped: envelope.sealed },
        patientKeyBinding(`Patient/${patientId}`, envelope.kid),
      );
      const row = reopened.records.currentRow('Observation', obsId);
      const pw = reopened.db
        .prepare("SELECT wrapped FROM key_wraps WHERE id = ? AND kind = 'patient-key'")
        .get(obsId) as { wrapped: Buffer };
      assert.equal(unwrapSymmetric(recordKey, pw.wrapped, bindingBytes(bindingOf(row))).length, 32);
    } finally {
      reopened.close();
    }
    assert.doesNotMatch(
      readFileSync(keyFileOf(t.dir), 'utf8'),
      new RegExp(before.keks.at(-1)?.key.slice(2) ?? 'x'),
    );
  });

  test('a wrong passphrase changes nothing', async () => {
    const before = readFileSync(keyFileOf(t.dir), 'utf8');
    process.env.MEDCHAIN_PASSPHRASE = 'not the passphrase';
    try {
      const r = await runCliCaptured('keys', 'rotate', '--dir', t.dir);
      assert.notEqual(r.code, 0);
      assert.match(r.err, /wrong passphrase/);
    } finally {
      delete process.env.MEDCHAIN_PASSPHRASE;
    }
    assert.equal(readFileSync(keyFileOf(t.dir), 'utf8'), before);
  });
});
