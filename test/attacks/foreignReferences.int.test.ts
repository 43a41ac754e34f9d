/**
 * Attack family: what a record from another member gives away through its references (issue 15).
 * A released record names its patient in the custodian's id space (`Patient/<custodian-local-id>`);
 * the reader's node rewrites it to the patient's chain address (src/fhir/foreignReferences.ts).
 * The rule: nothing served to the reader names the custodian's local id of the patient (nor of
 * any other patient), and what is served resolves at the reader's own node.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Bundle, BundleEntry, Observation, Patient } from '@medplum/fhirtypes';
import { AttackNetwork, request } from '../support/attackNetwork.js';

let net: AttackNetwork;
before(async () => {
  net = await AttackNetwork.start();
});
after(async () => {
  await net?.close();
});

const entriesOf = (body: unknown): BundleEntry[] => (body as Bundle).entry ?? [];

describe('attack: references in records from other members', { timeout: 600_000 }, () => {
  test('13. a released record names neither the custodian’s local patient id nor another patient’s; its fullUrl and patient reference resolve at the reader', async () => {
    const c = net.control; // one lab result, granted to the clinic (labs, treatment)
    const others = [net.patientA.patientId, net.patientB.patientId];
    const leaks: string[] = [];
    const clinician = async (path: string) => {
      const a = await net.asUser('clinic', 'clinician', path);
      assert.equal(a.status, 200, `${path}: ${JSON.stringify(a.body).slice(0, 300)}`);
      return a;
    };
    const leaksIn = (what: string, body: unknown) => {
      const text = JSON.stringify(body);
      if (text.includes(c.patientId)) leaks.push(`${what} names the lab's local patient id`);
      for (const id of others) if (text.includes(id)) leaks.push(`${what} names another patient's lab id`);
    };

    const search = await clinician(`/fhir/Observation?patient=${c.address}`);
    leaksIn('Observation?patient=<address>', search.body);
    const fromLab = entriesOf(search.body).filter((e) => e.resource?.meta?.source === net.source('lab'));
    assert.deepEqual(
      fromLab.map((e) => e.resource?.id),
      [c.labObservation],
      'control: the granted lab result is served',
    );
    const entry = fromLab[0] as BundleEntry;
    const obs = entry.resource as Observation;
    assert.equal(obs.subject?.reference, `Patient?identifier=urn:medchain:patient|${c.address}`);

    // The clinic knows the patient too: the conditional reference resolves to its own Patient.
    const local = await net.asUser('clinic', 'clinician', '/fhir/Patient', {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({
        resourceType: 'Patient',
        identifier: [{ system: 'urn:medchain:patient', value: c.address }],
      } satisfies Patient),
    });
    assert.equal(local.status, 201);
    const localId = (local.body as Patient).id;
    const resolved = await clinician(`/fhir/${obs.subject?.reference}`);
    assert.deepEqual(
      entriesOf(resolved.body).map((e) => e.resource?.id),
      [localId],
    );

    // The fullUrl is a search at the reader's node that returns this record again.
    const fullUrl = entry.fullUrl ?? '';
    assert.ok(fullUrl.startsWith(`${net.url('clinic')}/fhir/Observation?`), fullUrl);
    const again = await request(fullUrl, {
      headers: { authorization: `Bearer ${await net.token('clinic', 'clinician')}` },
    });
    assert.equal(again.status, 200);
    assert.ok(
      entriesOf(again.body).some((e) => e.resource?.id === c.labObservation && e.fullUrl === fullUrl),
    );
    leaksIn('the fullUrl search', again.body);

    // $everything at the clinic merges the lab's records the same way.
    const everything = await clinician(`/fhir/Patient/${localId}/$everything`);
    leaksIn('$everything', everything.body);
    for (const e of entriesOf(everything.body))
      if (e.search?.mode === 'match' && !e.fullUrl)
        leaks.push(`$everything: ${e.resource?.resourceType} without fullUrl`);
    assert.deepEqual(leaks, []);
  });
});
