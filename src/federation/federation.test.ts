import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidInputError } from '../errors.js';
import { parseFederatedQuery } from './federation.js';
import { answerAsReplica } from './replication.js';

const P = '0x4D1Ad100619f59d961c0CFD53D3cAcF34B1892cD';
const good = {
  patient: P,
  resourceType: 'Observation',
  params: { code: ['718-7'] },
  purpose: 'treatment',
  breakGlass: null,
};

describe('cross-member request bodies', () => {
  test('a well-formed query parses', () => {
    assert.deepEqual(parseFederatedQuery(good).params, { code: ['718-7'] });
  });

  test('bad queries are refused with 400 naming the field', () => {
    const cases: [unknown, RegExp][] = [
      [null, /send \{patient, resourceType, purpose\}/],
      [{ ...good, patient: 'Jane' }, /patient must be a chain address/],
      [{ ...good, resourceType: 'Spaceship' }, /resourceType is not supported/],
      [{ ...good, purpose: 'curiosity' }, /purpose must be one of/],
      [{ ...good, purpose: 'emergency' }, /purpose emergency goes with breakGlass/],
      [{ ...good, breakGlass: 'because' }, /breakGlass must be the SHA-256/],
      [{ ...good, params: { patient: ['0x1'] } }, /params may not set patient/],
      [{ ...good, params: { _count: ['1000'] } }, /params may not set _count/],
      [{ ...good, params: { code: 'x' } }, /params.code must be an array of strings/],
      [{ ...good, params: [] }, /params must be an object/],
    ];
    for (const [body, msg] of cases) {
      assert.throws(
        () => parseFederatedQuery(body),
        (e: Error) => e instanceof InvalidInputError && msg.test(e.message),
        JSON.stringify(body),
      );
    }
  });

  test('a replica refuses malformed requests and break-glass before touching anything', async () => {
    const untouched = new Proxy({}, { get: () => assert.fail('nothing should be read for a bad request') });
    const ctx = { db: untouched, log: untouched, consortium: untouched } as never;
    for (const body of [
      {},
      { custodian: P, patient: P, resourceType: 'Nope', purpose: 'treatment' },
      { custodian: P, patient: P, resourceType: 'Observation', purpose: 'emergency' },
    ]) {
      await assert.rejects(answerAsReplica(ctx, P, body), (e: Error) => e instanceof InvalidInputError);
    }
  });
});
