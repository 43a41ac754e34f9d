import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateResource } from '@medplum/core';
import { loadFhirDefinitions } from '../../fhir/definitions.js';
import { validateIncoming } from '../../fhir/validate.js';
import { recordCategory } from '../../records/recordCategory.js';
import { syntheticPatients } from './syntheticPatients.js';

describe('synthetic patients', () => {
  test('deterministic, at least 20, every resource valid FHIR R4 with the categories consent uses', () => {
    loadFhirDefinitions();
    const a = syntheticPatients(20);
    assert.deepEqual(a, syntheticPatients(20), 'same seed, same people');
    assert.notDeepEqual(a, syntheticPatients(20, 7));
    const all = a.flatMap((p) => [...p.records.hospital, ...p.records.clinic, ...p.records.lab]);
    assert.ok(all.length > 20 * 20);
    for (const r of all) {
      const withRef = JSON.parse(JSON.stringify(r).replaceAll('{{patient}}', 'p1'));
      validateResource(withRef);
      validateIncoming(withRef);
    }
    const cats = new Set(all.map((r) => recordCategory(r)));
    for (const c of ['general', 'labs', 'medications', 'mental-health']) assert.ok(cats.has(c as never), c);
    assert.ok(a.every((p) => p.records.lab.length === 8 && p.records.clinic.length >= 13));
    // A home address each (its own generator: the people and records above did not change).
    assert.ok(a.every((p) => /^\d+ [A-Z]/.test(p.address.line) && p.address.city && p.address.postalCode));
    assert.deepEqual(
      a.slice(0, 3).map((p) => `${p.given} ${p.family} ${p.birthDate}`),
      ['Kwame Mensah 1960-02-23', 'Hana Mensah 1984-03-26', 'Priya Mensah 1959-05-25'],
    );
  });
});
