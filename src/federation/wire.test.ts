import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidInputError } from '../errors.js';
import { answerAsReplica } from './replica.js';
import { parseRecordsAnswer, parseReleaseRequest } from './wire.js';

const P = '0x4D1Ad100619f59d961c0CFD53D3cAcF34B1892cD';
const good = {
  patient: P,
  resourceTypes: ['Observation'],
  purpose: 'treatment',
  userRole: 'clinician',
  breakGlass: null,
};

describe('requests between members', () => {
  test('a well-formed request parses to the patient and resource types only', () => {
    assert.deepEqual(parseReleaseRequest(good), { ...good, resourceTypes: ['Observation'] });
  });

  test('bad requests, and any search filter, are refused with 400 naming the field', () => {
    const cases: [unknown, RegExp][] = [
      [null, /send \{patient, resourceTypes, purpose, userRole, breakGlass\}/],
      [{ ...good, patient: 'Jane' }, /patient must be a chain address/],
      [{ ...good, resourceTypes: ['Spaceship'] }, /resourceTypes must be a list/],
      [{ ...good, resourceTypes: [] }, /resourceTypes must be a list/],
      [{ ...good, resourceTypes: ['Observation', 'Observation'] }, /distinct/],
      [{ ...good, purpose: 'curiosity' }, /purpose must be one of/],
      [{ ...good, userRole: 'god' }, /userRole must be a user role/],
      [{ ...good, purpose: 'emergency' }, /purpose emergency goes with breakGlass/],
      [{ ...good, breakGlass: 'because' }, /breakGlass must be the SHA-256/],
      [{ ...good, params: { code: ['F32.9'] } }, /"params" is not part of a request between members/],
      [{ ...good, code: 'F32.9' }, /"code" is not part of a request/],
    ];
    for (const [body, msg] of cases) {
      assert.throws(
        () => parseReleaseRequest(body),
        (e: Error) => e instanceof InvalidInputError && msg.test(e.message),
        JSON.stringify(body),
      );
    }
  });

  test('answers from other members are validated before anything opens them', () => {
    const ok = { custodian: P, patient: P, responseKey: null, records: [], refusals: [], truncated: false };
    assert.equal(parseRecordsAnswer(ok).records.length, 0);
    const record = {
      resourceType: 'Observation',
      id: 'o1',
      version: 1,
      patientRef: 'Patient/p',
      categories: 2,
      nonce: 'AAAA',
      ciphertext: 'AAAA',
      ciphertextHash: '0'.repeat(64),
      key: { kind: 'response', wrapped: 'AAAA' },
    };
    assert.equal(parseRecordsAnswer({ ...ok, records: [record] }).records.length, 1);
    for (const bad of [
      { ...ok, custodian: 'x' },
      { ...ok, records: {} },
      { ...ok, records: [{ ...record, id: '../x' }] },
      { ...ok, records: [{ ...record, categories: 0 }] },
      { ...ok, records: [{ ...record, ciphertextHash: 'zz' }] },
      { ...ok, records: [{ ...record, key: { kind: 'plain', dataKey: 'AAAA' } }] },
      { ...ok, records: [{ ...record, evidence: { entryIndex: 0, entry: 'AA', path: ['nope'] } }] },
      {
        ...ok,
        refusals: [{ resourceType: 'Observation', categories: ['everything'], reason: 'no-consent' }],
      },
      { ...ok, responseKey: { enc: 1 } },
    ]) {
      assert.throws(() => parseRecordsAnswer(bad), InvalidInputError, JSON.stringify(bad));
    }
  });

  test('a replica refuses malformed requests and break-glass before touching anything', async () => {
    const untouched = new Proxy({}, { get: () => assert.fail('nothing should be read for a bad request') });
    const ctx = { db: untouched, gate: untouched, consortium: untouched, selfKey: '' } as never;
    for (const body of [
      {},
      { ...good, custodian: P, resourceTypes: ['Nope'] },
      { ...good, custodian: P, purpose: 'emergency', breakGlass: `0x${'a'.repeat(64)}` },
    ]) {
      await assert.rejects(answerAsReplica(ctx, P, body), (e: Error) => e instanceof InvalidInputError);
    }
  });
});
