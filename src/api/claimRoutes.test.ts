/**
 * The claims routes in process (Fastify inject): only billing users submit, a node without the
 * claims services answers 503, the insurer's route takes member signatures only, and a refused
 * submission is logged (deny) before the answer; the service's ClaimResponse is answered as sent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestNode, type TestNode } from '../../test/support/testNode.js';
import { decodeEntry } from '../log/entry.js';
import type { StoredResource } from '../records/recordService.js';

const RESPONSE = {
  resourceType: 'ClaimResponse',
  id: 'r-1',
  outcome: 'complete',
} as unknown as StoredResource;
let withClaims: TestNode;
let without: TestNode;
const seen: unknown[] = [];
before(async () => {
  withClaims = await startTestNode({
    claims: {
      submitClaim: async (actor, body) => {
        seen.push({ actor: actor.role, purpose: actor.purpose, body });
        return RESPONSE;
      },
    },
  });
  without = await startTestNode();
});
after(async () => {
  await withClaims?.close();
  await without?.close();
});

const submit = async (n: TestNode, role: 'billing' | 'clinician' | 'admin') =>
  n.app.inject({
    method: 'POST',
    url: '/fhir/Claim/$submit',
    headers: { authorization: `Bearer ${await n.token(role)}` },
    payload: { resourceType: 'Claim' },
  });

describe('claims routes', () => {
  test('a billing user’s submission reaches the service under purpose payment and its answer is returned', async () => {
    const r = await submit(withClaims, 'billing');
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), RESPONSE);
    assert.deepEqual(seen.at(-1), { actor: 'billing', purpose: 'payment', body: { resourceType: 'Claim' } });
  });
  for (const role of ['clinician', 'admin'] as const)
    test(`a ${role} is refused (403), and the refusal is logged as a denied create of Claim`, async () => {
      const before = withClaims.node.log.size;
      const r = await submit(withClaims, role);
      assert.equal(r.statusCode, 403);
      assert.equal(r.json().resourceType, 'OperationOutcome');
      const entries = withClaims.node.log
        .entries(before, withClaims.node.log.size)
        .map((e) => decodeEntry(e.leaf));
      assert.ok(
        entries.some(
          (e) => e.action === 'create' && e.outcome === 'deny' && e.target?.resourceType === 'Claim',
        ),
        JSON.stringify(entries),
      );
    });
  test('a node without the claims services answers 503', async () => {
    const r = await submit(without, 'billing');
    assert.equal(r.statusCode, 503);
    assert.match(r.json().issue[0].details.text, /Claims contract/);
  });
  test('the insurer’s route takes no user token and no unsigned request', async () => {
    const bearer = await withClaims.app.inject({
      method: 'POST',
      url: '/federation/claims',
      headers: { authorization: `Bearer ${await withClaims.token('billing')}` },
      payload: {},
    });
    assert.equal(bearer.statusCode, 401);
    const none = await withClaims.app.inject({ method: 'POST', url: '/federation/claims', payload: {} });
    assert.equal(none.statusCode, 401);
  });
});
