/**
 * The claims views' routes in process (Fastify inject) over real stored documents: the insurer's
 * queue joins its Claims and ClaimResponses with the chain's record (state, fraud flags by name,
 * approved amount, payment status) and filters by state; the provider's list shows its claims
 * with the reasons and no fraud flags; roles are enforced (refusals logged), every record read is
 * logged under the purpose payment, and a node without Claims answers 503.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Claim } from '@medplum/fhirtypes';
import { type Address, getAddress, type Hex } from 'viem';
import { startTestNode, type TestNode } from '../../test/support/testNode.js';
import type { Actor } from '../access/gatekeeper.js';
import type { ClaimRecordView } from '../chain/claimsView.js';
import { insurerClaimCopy, patientReference, withClaimId } from '../claims/claimDocuments.js';
import { claimQueue, submittedClaims } from '../claims/claimQueue.js';
import { buildClaimResponse } from '../claims/claimResponse.js';
import { type Adjudication, FRAUD } from '../claims/model.js';
import { decodeEntry } from '../log/entry.js';

const OP: Actor = { id: 'operator:test', role: 'operator', purpose: 'operations' };
const PATIENT = getAddress('0x1111111111111111111111111111111111111111');
const OTHER = getAddress('0x4444444444444444444444444444444444444444');
const CLEAN = `0x${'a1'.repeat(32)}` as Hex;
const DUP = `0x${'d2'.repeat(32)}` as Hex;
const records = new Map<Hex, ClaimRecordView>();
let insurer: TestNode;
let provider: TestNode;
let without: TestNode;

function fhirClaim(self: Address, payer: Address, provider: Address, id: string): Claim {
  return {
    resourceType: 'Claim',
    id,
    status: 'active',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
    use: 'claim',
    patient: { identifier: { system: 'urn:medchain:patient', value: PATIENT } },
    created: '2026-03-10T12:00:00Z',
    provider: { identifier: { system: 'urn:medchain:member', value: provider } },
    insurer: { identifier: { system: 'urn:medchain:member', value: payer } },
    priority: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/processpriority', code: 'normal' }],
    },
    insurance: [{ sequence: 1, focal: true, coverage: { display: `coverage with ${self}` } }],
    item: [
      {
        sequence: 1,
        productOrService: { coding: [{ system: 'urn:medchain:procedure', code: 'Z1020' }] },
        servicedDate: '2026-03-02',
        quantity: { value: 1 },
        unitPrice: { value: 100, currency: 'USD' },
        net: { value: 100, currency: 'USD' },
      },
    ],
    total: { value: 100, currency: 'USD' },
  };
}

const approved: Adjudication = {
  kind: 'adjudicated',
  state: 'approved',
  lines: [{ sequence: 1, status: 'approved', findings: [], submitted: 10_000, benefit: 10_000 }],
  fraudFlags: 0,
  submitted: 10_000,
  benefit: 10_000,
  tables: [],
};
const duplicate: Adjudication = {
  ...approved,
  state: 'denied',
  lines: [
    {
      sequence: 1,
      status: 'denied',
      findings: [
        { rule: 'duplicate', carc: '18', effect: 'denied', flag: 'duplicate', text: 'exact duplicate' },
      ],
      submitted: 10_000,
      benefit: 0,
    },
  ],
  fraudFlags: FRAUD.duplicate,
  benefit: 0,
};

/** Store a claim's Claim and ClaimResponse at `n` as the insurer (copy) or provider keeps them. */
async function store(n: TestNode, claimId: Hex, claim: Claim, decision: Adjudication, patientId: string) {
  const id = claimId.slice(2);
  const kept: Claim = { ...claim, id, identifier: withClaimId(undefined, claimId) };
  await n.node.gate.update(OP, 'Claim', id, kept, 0);
  await n.node.gate.update(
    OP,
    'ClaimResponse',
    id,
    {
      ...buildClaimResponse(kept, decision, { id, created: '2026-03-10T12:00:01Z' }),
      identifier: withClaimId(undefined, claimId),
      patient: patientReference(patientId, PATIENT),
    },
    0,
  );
}

const record = (state: ClaimRecordView['state'], flags: number, approvedCents: bigint, payer: Address) => ({
  state,
  fraudFlags: flags,
  provider: OTHER,
  payer,
  billed: 10_000n,
  approved: approvedCents,
  ruleSet: `0x${'00'.repeat(32)}` as Hex,
  disputes: 0,
});

before(async () => {
  const chain = { claimOf: async (id: Hex) => records.get(id) };
  insurer = await startTestNode({
    deps: (node) => {
      const d = { gate: node.gate, chain, self: node.identity.address };
      return { claimQueue: (a, s) => claimQueue(d, a, s), submittedClaims: (a) => submittedClaims(d, a) };
    },
  });
  provider = await startTestNode({
    deps: (node) => {
      const d = { gate: node.gate, chain, self: node.identity.address };
      return { claimQueue: (a, s) => claimQueue(d, a, s), submittedClaims: (a) => submittedClaims(d, a) };
    },
  });
  without = await startTestNode();
  const self = insurer.node.identity.address;
  const prov = provider.node.identity.address;
  for (const n of [insurer, provider]) {
    const p = await n.node.gate.create(OP, 'Patient', {
      resourceType: 'Patient',
      identifier: [{ system: 'urn:medchain:patient', value: PATIENT }],
    });
    const patientId = p.id as string;
    const base = fhirClaim(self, self, prov, 'c-1');
    const copy = (claimId: Hex) =>
      n === insurer ? insurerClaimCopy(base, { claimId, provider: prov, patientId, patient: PATIENT }) : base;
    await store(
      n,
      CLEAN,
      { ...copy(CLEAN), patient: patientReference(patientId, PATIENT) },
      approved,
      patientId,
    );
    await store(
      n,
      DUP,
      { ...copy(DUP), patient: patientReference(patientId, PATIENT) },
      duplicate,
      patientId,
    );
  }
  records.set(CLEAN, record('approved', 0, 10_000n, self));
  records.set(DUP, record('denied', FRAUD.duplicate, 0n, self));
});
after(async () => {
  await insurer?.close();
  await provider?.close();
  await without?.close();
});

const get = async (n: TestNode, url: string, role: 'billing' | 'admin' | 'clinician') =>
  n.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${await n.token(role)}` } });

describe('GET /claims/queue', () => {
  test('the insurer’s queue: state, reasons, fraud flags by name, payment status, newest first', async () => {
    const r = await get(insurer, '/claims/queue', 'billing');
    assert.equal(r.statusCode, 200, r.body);
    const { claims } = r.json() as { claims: Record<string, unknown>[] };
    assert.equal(claims.length, 2);
    const clean = claims.find((c) => c.claimId === CLEAN);
    const dup = claims.find((c) => c.claimId === DUP);
    assert.ok(clean && dup);
    assert.equal(clean.state, 'approved');
    assert.equal(clean.payment, 'awaiting-payment');
    assert.equal(clean.approvedCents, 10_000);
    assert.deepEqual(clean.fraudFlags, []);
    assert.equal(clean.patient, PATIENT);
    assert.equal(clean.provider, provider.node.identity.address);
    assert.equal(clean.servicedDate, '2026-03-02');
    assert.equal(clean.billedCents, 10_000);
    assert.equal(dup.state, 'denied');
    assert.equal(dup.payment, 'not-payable');
    assert.deepEqual(dup.fraudFlags, ['duplicate']);
    assert.deepEqual((dup.lines as { reasons: unknown }[])[0]?.reasons, [
      { carc: '18', text: 'exact duplicate', effect: 'denied' },
    ]);
    assert.ok(!JSON.stringify(claims).includes('Patient/'), 'no local patient reference is answered');
  });
  test('filters by state, and refuses an unknown state (400)', async () => {
    const denied = (await get(insurer, '/claims/queue?state=denied', 'billing')).json();
    assert.deepEqual(
      denied.claims.map((c: { claimId: string }) => c.claimId),
      [DUP],
    );
    const none = (await get(insurer, '/claims/queue?state=paid', 'billing')).json();
    assert.deepEqual(none.claims, []);
    const bad = await get(insurer, '/claims/queue?state=lost', 'billing');
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().issue[0].details.text, /state must be one of/);
  });
  test('every record read is logged under the purpose payment, before the answer', async () => {
    const before = insurer.node.log.size;
    await get(insurer, '/claims/queue', 'admin');
    const entries = insurer.node.log.entries(before, insurer.node.log.size).map((e) => decodeEntry(e.leaf));
    const reads = entries.filter((e) => e.action === 'search' && e.outcome === 'permit');
    assert.deepEqual(reads.map((e) => `${e.target?.resourceType}/${e.target?.id}:${e.purpose}`).sort(), [
      `Claim/${CLEAN.slice(2)}:payment`,
      `Claim/${DUP.slice(2)}:payment`,
      `ClaimResponse/${CLEAN.slice(2)}:payment`,
      `ClaimResponse/${DUP.slice(2)}:payment`,
    ]);
    assert.ok(reads.every((e) => e.patient === PATIENT));
  });
  test('a clinician is refused (403), logged as a denied search of Claim', async () => {
    const before = insurer.node.log.size;
    const r = await get(insurer, '/claims/queue', 'clinician');
    assert.equal(r.statusCode, 403);
    const entries = insurer.node.log.entries(before, insurer.node.log.size).map((e) => decodeEntry(e.leaf));
    assert.ok(entries.some((e) => e.outcome === 'deny' && e.target?.resourceType === 'Claim'));
  });
  test('no token is a 401; a node without Claims answers 503', async () => {
    assert.equal((await insurer.app.inject({ method: 'GET', url: '/claims/queue' })).statusCode, 401);
    const r = await get(without, '/claims/queue', 'billing');
    assert.equal(r.statusCode, 503);
    assert.match(r.json().issue[0].details.text, /Claims contract/);
  });
  test('the provider’s node has none in its queue (it is not their insurer)', async () => {
    assert.deepEqual((await get(provider, '/claims/queue', 'billing')).json().claims, []);
  });
});

describe('GET /claims/submitted', () => {
  test('the provider’s claims with the reasons, the chain’s state and no fraud flags', async () => {
    const r = await get(provider, '/claims/submitted', 'billing');
    assert.equal(r.statusCode, 200, r.body);
    const { claims } = r.json() as { claims: Record<string, unknown>[] };
    assert.deepEqual(claims.map((c) => c.claimId).sort(), [CLEAN, DUP].sort());
    const dup = claims.find((c) => c.claimId === DUP) as Record<string, unknown>;
    assert.equal(dup.state, 'denied');
    assert.equal(dup.fraudFlags, undefined);
    assert.match(String(dup.disposition), /Denied/);
    assert.equal((dup.lines as { status: string }[])[0]?.status, 'denied');
  });
  test('only billing users (an admin is refused, 403); the insurer has submitted none', async () => {
    assert.equal((await get(provider, '/claims/submitted', 'admin')).statusCode, 403);
    assert.deepEqual((await get(insurer, '/claims/submitted', 'billing')).json().claims, []);
  });
});
