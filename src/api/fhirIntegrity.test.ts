import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import { startTestNode, type TestNode } from '../../test/support/testNode.js';
import type { Actor } from '../access/gatekeeper.js';
import { InvalidResourceError } from '../errors.js';
import { importPath } from '../records/importer.js';

const OPERATOR: Actor = { id: 'operator:import', role: 'operator', purpose: 'operations' };

let t: TestNode;
before(async () => {
  t = await startTestNode({ roles: ['clinician', 'admin'] });
});
after(() => t.close());

async function call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown) {
  const r = await t.app.inject({
    method,
    url,
    headers: {
      authorization: `Bearer ${await t.token(method === 'DELETE' ? 'admin' : 'clinician')}`,
      ...(body !== undefined ? { 'content-type': 'application/fhir+json' } : {}),
    },
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });
  return { status: r.statusCode, json: () => r.json() };
}

const total = async (type: string) => (await call('GET', `/fhir/${type}?_count=0`)).json().total as number;
const patient = (extra: Record<string, unknown> = {}) => ({
  resourceType: 'Patient',
  name: [{ family: 'Integrity', given: ['Test'] }],
  ...extra,
});
const observation = (subject: string) => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
  subject: { reference: subject },
});
const newPatient = async () => (await call('POST', '/fhir/Patient', patient())).json().id as string;

/** The status, the outcome's first text and the located issues of a refusal. */
function refusal(r: { status: number; json: () => unknown }) {
  const o = r.json() as OperationOutcome;
  assert.equal(o.resourceType, 'OperationOutcome');
  return {
    status: r.status,
    text: o.issue?.[0]?.details?.text ?? '',
    at: (o.issue ?? []).flatMap((i) => i.expression ?? []),
  };
}

describe('required value-set bindings at the API', () => {
  test('gender "robot" is a 422 naming the element and the allowed codes, and nothing is stored', async () => {
    const before = await total('Patient');
    const r = refusal(await call('POST', '/fhir/Patient', patient({ gender: 'robot' })));
    assert.equal(r.status, 422);
    assert.match(
      r.text,
      /Patient\.gender: "robot" is not in the required value set .*administrative-gender; allowed: male, female, other, unknown/,
    );
    assert.deepEqual(r.at, ['Patient.gender']);
    assert.equal(await total('Patient'), before);
    assert.equal((await call('POST', '/fhir/Patient', patient({ gender: 'other' }))).status, 201);
  });

  test('an update with a status outside its value set is a 422 too', async () => {
    const id = await newPatient();
    const o = (await call('POST', '/fhir/Observation', observation(`Patient/${id}`))).json();
    const r = refusal(await call('PUT', `/fhir/Observation/${o.id}`, { ...o, status: 'finished' }));
    assert.equal(r.status, 422);
    assert.deepEqual(r.at, ['Observation.status']);
  });
});

describe('referential integrity at the API', () => {
  test('an Observation whose subject does not exist is a 422 naming it, and nothing is stored', async () => {
    const before = await total('Observation');
    const r = refusal(await call('POST', '/fhir/Observation', observation('Patient/does-not-exist')));
    assert.equal(r.status, 422);
    assert.match(r.text, /Observation\.subject: Patient\/does-not-exist does not exist at this member/);
    assert.deepEqual(r.at, ['Observation.subject']);
    assert.equal(await total('Observation'), before);
  });

  test('a deleted patient counts as missing, with the same answer as one that never existed', async () => {
    const id = await newPatient();
    assert.equal((await call('POST', '/fhir/Observation', observation(`Patient/${id}`))).status, 201);
    assert.equal((await call('DELETE', `/fhir/Patient/${id}`)).status, 200);
    const deleted = refusal(await call('POST', '/fhir/Observation', observation(`Patient/${id}`)));
    const never = refusal(await call('POST', '/fhir/Observation', observation('Patient/never-was')));
    assert.equal(deleted.status, 422);
    assert.equal(deleted.text.replace(id, '<id>'), never.text.replace('never-was', '<id>'));
  });

  test('an update is checked as well', async () => {
    const id = await newPatient();
    const o = (await call('POST', '/fhir/Observation', observation(`Patient/${id}`))).json();
    const r = refusal(
      await call('PUT', `/fhir/Observation/${o.id}`, { ...o, encounter: { reference: 'Encounter/nope' } }),
    );
    assert.equal(r.status, 422);
    assert.deepEqual(r.at, ['Observation.encounter']);
  });

  test('a transaction resolves urn:uuid references to its entries whatever their order; a missing one fails it all', async () => {
    const pt = 'urn:uuid:6a0c1b56-8f4e-4c1d-9f43-1f7a4c0d2b11';
    const ok = await call('POST', '/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'POST', url: 'Observation' }, resource: observation(pt) },
        { fullUrl: pt, request: { method: 'POST', url: 'Patient' }, resource: patient() },
      ],
    });
    assert.equal(ok.status, 200);
    const [o, p] = (ok.json() as Bundle).entry ?? [];
    assert.equal(
      (o?.resource as { subject?: { reference?: string } } | undefined)?.subject?.reference,
      `Patient/${p?.resource?.id}`,
    );

    const before = await total('Patient');
    const bad = refusal(
      await call('POST', '/fhir', {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { request: { method: 'POST', url: 'Patient' }, resource: patient() },
          {
            request: { method: 'POST', url: 'Observation' },
            resource: observation('Patient/does-not-exist'),
          },
        ],
      }),
    );
    assert.equal(bad.status, 422);
    assert.match(
      bad.text,
      /^entry\[1\] \(POST Observation\): .*Patient\/does-not-exist does not exist.*nothing was stored/,
    );
    assert.equal(await total('Patient'), before);
  });

  test('a transaction that deletes a patient cannot also write a record for it', async () => {
    // Only an operator may both write and delete in one transaction (no user role does both).
    const id = await newPatient();
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'POST', url: 'Observation' }, resource: observation(`Patient/${id}`) },
        { request: { method: 'DELETE', url: `Patient/${id}` } },
      ],
    };
    await assert.rejects(t.node.gate.bundle(OPERATOR, bundle), (err: unknown) => {
      assert.ok(err instanceof InvalidResourceError);
      assert.deepEqual(
        err.issues.flatMap((i) => i.expression ?? []),
        ['Observation.subject'],
      );
      return true;
    });
    assert.equal((await call('GET', `/fhir/Patient/${id}`)).status, 200, 'nothing of it ran');
  });

  test('in a batch, an entry with a missing reference fails alone', async () => {
    const id = await newPatient();
    const r = await call('POST', '/fhir', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'POST', url: 'Observation' }, resource: observation('Patient/does-not-exist') },
        { request: { method: 'POST', url: 'Observation' }, resource: observation(`Patient/${id}`) },
      ],
    });
    assert.equal(r.status, 200);
    const [bad, good] = (r.json() as Bundle).entry ?? [];
    assert.equal(bad?.response?.status, '422');
    assert.match(
      bad?.response?.outcome?.issue?.[1]?.details?.text ?? '',
      /Patient\/does-not-exist does not exist/,
    );
    assert.equal(good?.response?.status, '201 Created');
  });

  test('conditional and urn:uuid references outside a Bundle are refused with what to do instead', async () => {
    const cond = refusal(
      await call('POST', '/fhir/Observation', observation('Patient?identifier=urn:medchain:patient|0x01')),
    );
    assert.equal(cond.status, 422);
    assert.match(cond.text, /conditional reference .* is not resolved here.*refer to Type\/id/);
    const urn = refusal(
      await call('POST', '/fhir/Observation', observation('urn:uuid:6a0c1b56-8f4e-4c1d-9f43-1f7a4c0d2b12')),
    );
    assert.equal(urn.status, 422);
    assert.match(urn.text, /resolves only inside a transaction or batch Bundle/);
  });

  test('import rejects a record whose subject is missing and says which reference', async () => {
    const id = await newPatient();
    const dir = mkdtempSync(path.join(tmpdir(), 'medchain-import-'));
    try {
      writeFileSync(
        path.join(dir, 'records.json'),
        JSON.stringify({
          resourceType: 'Bundle',
          type: 'collection',
          entry: [{ resource: observation(`Patient/${id}`) }, { resource: observation('Patient/elsewhere') }],
        }),
      );
      const gate = t.node.gate;
      const report = await importPath(
        {
          bundle: (b) => gate.bundle(OPERATOR, b),
          create: (type, b) => gate.create(OPERATOR, type, b),
          update: (type, rid, b) => gate.update(OPERATOR, type, rid, b),
        },
        dir,
      );
      assert.equal(report.imported, 1);
      assert.equal(report.rejected.length, 1);
      assert.match(
        report.rejected[0]?.reason ?? '',
        /Patient\/elsewhere does not exist at this member at Observation\.subject/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
