import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidInputError } from '../errors.js';
import { answerAsReplica } from './replica.js';
import {
  parseRecordsAnswer,
  parseReleaseRequest,
  parseSupplyVerifyAnswer,
  parseSupplyVerifyRequest,
  supplyVerifyRequestBody,
} from './wire.js';

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

describe('drug unit verification requests and answers', () => {
  const req = {
    gtin: '09521234000112',
    serial: 'SK8THTPPMTUN',
    lot: 'AMX2601',
    expiry: '280630',
    corrUUID: '1b4e28ba-2fa1-11d2-883f-0016d3cca427',
  };
  test('a request round-trips through its body', () => {
    assert.deepEqual(parseSupplyVerifyRequest(JSON.parse(supplyVerifyRequestBody(req))), req);
    const { lot: _l, expiry: _e, ...bare } = req;
    assert.deepEqual(parseSupplyVerifyRequest(bare), bare);
  });
  test('bad requests are a 400 naming what is wrong', () => {
    const cases: [unknown, RegExp][] = [
      [null, /send \{gtin/],
      [[], /send \{gtin/],
      [{ ...req, patient: '0x' }, /"patient" is not part of a verification request/],
      [{ ...req, gtin: 9521234000112 }, /gtin must be a string/],
      [{ ...req, serial: undefined }, /serial must be a string/],
      [{ ...req, lot: 1 }, /lot must be a string/],
      [{ ...req, corrUUID: 'x' }, /corrUUID/],
      [{ ...req, gtin: '09521234000113' }, /check digit/],
      [{ ...req, serial: 'A'.repeat(21) }, /serial|21/i],
      [{ ...req, lot: 'with space' }, /lot|10/i],
      [{ ...req, expiry: '281340' }, /./],
    ];
    for (const [body, msg] of cases)
      assert.throws(
        () => parseSupplyVerifyRequest(body),
        (e: Error) => e instanceof InvalidInputError && msg.test(e.message),
        JSON.stringify(body),
      );
  });
  const answer = {
    responderGLN: '9521234000006',
    verificationTimestamp: '2026-12-01T13:40:00.000Z',
    corrUUID: req.corrUUID,
    data: { verified: true, additionalInfo: 'Recalled' },
    saleable: false,
    findings: ['recalled'],
  };
  test('answers are checked field by field', () => {
    assert.deepEqual(parseSupplyVerifyAnswer(answer), answer);
    const bad: unknown[] = [
      null,
      { ...answer, extra: 1 },
      { ...answer, responderGLN: '123' },
      { ...answer, verificationTimestamp: 'yesterday' },
      { ...answer, data: { verified: 'yes' } },
      { ...answer, data: { verified: false, verificationFailureReason: 'Because' } },
      { ...answer, data: { verified: true, additionalInfo: 'Fine' } },
      { ...answer, data: { verified: true, note: 'x' } },
      { ...answer, saleable: 'no' },
      { ...answer, findings: ['unheard-of'] },
    ];
    for (const a of bad)
      assert.throws(() => parseSupplyVerifyAnswer(a), InvalidInputError, JSON.stringify(a));
  });
});
