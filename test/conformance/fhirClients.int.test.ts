/**
 * Conformance (issue 15): a member driven over a real socket by FHIR clients not written here,
 * used as their documentation says and unchanged: fhir-kit-client, SMART's fhirclient (its
 * server-side FhirClient) and @medplum/core's MedplumClient. Each goes through create, read,
 * vread, update with If-Match, delete, search with paging (following `next` links), transaction and
 * batch; every response resource is checked with @medplum/core's validator against the R4
 * definitions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MedplumClient } from '@medplum/core';
import type { Bundle, Observation, Patient } from '@medplum/fhirtypes';
import { Client, type FhirResource } from 'fhir-kit-client';
import smart from 'fhirclient';
import type * as FhirClientModule from 'fhirclient/lib/FhirClient.js';
import {
  assertValid,
  assertValidBundle,
  type ConformanceNode,
  startConformanceNode,
} from './conformanceNode.js';

// fhirclient's Node entry (lib/entry/node.js) exports the server-side FhirClient beside smart();
// its top-level typings predate it. lib/FhirClient is CommonJS, so under NodeNext its class is the
// `default` of the module's `default` (module.exports).
const { FhirClient } = smart as unknown as { FhirClient: typeof FhirClientModule.default.default };

let n: ConformanceNode;
before(async () => {
  n = await startConformanceNode();
});
after(() => n?.close());

/** Our FHIR types as fhir-kit-client's (its resource type is an open record). */
const kit = (r: unknown) => r as FhirResource;

const patient = (family: string): Patient => ({
  resourceType: 'Patient',
  name: [{ family, given: ['Conformance'] }],
  gender: 'female',
  birthDate: '1975-06-01',
});

const observation = (patientId: string, value: number): Observation => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '718-7', display: 'Hemoglobin' }] },
  subject: { reference: `Patient/${patientId}` },
  effectiveDateTime: '2024-05-01T09:00:00Z',
  valueQuantity: { value, unit: 'g/dL', system: 'http://unitsofmeasure.org', code: 'g/dL' },
});

/** A transaction (or batch) that creates a patient and, referring to it by urn:uuid, an observation. */
const bundleOf = (type: 'transaction' | 'batch', family: string): Bundle => {
  const uuid = `urn:uuid:${crypto.randomUUID()}`;
  return {
    resourceType: 'Bundle',
    type,
    entry: [
      { fullUrl: uuid, request: { method: 'POST', url: 'Patient' }, resource: patient(family) },
      ...(type === 'transaction'
        ? [
            {
              request: { method: 'POST' as const, url: 'Observation' },
              resource: { ...observation('x', 12), subject: { reference: uuid } },
            },
          ]
        : []),
    ],
  };
};

/** Create `count` observations of a fresh patient (through the node's own API, not a client under test). */
async function seedObservations(count: number): Promise<string> {
  const headers = { authorization: `Bearer ${n.token}`, 'content-type': 'application/fhir+json' };
  const p = (await (
    await fetch(`${n.base}/Patient`, { method: 'POST', headers, body: JSON.stringify(patient('Paged')) })
  ).json()) as Patient;
  for (let i = 0; i < count; i++) {
    const r = await fetch(`${n.base}/Observation`, {
      method: 'POST',
      headers,
      body: JSON.stringify(observation(p.id as string, 10 + i)),
    });
    assert.equal(r.status, 201);
  }
  return p.id as string;
}

describe('conformance: FHIR clients not written here', { timeout: 300_000 }, () => {
  test('fhir-kit-client: CRUD, vread, If-Match, paging, transaction, batch', async () => {
    const client = new Client({ baseUrl: n.base, bearerToken: n.token });
    assertValid('capabilityStatement', await client.capabilityStatement());

    const created = (await client.create({
      resourceType: 'Patient',
      body: kit(patient('Kit')),
    })) as unknown as Patient;
    assertValid('create', created);
    const id = created.id as string;
    const read = (await client.read({ resourceType: 'Patient', id })) as unknown as Patient;
    assertValid('read', read);
    assert.equal(read.name?.[0]?.family, 'Kit');

    const updated = (await client.update({
      resourceType: 'Patient',
      id,
      body: kit({ ...read, gender: 'male' }),
      options: { headers: { 'If-Match': `W/"${read.meta?.versionId}"` } },
    })) as unknown as Patient;
    assertValid('update', updated);
    assert.equal(updated.meta?.versionId, '2');
    await assert.rejects(
      client.update({
        resourceType: 'Patient',
        id,
        body: kit({ ...read, gender: 'other' }),
        options: { headers: { 'If-Match': 'W/"1"' } },
      }),
      (err: { response?: { status?: number; data?: unknown } }) => {
        assert.equal(err.response?.status, 412);
        assertValid('stale If-Match', err.response?.data);
        return true;
      },
    );
    const v1 = (await client.vread({ resourceType: 'Patient', id, version: '1' })) as unknown as Patient;
    assertValid('vread', v1);
    assert.equal(v1.gender, 'female');
    assertValidBundle('history', await client.history({ resourceType: 'Patient', id }));

    const pid = await seedObservations(5);
    let page = (await client.search({
      resourceType: 'Observation',
      searchParams: { patient: pid, _count: 2 },
    })) as unknown as Bundle | undefined;
    const seen: string[] = [];
    for (let pages = 0; page; pages++) {
      assert.ok(pages < 10, 'paging ends');
      assertValidBundle(`search page ${pages}`, page);
      assert.equal(page.total, 5);
      for (const e of page.entry ?? []) if (e.search?.mode === 'match') seen.push(e.resource?.id as string);
      page = (await client.nextPage({ bundle: kit(page) as never })) as unknown as Bundle | undefined;
    }
    assert.equal(new Set(seen).size, 5, 'every match once, across pages');

    const tx = (await client.transaction({
      body: kit(bundleOf('transaction', 'KitTx')),
    })) as unknown as Bundle;
    assertValidBundle('transaction', tx);
    assert.equal(tx.type, 'transaction-response');
    const batch = (await client.batch({ body: kit(bundleOf('batch', 'KitBatch')) })) as unknown as Bundle;
    assertValidBundle('batch', batch);
    assert.equal(batch.type, 'batch-response');

    const admin = new Client({ baseUrl: n.base, bearerToken: n.adminToken });
    assertValid('delete', await admin.delete({ resourceType: 'Patient', id }));
    await assert.rejects(
      client.read({ resourceType: 'Patient', id }),
      (err: { response?: { status?: number } }) => {
        assert.equal(err.response?.status, 410);
        return true;
      },
    );
  });

  test('SMART fhirclient (FhirClient): CRUD, vread, If-Match, paging, transaction, batch', async () => {
    const client = new FhirClient(n.base);
    const auth = { headers: { authorization: `Bearer ${n.token}` } };
    const json = { headers: { ...auth.headers, 'content-type': 'application/fhir+json' } };
    assertValid('metadata', await client.fhirRequest('metadata', auth));

    const created = (await client.create(patient('Smart') as never, auth)) as Patient;
    assertValid('create', created);
    const id = created.id as string;
    const read = (await client.fhirRequest(`Patient/${id}`, auth)) as Patient;
    assertValid('read', read);
    const updated = (await client.update({ ...read, gender: 'male' } as never, {
      headers: { ...auth.headers, 'if-match': `W/"${read.meta?.versionId}"` },
    })) as unknown as Patient;
    assertValid('update', updated);
    assert.equal(updated.meta?.versionId, '2');
    await assert.rejects(
      client.update({ ...read, gender: 'other' } as never, {
        headers: { ...auth.headers, 'if-match': 'W/"1"' },
      }),
      (err: { status?: number; statusCode?: number }) => {
        assert.equal(err.status ?? err.statusCode, 412);
        return true;
      },
    );
    const v1 = (await client.fhirRequest(`Patient/${id}/_history/1`, auth)) as Patient;
    assertValid('vread', v1);
    assert.equal(v1.gender, 'female');

    const pid = await seedObservations(5);
    const seen: string[] = [];
    let pages = 0;
    for await (const page of client.pages(`Observation?patient=${pid}&_count=2`, auth)) {
      assertValidBundle(`page ${pages++}`, page);
      for (const e of page.entry ?? []) if (e.search?.mode === 'match') seen.push(e.resource?.id as string);
    }
    assert.equal(pages, 3);
    assert.equal(new Set(seen).size, 5);

    for (const type of ['transaction', 'batch'] as const) {
      const res = (await client.fhirRequest('', {
        ...json,
        method: 'POST',
        body: JSON.stringify(bundleOf(type, `Smart-${type}`)),
      })) as Bundle;
      assertValidBundle(type, res);
      assert.equal(res.type, `${type}-response`);
    }
    const asAdmin = { headers: { authorization: `Bearer ${n.adminToken}` } };
    assertValid('delete', await client.delete(`Patient/${id}`, asAdmin));
    await assert.rejects(
      client.fhirRequest(`Patient/${id}`, auth),
      (err: { status?: number; statusCode?: number }) => {
        assert.equal(err.status ?? err.statusCode, 410);
        return true;
      },
    );
  });

  test('@medplum/core MedplumClient: CRUD, vread, If-Match, paging, transaction, batch', async () => {
    const client = new MedplumClient({
      baseUrl: n.origin,
      fhirUrlPath: 'fhir',
      fetch,
      accessToken: n.token,
      cacheTime: 0,
    });
    const created = await client.createResource(patient('Medplum'));
    assertValid('create', created);
    const read = await client.readResource('Patient', created.id);
    assertValid('read', read);
    const updated = await client.updateResource(
      { ...read, gender: 'male' },
      { headers: { 'If-Match': `W/"${read.meta?.versionId}"` } },
    );
    assertValid('update', updated);
    assert.equal(updated.meta?.versionId, '2');
    await assert.rejects(
      client.updateResource({ ...read, gender: 'other' }, { headers: { 'If-Match': 'W/"1"' } }),
      (err: { outcome?: unknown }) => {
        assertValid('stale If-Match', err.outcome);
        return true;
      },
    );
    const v1 = await client.readVersion('Patient', created.id, '1');
    assertValid('vread', v1);
    assert.equal(v1.gender, 'female');
    assertValidBundle('history', await client.readHistory('Patient', created.id));

    const pid = await seedObservations(5);
    const seen: string[] = [];
    let pages = 0;
    for await (const page of client.searchResourcePages('Observation', { patient: pid, _count: 2 })) {
      pages++;
      assert.ok(page.bundle);
      assertValidBundle(`page ${pages}`, page.bundle);
      for (const r of page) seen.push(r.id);
    }
    assert.equal(pages, 3);
    assert.equal(new Set(seen).size, 5);

    for (const type of ['transaction', 'batch'] as const) {
      const res = await client.executeBatch(bundleOf(type, `Medplum-${type}`));
      assertValidBundle(type, res);
      assert.equal(res.type, `${type}-response`);
    }
    const admin = new MedplumClient({
      baseUrl: n.origin,
      fhirUrlPath: 'fhir',
      fetch,
      accessToken: n.adminToken,
      cacheTime: 0,
    });
    assertValid('delete', await admin.deleteResource('Patient', created.id));
    await assert.rejects(client.readResource('Patient', created.id));
  });
});
