import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Observation, Patient } from '@medplum/fhirtypes';
import Database from 'better-sqlite3';
import { startTestNode, TEST_PASSPHRASE, type TestNode } from '../../test/support/testNode.js';
import { CryptoError } from '../crypto/cryptoError.js';
import { bindingBytes, openRecord } from '../crypto/envelope.js';
import { unwrapKey } from '../crypto/keyWrap.js';
import { unwrapSymmetric } from '../crypto/symmetricWrap.js';
import { generateX25519 } from '../crypto/x25519.js';
import { ConflictError } from '../errors.js';
import { PATIENT_KEY_EXTENSION } from '../fhir/resourceTypes.js';
import { patientKeyBinding } from '../records/recordService.js';
import { dbFileOf, openMemberNode } from './memberNode.js';

let t: TestNode;
before(async () => {
  t = await startTestNode({ roles: ['clinician'] });
});
after(() => t.close());

/** Every file under `dir`, recursively. */
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

/** Files whose raw bytes contain `needle`. */
function filesContaining(dir: string, needle: Uint8Array | string): string[] {
  const n = typeof needle === 'string' ? Buffer.from(needle, 'utf8') : Buffer.from(needle);
  return files(dir).filter((f) => readFileSync(f).includes(n));
}

function encodings(marker: string): (string | Uint8Array)[] {
  return [
    marker,
    Buffer.from(marker).toString('base64'),
    Buffer.from(marker).toString('hex'),
    Buffer.from(marker, 'utf16le'),
  ];
}

describe('at rest', () => {
  test('no plaintext: a unique name, identifier and code appear in no file of the data directory', async () => {
    const marker = `Zqx${randomBytes(6).toString('hex')}`;
    const code = `L${randomBytes(5).toString('hex')}`;
    const p = await t.node.records.create({
      resourceType: 'Patient',
      name: [{ family: marker, given: [`${marker}given`] }],
      identifier: [{ system: 'http://hospital.example/mrn', value: `${marker}-MRN` }],
    });
    await t.node.records.create({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code }], text: `${marker} result` },
      subject: { reference: `Patient/${p.id}` },
    } satisfies Observation);
    // Searches work through the blind index only.
    const found = await t.node.records.search({
      resourceType: 'Observation',
      clauses: [{ kind: 'token', param: 'code', values: [code] }],
      count: 10,
      offset: 0,
      countCapped: false,
    });
    assert.equal(found.total, 1);
    for (const needle of [...encodings(marker), ...encodings(code)]) {
      assert.deepEqual(filesContaining(t.dir, needle), [], `found ${String(needle).slice(0, 20)}`);
    }
    assert.ok(
      files(t.dir).some((f) => f.endsWith('node.db-wal') || f.endsWith('node.db')),
      'the scan saw the database',
    );
  });

  test('erasure leaves neither the content nor a key wrap in any file (crypto-shredding)', async () => {
    const p = await t.node.records.create({ resourceType: 'Patient', name: [{ family: 'Erase' }] });
    const row = t.node.db.prepare(`SELECT ciphertext FROM resource_versions WHERE id = ?`).get(p.id) as {
      ciphertext: Buffer;
    };
    const wrap = t.node.db.prepare(`SELECT enc, wrapped FROM key_wraps WHERE id = ?`).get(p.id) as {
      enc: Buffer;
      wrapped: Buffer;
    };
    // (A wrap under the member's key-encryption key has no HPKE `enc`: nothing to look for there.)
    const slices = [row.ciphertext.subarray(0, 24), wrap.wrapped, wrap.enc].filter((x) => x.length > 0);
    for (const s of slices) assert.notDeepEqual(filesContaining(t.dir, s), [], 'present before erasure');
    t.node.records.delete('Patient', p.id);
    for (const s of slices) assert.deepEqual(filesContaining(t.dir, s), [], 'gone after erasure');
    await assert.rejects(t.node.records.read('Patient', p.id), /was deleted/);
    const hash = t.node.db
      .prepare(`SELECT ciphertext_hash FROM resource_versions WHERE id = ? AND version = 1`)
      .get(p.id);
    assert.ok(hash, 'the hash stays for verification');
  });

  test('a ciphertext moved to another row does not decrypt', async () => {
    const a = await t.node.records.create({ resourceType: 'Patient', name: [{ family: 'Alpha' }] });
    const b = await t.node.records.create({ resourceType: 'Patient', name: [{ family: 'Beta' }] });
    const rowA = t.node.db
      .prepare('SELECT nonce, ciphertext FROM resource_versions WHERE id = ?')
      .get(a.id) as { nonce: Buffer; ciphertext: Buffer };
    const wrapA = t.node.db.prepare('SELECT enc, wrapped FROM key_wraps WHERE id = ?').get(a.id) as {
      enc: Buffer;
      wrapped: Buffer;
    };
    // Copy A's ciphertext (and, in a second step, its key wrap too) into B's row, as someone with
    // the store file would: through a connection of their own, not the node's.
    const thief = new Database(dbFileOf(t.dir));
    after(() => thief.close());
    thief
      .prepare('UPDATE resource_versions SET nonce = ?, ciphertext = ? WHERE id = ?')
      .run(rowA.nonce, rowA.ciphertext, b.id);
    await assert.rejects(
      t.node.records.read('Patient', b.id),
      (e: CryptoError) => e.code === 'decrypt-failed',
    );
    thief
      .prepare('UPDATE key_wraps SET enc = ?, wrapped = ? WHERE id = ?')
      .run(wrapA.enc, wrapA.wrapped, b.id);
    await assert.rejects(
      t.node.records.read('Patient', b.id),
      (e: CryptoError) => e.code === 'unwrap-failed',
    );
    assert.equal(((await t.node.records.read('Patient', a.id)) as Patient).name?.[0]?.family, 'Alpha');
  });

  test('records are wrapped to the patient too: the patient alone can decrypt them with their own key', async () => {
    const pk = generateX25519();
    const p = await t.node.records.create({
      resourceType: 'Patient',
      extension: [
        { url: PATIENT_KEY_EXTENSION, valueBase64Binary: Buffer.from(pk.publicKey).toString('base64') },
      ],
    });
    const o = await t.node.records.create({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'hemoglobin' },
      subject: { reference: `Patient/${p.id}` },
    });
    // The record's data key is wrapped under the patient's record key ("pk:<kid>"), which the
    // patient receives once, sealed to their X25519 key with HPKE.
    const wrap = t.node.db
      .prepare("SELECT recipient, wrapped FROM key_wraps WHERE id = ? AND kind = 'patient-key'")
      .get(o.id) as { recipient: string; wrapped: Buffer };
    assert.ok(wrap, 'a wrap for the patient exists');
    const [envelope, ...more] = t.node.records.patientKeyEnvelopes(`Patient/${p.id}`);
    assert.ok(envelope && more.length === 0, 'one record key for this patient');
    assert.equal(wrap.recipient, `pk:${envelope.kid}`);
    assert.equal(envelope.recipient, Buffer.from(pk.publicKey).toString('hex'));
    const recordKey = await unwrapKey(
      pk.privateKey,
      { enc: envelope.enc, wrapped: envelope.sealed },
      patientKeyBinding(`Patient/${p.id}`, envelope.kid),
    );
    const row = t.node.db
      .prepare('SELECT nonce, ciphertext FROM resource_versions WHERE id = ?')
      .get(o.id) as { nonce: Buffer; ciphertext: Buffer };
    const binding = { resourceType: 'Observation', id: o.id, version: 1, patient: `Patient/${p.id}` };
    const key = unwrapSymmetric(recordKey, wrap.wrapped, bindingBytes(binding));
    const plain = JSON.parse(Buffer.from(openRecord(key, row.nonce, row.ciphertext, binding)).toString());
    assert.equal(plain.code.text, 'hemoglobin');
    await assert.rejects(
      unwrapKey(
        generateX25519().privateKey,
        { enc: envelope.enc, wrapped: envelope.sealed },
        patientKeyBinding(`Patient/${p.id}`, envelope.kid),
      ),
      CryptoError,
      'only the patient opens their record key',
    );
    const second = await t.node.records.create({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'glucose' },
      subject: { reference: `Patient/${p.id}` },
    });
    assert.equal(
      t.node.records.patientKeyEnvelopes(`Patient/${p.id}`).length,
      1,
      'the record key is made once',
    );
    assert.ok(second.id);
  });

  test('the node refuses to open with a wrong passphrase', () => {
    assert.throws(
      () => openMemberNode(t.dir, 'not the passphrase'),
      (e: CryptoError) => e.code === 'wrong-passphrase',
    );
    const again = openMemberNode(t.dir, TEST_PASSPHRASE);
    again.close();
  });
});

describe('concurrent writes', () => {
  test('two writes prepared against the same version: the second is a 409 conflict and changes nothing', async () => {
    const p = await t.node.records.create({ resourceType: 'Patient', name: [{ family: 'Race' }] });
    const a = await t.node.records.prepare({ ...p, name: [{ family: 'A' }] }, { type: 'Patient', id: p.id });
    const b = await t.node.records.prepare({ ...p, name: [{ family: 'B' }] }, { type: 'Patient', id: p.id });
    t.node.records.commit([a.prepared]);
    assert.throws(
      () => t.node.records.commit([b.prepared]),
      (e: Error) => e instanceof ConflictError,
    );
    assert.equal(((await t.node.records.read('Patient', p.id)) as Patient).name?.[0]?.family, 'A');
  });
});
