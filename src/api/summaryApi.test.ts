import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Bundle, Composition, OperationOutcome } from '@medplum/fhirtypes';
import { startTestNode, type TestNode } from '../../test/support/testNode.js';
import { validateIpsDocument } from '../fhir/ips/validateIps.js';
import { decodeEntry } from '../log/entry.js';

let t: TestNode;
const ADDRESS = '0x4D1Ad100619f59d961c0CFD53D3cAcF34B1892cD';
const made = {} as Record<'patient' | 'noBirth' | 'allergy' | 'condition' | 'noCode' | 'med', string>;

async function get(
  url: string,
  role: Parameters<TestNode['token']>[0] | null = 'clinician',
  extra: Record<string, string> = {},
) {
  const r = await t.app.inject({
    method: 'GET',
    url,
    headers: { ...(role ? { authorization: `Bearer ${await t.token(role)}` } : {}), ...extra },
  });
  return { status: r.statusCode, json: () => r.json() };
}
async function create(body: Record<string, unknown>): Promise<string> {
  const r = await t.app.inject({
    method: 'POST',
    url: `/fhir/${body.resourceType}`,
    headers: {
      authorization: `Bearer ${await t.token('clinician')}`,
      'content-type': 'application/fhir+json',
    },
    payload: JSON.stringify(body),
  });
  assert.equal(r.statusCode, 201, r.body);
  return r.json().id;
}

before(async () => {
  t = await startTestNode();
  made.patient = await create({
    resourceType: 'Patient',
    identifier: [{ system: 'urn:medchain:patient', value: ADDRESS }],
    name: [{ family: 'Nkemelu', given: ['Chi'] }],
    birthDate: '1990-01-31',
  });
  made.noBirth = await create({ resourceType: 'Patient', name: [{ family: 'Unknown' }] });
  const subject = { reference: `Patient/${made.patient}` };
  made.allergy = await create({
    resourceType: 'AllergyIntolerance',
    clinicalStatus: {
      coding: [
        { system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' },
      ],
    },
    code: { text: 'Peanut' },
    patient: subject,
  });
  made.condition = await create({ resourceType: 'Condition', code: { text: 'Asthma' }, subject });
  // Valid R4, but not Condition-uv-ips (code is required there).
  made.noCode = await create({
    resourceType: 'Condition',
    subject,
    clinicalStatus: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
    },
  });
  made.med = await create({
    resourceType: 'MedicationRequest',
    status: 'active',
    intent: 'order',
    medicationCodeableConcept: { text: 'salbutamol inhaler' },
    subject,
  });
});
after(() => t.close());

const sectionOf = (b: Bundle, code: string) =>
  (b.entry?.[0]?.resource as Composition | undefined)?.section?.find((s) =>
    s.code?.coding?.some((c) => c.code === code),
  );
const ids = (b: Bundle) => (b.entry ?? []).map((e) => e.resource?.id).filter(Boolean);

describe('GET /fhir/Patient/<id>/$summary', () => {
  test('an IPS document of the local records, validated; each record logged before it is served', async () => {
    const from = t.node.log.size;
    const r = await get(`/fhir/Patient/${made.patient}/$summary`);
    assert.equal(r.status, 200, JSON.stringify(r.json()));
    const b = r.json() as Bundle;
    assert.deepEqual(validateIpsDocument(b), []);
    for (const id of [made.patient, made.allergy, made.condition, made.med]) assert.ok(ids(b).includes(id));
    const logged = t.node.log
      .entries(from, t.node.log.size)
      .map((e) => decodeEntry(e.leaf))
      .filter((e) => e.outcome === 'permit')
      .map((e) => e.target?.id);
    for (const id of [made.patient, made.allergy, made.condition, made.med])
      assert.ok(logged.includes(id), id);
  });

  test('a record that does not conform to its IPS profile is left out and said so in its section', async () => {
    const b = (await get(`/fhir/Patient/${made.patient}/$summary`)).json() as Bundle;
    assert.ok(!ids(b).includes(made.noCode));
    assert.match(
      sectionOf(b, '11450-4')?.text?.div ?? '',
      /a Condition from .* was left out: it does not conform/,
    );
  });

  test('the same by chain address at the type level', async () => {
    const r = await get(`/fhir/Patient/$summary?identifier=urn:medchain:patient|${ADDRESS}`);
    assert.equal(r.status, 200, JSON.stringify(r.json()));
    assert.ok(ids(r.json() as Bundle).includes(made.allergy));
    assert.equal((await get(`/fhir/Patient/$summary?identifier=${ADDRESS.toLowerCase()}`)).status, 200);
  });

  test('a Patient the IPS cannot describe (no birthDate) is a 422 naming it, not an invalid document', async () => {
    const r = await get(`/fhir/Patient/${made.noBirth}/$summary`);
    assert.equal(r.status, 422);
    const o = r.json() as OperationOutcome;
    assert.ok(
      o.issue?.some((i) => (i.expression ?? []).some((e) => e.endsWith('birthDate'))),
      JSON.stringify(o),
    );
  });

  const bad: [string, string, Parameters<TestNode['token']>[0] | null, number][] = [
    ['no session', `/fhir/Patient/${'x'}/$summary`, null, 401],
    ['an unknown id', '/fhir/Patient/does-not-exist/$summary', 'clinician', 404],
    ['a bad id', '/fhir/Patient/bad!id/$summary', 'clinician', 400],
    ['another profile', '/fhir/Patient/PID/$summary?profile=http://example.org/x', 'clinician', 400],
    ['an identifier that is no address', '/fhir/Patient/$summary?identifier=12345', 'clinician', 400],
    ['another identifier system', `/fhir/Patient/$summary?identifier=http://x|${ADDRESS}`, 'clinician', 400],
    [
      'no patient with that address',
      '/fhir/Patient/$summary?identifier=0x0000000000000000000000000000000000000001',
      'clinician',
      404,
    ],
  ];
  test('refused: break-glass (400: $summary reads under consent only)', async () => {
    const r = await get(`/fhir/Patient/${made.patient}/$summary`, 'emergency-clinician', {
      'x-break-glass-reason': 'patient unconscious in the ER',
    });
    assert.equal(r.status, 400);
  });

  for (const [name, url, role, status] of bad)
    test(`refused: ${name} (${status})`, async () => {
      const r = await get(url.replace('PID', made.patient), role);
      assert.equal(r.status, status, JSON.stringify(r.json()));
      assert.equal((r.json() as OperationOutcome).resourceType, 'OperationOutcome');
    });
});
