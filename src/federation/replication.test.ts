import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { getAddress } from 'viem';
import type { GrantTerms } from '../chain/consentModel.js';
import type { ConsortiumView, MemberInfo } from '../chain/consortium.js';
import type { FhirError } from '../fhir/outcomes.js';
import { encodeEntry } from '../log/entry.js';
import { openDatabase } from '../store/database.js';
import { NODE_MIGRATIONS } from '../store/nodeSchema.js';
import { acceptPush, answerAsReplica, replicasOf } from './replication.js';

const addr = (n: number) => getAddress(`0x${n.toString(16).padStart(40, '0')}`);
const member = (n: number): MemberInfo => ({
  address: addr(n),
  name: `m${n}`,
  endpoint: 'http://x',
  encryptionKey: new Uint8Array(32),
  active: true,
  roles: 1,
  admission: 1,
});
const entry = (custodian: number, index: number) =>
  Buffer.from(
    encodeEntry({
      index,
      time: 1,
      member: addr(custodian),
      actor: 'u',
      patient: null,
      action: 'read',
      target: null,
      purpose: 'treatment',
      outcome: 'permit',
      reason: 'ok',
      queryHash: null,
    }),
  ).toString('base64');

describe('replication', () => {
  test('replicas are the next two members by address, wrapping around, never the custodian', () => {
    const ms = [5, 1, 9, 3].map(member);
    assert.deepEqual(
      replicasOf(addr(3), ms).map((m) => m.name),
      ['m5', 'm9'],
    );
    assert.deepEqual(
      replicasOf(addr(9), ms).map((m) => m.name),
      ['m1', 'm3'],
    );
    assert.deepEqual(
      replicasOf(addr(1), ms.slice(1, 3)).map((m) => m.name),
      ['m9'],
    );
  });

  test('a replica refuses a wrap for itself, entries of another member, and out-of-order pushes', () => {
    const db = openDatabase(':memory:', NODE_MIGRATIONS);
    const self = 'ab'.repeat(32);
    const record = {
      resourceType: 'Observation',
      id: 'o1',
      version: 1,
      patient: addr(7),
      patientRef: 'Patient/p',
      nonce: '',
      ciphertext: '',
      ciphertextHash: '00',
      entryIndex: 0,
      wraps: [{ recipient: self, enc: '', wrapped: '' }],
    };
    assert.throws(
      () => acceptPush(db, self, addr(2), { from: 0, entries: [], records: [record], deleted: [] }),
      /bad replica record/,
    );
    assert.throws(
      () => acceptPush(db, self, addr(2), { from: 0, entries: [entry(3, 0)], records: [], deleted: [] }),
      /another member/,
    );
    assert.deepEqual(
      acceptPush(db, self, addr(2), {
        from: 0,
        entries: [entry(2, 0), entry(2, 1)],
        records: [],
        deleted: [],
      }),
      { logSize: 2 },
    );
    assert.throws(
      () => acceptPush(db, self, addr(2), { from: 5, entries: [entry(2, 5)], records: [], deleted: [] }),
      (e: { logSize?: number }) => e.logSize === 2,
    );
    assert.throws(() => acceptPush(db, self, addr(2), { nope: true }), /a replica push has/);
  });

  test("a replica serves a wrap only under a grant to the requester's current admission", async () => {
    const db = openDatabase(':memory:', NODE_MIGRATIONS);
    const reader = { ...member(5), encryptionKey: new Uint8Array(32).fill(0xcd) };
    const patient = addr(7);
    acceptPush(db, 'ab'.repeat(32), addr(2), {
      from: 0,
      entries: [entry(2, 0)],
      records: [
        {
          resourceType: 'Observation',
          id: 'o1',
          version: 1,
          patient,
          patientRef: 'Patient/p',
          nonce: '',
          ciphertext: '',
          ciphertextHash: '00',
          entryIndex: 0,
          wraps: [{ recipient: 'cd'.repeat(32), enc: '', wrapped: '' }],
        },
      ],
      deleted: [],
    });
    const grant: GrantTerms = {
      granteeAdmission: 1,
      categories: 0xff,
      purposes: 0xf,
      validFrom: 0n,
      expiry: 4_000_000_000n,
    };
    const ask = (readerNow: MemberInfo) => {
      const logged: { outcome: string }[] = [];
      const consortium = {
        member: async () => readerNow,
        grantOf: async () => grant,
        latestHead: async () => ({ treeSize: 0, rootHash: `0x${'00'.repeat(32)}` as const }),
      } as unknown as ConsortiumView;
      const log = { appendAll: async (l: { outcome: string }[]) => void logged.push(...l) };
      const body = { custodian: addr(2), patient, resourceType: 'Observation', purpose: 'treatment' };
      return {
        logged,
        answer: answerAsReplica(
          { db, log: log as never, consortium, now: () => 1_000_000 },
          reader.address,
          body,
        ),
      };
    };
    const current = ask({ ...reader, admission: 1 });
    assert.equal((await current.answer).denied, 0, 'the grant names this admission');
    assert.deepEqual(
      current.logged.map((l) => l.outcome),
      ['permit'],
    );
    const readmitted = ask({ ...reader, admission: 2 });
    await assert.rejects(readmitted.answer, (e: FhirError) => e.status === 403);
    assert.deepEqual(
      readmitted.logged.map((l) => l.outcome),
      ['deny'],
      'the refusal is logged',
    );
    const removed = ask({ ...reader, admission: 1, active: false });
    await assert.rejects(removed.answer, (e: FhirError) => e.status === 403);
  });
});
