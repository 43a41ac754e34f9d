/**
 * The custodian's sealing of what the gatekeeper released (the decision and logging are covered
 * by federation.int.test.ts and test/attacks): every record's data key reaches the requester under
 * the answer's one response key, whether the custodian's own copy is under its KEK or, in a store
 * from before KEKs, sealed to it with HPKE; the requester opens every record.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { Observation } from '@medplum/fhirtypes';
import Database from 'better-sqlite3';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { type Gatekeeper, patientQuery } from '../access/gatekeeper.js';
import type { MemberInfo } from '../chain/consortium.js';
import { bindingBytes } from '../crypto/envelope.js';
import { wrapKey } from '../crypto/keyWrap.js';
import { openResponseKey } from '../crypto/responseKey.js';
import { unwrapSymmetric } from '../crypto/symmetricWrap.js';
import { createIdentity } from '../node/memberIdentity.js';
import { dbFileOf, keyFileOf, type MemberNode, openMemberNode } from '../node/memberNode.js';
import { bindingOf } from '../records/recordService.js';
import { answerMember } from './custodian.js';
import { unb64 } from './wire.js';

const PASS = 'custodian test passphrase';
const dirs: string[] = [];
const nodes: MemberNode[] = [];
after(() => {
  for (const n of nodes) n.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function node(): { node: MemberNode; dir: string; address: `0x${string}`; publicKey: Uint8Array } {
  const dir = mkdtempSync(path.join(tmpdir(), 'medchain-custodian-'));
  dirs.push(dir);
  const id = createIdentity(keyFileOf(dir), PASS);
  const n = openMemberNode(dir, PASS);
  nodes.push(n);
  return {
    node: n,
    dir,
    address: id.address,
    publicKey: new Uint8Array(Buffer.from(id.encryptionPublicKey.slice(2), 'hex')),
  };
}

describe('answerMember seals what was released', () => {
  test('own copies under the KEK and from before KEKs (HPKE) alike: the requester opens every record', async () => {
    const lab = node();
    const clinic = node();
    const patient = privateKeyToAccount(generatePrivateKey()).address;
    const p = await lab.node.records.create({
      resourceType: 'Patient',
      identifier: [{ system: 'urn:medchain:patient', value: patient }],
    });
    const ids: string[] = [];
    for (const text of ['potassium', 'sodium', 'chloride', 'calcium'])
      ids.push(
        (
          await lab.node.records.create({
            resourceType: 'Observation',
            status: 'final',
            code: { text },
            subject: { reference: `Patient/${p.id}` },
          })
        ).id,
      );
    // Two of them as a store from before KEKs left them (written by another program, so through
    // a connection of its own): this member's copy sealed to its own key with HPKE.
    const legacyIds = [ids[1], ids[3]] as string[];
    const older = new Database(dbFileOf(lab.dir));
    try {
      for (const id of legacyIds) {
        const row = lab.node.records.currentRow('Observation', id);
        const dataKey = await lab.node.records.dataKeyOf(row);
        const legacy = await wrapKey(lab.publicKey, dataKey, bindingBytes(bindingOf(row)));
        older
          .prepare(
            "UPDATE key_wraps SET recipient = ?, kind = 'hpke', enc = ?, wrapped = ? WHERE id = ? AND kind = 'kek'",
          )
          .run(Buffer.from(lab.publicKey).toString('hex'), legacy.enc, legacy.wrapped, id);
      }
    } finally {
      older.close();
    }
    // The rows as the gatekeeper finds them: one search page, with the current-KEK copy where there is one.
    const rows = lab.node.records.searchStored(patientQuery('Observation', patient)).rows;
    assert.deepEqual(
      rows.map((r) => [r.id, r.ownWrap?.kind ?? null]).sort(),
      ids.map((id) => [id, legacyIds.includes(id) ? null : 'kek']).sort(),
    );
    const released = { decision: {}, rows, refusals: [], truncated: false };
    const gate = { releaseToMember: async () => released } as unknown as Gatekeeper;
    const member = async () => ({ encryptionKey: clinic.publicKey }) as MemberInfo;
    const answer = await answerMember(
      { gate, records: lab.node.records, member, self: lab.address },
      clinic.address,
      {
        patient,
        resourceTypes: ['Observation'],
        purpose: 'treatment',
        userRole: 'clinician',
        breakGlass: null,
      },
    );
    assert.ok(answer.responseKey);
    const responseKey = await openResponseKey(
      (w, aad) => clinic.node.records.openSealed(w, aad),
      { enc: unb64(answer.responseKey.enc), wrapped: unb64(answer.responseKey.wrapped) },
      lab.address,
      clinic.address,
    );
    const texts: string[] = [];
    for (const rec of answer.records) {
      assert.equal(rec.key.kind, 'response');
      const binding = {
        resourceType: rec.resourceType,
        id: rec.id,
        version: rec.version,
        patient: rec.patientRef,
      };
      const dataKey = unwrapSymmetric(responseKey, unb64(rec.key.wrapped), bindingBytes(binding));
      const opened = (await clinic.node.records.openForeign({
        binding,
        nonce: unb64(rec.nonce),
        ciphertext: unb64(rec.ciphertext),
        ciphertextHash: rec.ciphertextHash,
        key: { dataKey },
      })) as Observation;
      texts.push(`${rec.id}:${opened.code?.text}`);
    }
    assert.deepEqual(
      texts.sort(),
      ['potassium', 'sodium', 'chloride', 'calcium'].map((text, i) => `${ids[i]}:${text}`).sort(),
    );
    // A wrap moved to another record does not open: each is bound to its own record.
    const [first, second] = answer.records;
    assert.throws(() =>
      unwrapSymmetric(
        responseKey,
        unb64(first?.key.wrapped as string),
        bindingBytes({
          resourceType: 'Observation',
          id: second?.id as string,
          version: 1,
          patient: second?.patientRef as string,
        }),
      ),
    );
  });
});
