/**
 * The portal's claims code: the patient's claims read from their EOB records (evidence finding,
 * dispute facts, newest first), the dispute signed in the browser recovering to the patient with
 * the round and deadline given, and a payment run at a node without the route said to be not
 * available (the server's own "no route for" 404) while another 404 is an error.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Claim, ExplanationOfBenefit } from '@medplum/fhirtypes';
import { recoverTypedDataAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { disputeTypedData } from '../../../src/chain/disputeSignature.js';
import { buildExplanationOfBenefit } from '../../../src/claims/claimResponse.js';
import { disputeExtension } from '../../../src/claims/disputeFacts.js';
import type { Adjudication } from '../../../src/claims/model.js';
import { ApiError } from './api.js';
import { disputable, dollars, patientClaimsOf, runPayment, signedDispute } from './claims.js';

const CLAIM_ID = `0x${'ab'.repeat(32)}` as const;
const SALT = `0x${'cd'.repeat(32)}` as const;
const claim = (date: string) =>
  ({
    resourceType: 'Claim',
    id: `c-${date}`,
    provider: {
      identifier: { system: 'urn:medchain:member', value: '0x2222222222222222222222222222222222222222' },
    },
    item: [
      {
        sequence: 1,
        productOrService: { coding: [{ system: 'urn:medchain:procedure', code: 'Z1020' }] },
        servicedDate: date,
        net: { value: 120, currency: 'USD' },
      },
    ],
  }) as unknown as Claim;
const decision = (carc?: string): Adjudication => ({
  kind: 'adjudicated',
  state: carc ? 'pended' : 'approved',
  lines: [
    {
      sequence: 1,
      status: carc ? 'pended' : 'approved',
      findings: carc ? [{ rule: 'phantom', carc, effect: 'pended', text: 'no evidence of service' }] : [],
      submitted: 12_000,
      benefit: carc ? 0 : 12_000,
    },
  ],
  fraudFlags: 0,
  submitted: 12_000,
  benefit: carc ? 0 : 12_000,
  tables: [],
});
const eob = (date: string, carc?: string, facts = true): ExplanationOfBenefit => ({
  ...buildExplanationOfBenefit(claim(date), decision(carc), {
    id: date,
    created: date,
    claimResponseId: date,
  }),
  ...(facts ? { extension: [disputeExtension(CLAIM_ID, SALT)] } : {}),
});

describe('patientClaimsOf', () => {
  test('every EOB among the records, newest service first, with the evidence finding and dispute facts', () => {
    const records = [
      { resource: eob('2026-03-01'), member: 'Acme Health Insurance' },
      { resource: { resourceType: 'Observation' } as never, member: 'Central Lab' },
      { resource: eob('2026-03-05', '252', false), member: 'Acme Health Insurance' },
    ];
    const claims = patientClaimsOf(records);
    assert.deepEqual(
      claims.map((c) => [c.servicedDate, c.evidence, c.heldBy, c.billedCents, c.paidCents]),
      [
        ['2026-03-05', 'no-evidence', 'Acme Health Insurance', 12_000, 0],
        ['2026-03-01', 'vouched', 'Acme Health Insurance', 12_000, 12_000],
      ],
    );
    assert.equal(claims[0]?.dispute, undefined);
    assert.deepEqual(claims[1]?.dispute, { claimId: CLAIM_ID, salt: SALT });
  });
  test('money and which states may be disputed (Claims.sol: pended, approved, paid)', () => {
    assert.equal(dollars(123_450), '$1,234.50');
    assert.deepEqual(
      (['submitted', 'pended', 'approved', 'denied', 'disputed', 'paid', 'appealed'] as const).filter(
        disputable,
      ),
      ['pended', 'approved', 'paid'],
    );
    assert.equal(disputable(undefined), false);
  });
});

test('the dispute is signed with the round and deadline given, and recovers to the patient', async () => {
  const patient = privateKeyToAccount(generatePrivateKey());
  const chain = {
    chainId: 31337,
    contracts: { Claims: '0x5FbDB2315678afecb367f032d93F642f64180aa3' as const },
  };
  const body = await signedDispute(patient, chain, { claimId: CLAIM_ID, salt: SALT }, 2, 1_900_000_000n);
  assert.deepEqual(
    { ...body, signature: undefined },
    { claimId: CLAIM_ID, round: 2, deadline: '1900000000', salt: SALT, signature: undefined },
  );
  const typed = disputeTypedData(chain, { claimId: CLAIM_ID, round: 2, deadline: 1_900_000_000n });
  assert.equal(await recoverTypedDataAddress({ ...typed, signature: body.signature }), patient.address);
  const other = disputeTypedData(chain, { claimId: CLAIM_ID, round: 1, deadline: 1_900_000_000n });
  assert.notEqual(await recoverTypedDataAddress({ ...other, signature: body.signature }), patient.address);
});

describe('runPayment', () => {
  let server: Server;
  let answer: { status: number; body: unknown };
  before(async () => {
    server = createServer((_req, res) => {
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    (globalThis as unknown as { window: unknown }).window = {
      location: { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` },
    };
  });
  after(() => new Promise<void>((r) => server.close(() => r())));
  const outcome = (text: string) => ({
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: 'not-found', details: { text } }],
  });

  test('a refusal is an error, and a run is answered as the node sent it', async () => {
    answer = { status: 404, body: outcome('no approved claims') };
    await assert.rejects(runPayment('t'), (e) => e instanceof ApiError && e.status === 404);
    const run = { runId: 'r1', claims: 1, paidCents: 100, files: ['a.835'], txKeys: ['k'] };
    answer = { status: 200, body: run };
    assert.deepEqual(await runPayment('t'), run);
  });
});
