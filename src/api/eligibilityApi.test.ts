/**
 * Eligibility between two member nodes over a real socket (the provider's `$submit` calls the
 * insurer's `/federation/eligibility` member-signed): in force, lapsed, not enrolled; the refusals
 * (malformed, unknown patient, no coverage, wrong role, unsigned or non-member caller, another
 * insurer asking, a provider asking in another's name); both ends log, the provider stores both.
 * The Registry is a stub here (no chain): who is a member, an insurer, and where it listens.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CoverageEligibilityResponse } from '@medplum/fhirtypes';
import { type Address, getAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { startTestNode, type TestNode } from '../../test/support/testNode.js';
import { answerEligibility, parseEligibilityAsk, requestEligibility } from '../claims/eligibility.js';
import { ELIGIBILITY_ERROR_SYSTEM } from '../claims/fhirEligibility.js';
import { postSigned } from '../federation/memberClient.js';
import { PATIENT_ADDRESS_SYSTEM } from '../fhir/resourceTypes.js';
import { decodeEntry } from '../log/entry.js';
import { MEMBER_NUMBER_SYSTEM, seedCoverage } from '../node/seed/seedCoverage.js';

const HOSPITAL = 1;
const INSURER = 8;
const operator = { id: 'operator:test', role: 'operator' as const, purpose: 'operations' as const };
const addr = (n: number): Address => getAddress(`0x${n.toString(16).padStart(40, '0')}`);
/** Covered at the insurer and at the provider. */
const COVERED = addr(0xa1);
/** Covered until the end of 2025 (the provider's Coverage still says active). */
const LAPSED = addr(0xa2);
/** Known at the provider, no Coverage there, not enrolled at the insurer. */
const UNINSURED = addr(0xa3);
/** Known nowhere. */
const UNKNOWN = addr(0xa4);

let provider: TestNode;
let insurer: TestNode;
let insurerUrl = '';
/** Another insurer: a member, but not a provider. */
const rival = privateKeyToAccount(generatePrivateKey());
const outsider = privateKeyToAccount(generatePrivateKey());

const providerAddress = () => provider.node.identity.address;
const insurerAddress = () => insurer.node.identity.address;

before(async () => {
  insurer = await startTestNode({
    deps: (node) => ({
      memberStatus: async (a) =>
        a === providerAddress() || a === rival.address ? ('active' as const) : ('unknown' as const),
      eligibility: {
        parse: (caller, body) => parseEligibilityAsk(node.identity.address, caller, body),
        answer: (caller, q) => answerEligibility({ gate: node.gate, self: node.identity.address }, caller, q),
      },
    }),
  });
  insurer.node.gate.attachChain({
    member: async (a) => ({
      active: true,
      roles: a === rival.address ? INSURER : HOSPITAL,
      admission: 1,
      name: '',
    }),
    grantOf: async () => undefined,
  });
  insurerUrl = `http://${await insurer.app.listen({ host: '127.0.0.1', port: 0 }).then((u) => new URL(u).host)}`;
  provider = await startTestNode({
    deps: (node) => ({
      requestEligibility: (actor, body) =>
        requestEligibility(
          {
            gate: node.gate,
            self: node.identity.address,
            signer: privateKeyToAccount(node.identity.chainKey),
            member: async (a) =>
              a === insurerAddress()
                ? { address: a, name: 'Acme', endpoint: insurerUrl, active: true, roles: INSURER }
                : { address: a, name: '', endpoint: '', active: false, roles: 0 },
          },
          actor,
          body,
        ),
    }),
  });
  const payer = { address: insurerAddress(), name: 'Acme Health Insurance' };
  const patient = async (t: TestNode, a: Address) =>
    (
      await t.node.gate.create(operator, 'Patient', {
        resourceType: 'Patient',
        identifier: [{ system: PATIENT_ADDRESS_SYSTEM, value: a }],
        name: [{ family: 'Test', given: ['Eligibility'] }],
      })
    ).id as string;
  for (const a of [COVERED, LAPSED]) {
    // The same member number at both ends, as on the patient's insurance card.
    const number = a === COVERED ? 'ACME-1' : 'ACME-2';
    await provider.node.gate.create(
      operator,
      'Coverage',
      seedCoverage(await patient(provider, a), number, payer),
    );
    const enrolled = seedCoverage(await patient(insurer, a), number, payer);
    if (a === LAPSED) enrolled.period = { start: '2020-01-01', end: '2025-12-31' };
    await insurer.node.gate.create(operator, 'Coverage', enrolled);
  }
  await patient(provider, UNINSURED);
});
after(async () => {
  await provider?.close();
  await insurer?.close();
});

function request(patient: Address, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    resourceType: 'CoverageEligibilityRequest',
    status: 'active',
    purpose: ['validation'],
    patient: { identifier: { system: PATIENT_ADDRESS_SYSTEM, value: patient } },
    created: '2026-03-02T09:00:00Z',
    servicedDate: '2026-03-02',
    ...over,
  };
}

const submit = async (body: unknown, role: 'billing' | 'clinician' = 'billing') =>
  provider.app.inject({
    method: 'POST',
    url: '/fhir/CoverageEligibilityRequest/$submit',
    headers: {
      authorization: `Bearer ${await provider.token(role)}`,
      'content-type': 'application/fhir+json',
    },
    payload: JSON.stringify(body),
  });

const logSince = (t: TestNode, from: number) =>
  t.node.log.entries(from, t.node.log.size).map((e) => decodeEntry(e.leaf));

const stored = async (type: string, patient: Address) =>
  (
    await provider.app.inject({
      method: 'GET',
      url: `/fhir/${type}?patient=${patient}`,
      headers: { authorization: `Bearer ${await provider.token('billing')}` },
    })
  ).json().total as number;

describe('eligibility at the provider, answered by the insurer', () => {
  test('in force: the insurer found from the stored Coverage; both ends log, the provider stores both', async () => {
    const fromProvider = provider.node.log.size;
    const fromInsurer = insurer.node.log.size;
    const res = await submit(request(COVERED));
    assert.equal(res.statusCode, 200, res.body);
    const r = res.json() as CoverageEligibilityResponse;
    assert.equal(r.resourceType, 'CoverageEligibilityResponse');
    assert.equal(r.outcome, 'complete');
    assert.equal(r.insurance?.[0]?.inforce, true);
    assert.equal(r.insurance?.[0]?.coverage.identifier, undefined, 'the member number is not echoed');
    assert.equal(r.insurer.identifier?.value, insurerAddress());
    assert.match(r.patient.reference ?? '', /^Patient\//);
    assert.match(r.request.reference ?? '', /^CoverageEligibilityRequest\//);
    const atInsurer = logSince(insurer, fromInsurer);
    assert.deepEqual(
      atInsurer.map((e) => [e.actor, e.action, e.target?.resourceType, e.purpose, e.outcome, e.patient]),
      [[`member:${providerAddress()}`, 'search', 'Coverage', 'payment', 'permit', COVERED]],
    );
    const atProvider = logSince(provider, fromProvider).filter((e) => e.action === 'create');
    assert.deepEqual(
      atProvider.map((e) => e.target?.resourceType),
      ['CoverageEligibilityRequest', 'CoverageEligibilityResponse'],
    );
    assert.equal(await stored('CoverageEligibilityRequest', COVERED), 1);
    assert.equal(await stored('CoverageEligibilityResponse', COVERED), 1);
  });

  test('lapsed on the date of service: complete, not in force, with the benefit period', async () => {
    const res = await submit(request(LAPSED, { purpose: ['benefits', 'validation'] }));
    assert.equal(res.statusCode, 200, res.body);
    const r = res.json() as CoverageEligibilityResponse;
    assert.equal(r.outcome, 'complete');
    assert.equal(r.insurance?.[0]?.inforce, false);
    assert.deepEqual(r.insurance?.[0]?.benefitPeriod, { start: '2020-01-01', end: '2025-12-31' });
    const inPeriod = (await submit(request(LAPSED, { servicedDate: '2025-06-01' }))).json();
    assert.equal(inPeriod.insurance[0].inforce, true);
  });

  test('not enrolled, or another member number: one and the same error response (who insures whom is not told)', async () => {
    const card = (n: string) => ({
      insurer: { identifier: { system: 'urn:medchain:member', value: insurerAddress() } },
      insurance: [{ focal: true, coverage: { identifier: { system: MEMBER_NUMBER_SYSTEM, value: n } } }],
    });
    const answers: string[] = [];
    for (const [who, number] of [
      [UNINSURED, 'ACME-1'],
      [COVERED, 'ACME-9'],
      [COVERED, 'ACME-2'],
    ] as const) {
      const res = await submit(request(who, card(number)));
      assert.equal(res.statusCode, 200, res.body);
      const r = res.json() as CoverageEligibilityResponse;
      assert.equal(r.outcome, 'error');
      assert.equal(r.insurance, undefined);
      assert.deepEqual(r.error?.[0]?.code.coding?.[0], {
        system: ELIGIBILITY_ERROR_SYSTEM,
        code: 'no-match',
      });
      answers.push(JSON.stringify([r.outcome, r.disposition, r.error]));
    }
    assert.equal(new Set(answers).size, 1, answers.join('\n'));
    assert.equal(await stored('CoverageEligibilityResponse', UNINSURED), 1);
    // The right number from the card, with nothing stored at the provider: covered.
    const ok = (await submit(request(COVERED, card('ACME-1')))).json() as CoverageEligibilityResponse;
    assert.equal(ok.outcome, 'complete');
  });

  test('refusals: a clear OperationOutcome, nothing stored, the insurer not asked', async () => {
    const cases: [string, unknown, number, RegExp, ('billing' | 'clinician')?][] = [
      ['not an object', [1], 400, /JSON object/],
      ['another resource', { resourceType: 'Claim' }, 400, /resourceType/],
      ['patient by local id', request(COVERED, { patient: { reference: 'Patient/x' } }), 400, /patient/],
      ['no date of service', request(COVERED, { servicedDate: undefined }), 400, /servicedDate/],
      [
        'a period',
        request(COVERED, { servicedDate: undefined, servicedPeriod: { start: '2026-03-01' } }),
        400,
        /servicedPeriod/,
      ],
      ['purpose discovery', request(COVERED, { purpose: ['discovery'] }), 400, /purpose/],
      ['invalid R4', request(COVERED, { created: 'yesterday' }), 422, /not valid FHIR R4/],
      [
        'in another provider’s name',
        request(COVERED, { provider: { identifier: { system: 'urn:medchain:member', value: addr(7) } } }),
        400,
        /provider/,
      ],
      [
        'a non-insurer named',
        request(COVERED, { insurer: { identifier: { system: 'urn:medchain:member', value: addr(9) } } }),
        422,
        /not an active insurer/,
      ],
      ['unknown patient', request(UNKNOWN), 422, /no Patient with identifier/],
      ['no coverage and no insurer', request(UNINSURED), 422, /no Coverage/],
      [
        'no member number known',
        request(UNINSURED, {
          insurer: { identifier: { system: 'urn:medchain:member', value: insurerAddress() } },
        }),
        422,
        /no member number/,
      ],
      ['wrong role', request(COVERED), 403, /clinician role/, 'clinician'],
    ];
    for (const [name, body, status, text, role] of cases) {
      const fromInsurer = insurer.node.log.size;
      const before = await stored('CoverageEligibilityRequest', COVERED);
      const res = await submit(body, role);
      assert.equal(res.statusCode, status, `${name}: ${res.body}`);
      assert.equal(res.json().resourceType, 'OperationOutcome', name);
      assert.match(res.json().issue[0].details.text, text, name);
      assert.equal(insurer.node.log.size, fromInsurer, `${name}: the insurer was not asked`);
      assert.equal(await stored('CoverageEligibilityRequest', COVERED), before, `${name}: nothing stored`);
    }
  });
});

describe('the insurer’s intake, /federation/eligibility', () => {
  const wire = (over: Record<string, unknown> = {}) =>
    request(COVERED, {
      insurer: { identifier: { system: 'urn:medchain:member', value: insurerAddress() } },
      ...over,
    });
  const target = () => ({ address: insurerAddress(), endpoint: insurerUrl, name: 'Acme' });
  const send = (by: typeof rival, body: unknown) =>
    postSigned(by, target(), '/federation/eligibility', JSON.stringify(body));

  test('unsigned and non-member callers: 401', async () => {
    const unsigned = await fetch(`${insurerUrl}/federation/eligibility`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ request: wire() }),
    });
    assert.equal(unsigned.status, 401);
    const r = await send(outsider, { request: wire() });
    assert.equal(r.kind === 'refused' && r.status, 401, JSON.stringify(r));
  });

  test('another insurer asking: 403, logged as a deny under payment against the patient', async () => {
    const from = insurer.node.log.size;
    const r = await send(rival, { request: wire() });
    assert.equal(r.kind === 'refused' && r.status, 403, JSON.stringify(r));
    assert.match(r.kind === 'refused' ? r.message : '', /providers/);
    assert.deepEqual(
      logSince(insurer, from).map((e) => [e.actor, e.outcome, e.reason, e.purpose, e.patient]),
      [[`member:${rival.address}`, 'deny', 'not-a-provider', 'payment', COVERED]],
    );
  });

  test('strict message: unknown fields and bad requests are 400 naming them', async () => {
    const cases: [unknown, RegExp][] = [
      [{ request: wire(), extra: 1 }, /"extra" is not part of the message/],
      [{ req: wire() }, /"req" is not part of the message/],
      [{ request: { resourceType: 'Claim' } }, /must be a FHIR CoverageEligibilityRequest/],
      [{ request: wire({ note: 'x'.repeat(40_000) }) }, /larger than/],
      [{ request: wire({ insurer: undefined }) }, /not valid FHIR R4|insurer/],
    ];
    for (const [body, text] of cases) {
      const r = await postSigned(
        privateKeyToAccount(provider.node.identity.chainKey),
        target(),
        '/federation/eligibility',
        JSON.stringify(body),
      );
      assert.ok(r.kind === 'refused' && (r.status === 400 || r.status === 422), JSON.stringify(r));
      assert.match(r.kind === 'refused' ? r.message : '', text);
    }
  });

  test('a provider asking in another provider’s name, or of another insurer: refused', async () => {
    const signer = privateKeyToAccount(provider.node.identity.chainKey);
    const other = await postSigned(
      signer,
      target(),
      '/federation/eligibility',
      JSON.stringify({
        request: wire({ provider: { identifier: { system: 'urn:medchain:member', value: addr(7) } } }),
      }),
    );
    assert.equal(other.kind === 'refused' && other.status, 403, JSON.stringify(other));
    const elsewhere = await postSigned(
      signer,
      target(),
      '/federation/eligibility',
      JSON.stringify({
        request: wire({ insurer: { identifier: { system: 'urn:medchain:member', value: addr(9) } } }),
      }),
    );
    assert.equal(elsewhere.kind === 'refused' && elsewhere.status, 422, JSON.stringify(elsewhere));
  });
});
