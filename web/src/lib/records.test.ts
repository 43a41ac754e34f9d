import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Observation, Resource } from '@medplum/fhirtypes';
import { syntheticPatients } from '../../../src/node/seed/syntheticPatients.js';
import { arrangeRecords, type HeldRecord } from './records.js';

const lab = (value: number, extra: Partial<Observation> = {}): Observation => ({
  resourceType: 'Observation',
  id: `lab-${value}`,
  status: 'final',
  category: [{ coding: [{ code: 'laboratory' }] }],
  code: { coding: [{ code: '2345-7', display: 'Glucose' }] },
  effectiveDateTime: '2026-10-01T08:00:00Z',
  valueQuantity: { value, unit: 'mg/dL' },
  referenceRange: [{ low: { value: 70 }, high: { value: 99 } }],
  ...extra,
});

describe('arranging a patient’s records for reading', () => {
  test('the seeded records of one patient land in the right sections, newest first', () => {
    const p = syntheticPatients(1)[0];
    assert.ok(p);
    const held: HeldRecord[] = [
      ...p.records.hospital.map((resource) => ({ resource, member: 'City Hospital' })),
      ...p.records.clinic.map((resource) => ({ resource, member: 'Valley Clinic' })),
      ...p.records.lab.map((resource) => ({ resource, member: 'Central Lab' })),
    ].map((h, i) => ({ ...h, resource: { ...h.resource, id: `r${i}` } }));
    const t = arrangeRecords(held);
    assert.equal(t.total, held.length);
    // Four vital signs, three visits each, in time order.
    assert.deepEqual(
      t.vitals.map((v) => [v.name, v.points.length]),
      [
        ['Body weight', 3],
        ['Diastolic blood pressure', 3],
        ['Heart rate', 3],
        ['Systolic blood pressure', 3],
      ],
    );
    for (const v of t.vitals)
      assert.ok(v.points.every((x, i, xs) => i === 0 || (xs[i - 1]?.time ?? 0) <= x.time));
    // Two panels of four labs, all from Central Lab, with ranges, newest first.
    assert.equal(t.labs.length, 8);
    assert.ok(t.labs.every((l) => l.member === 'Central Lab' && l.range !== ''));
    assert.ok(t.labs.every((l, i, xs) => i === 0 || (xs[i - 1]?.time ?? 0) >= l.time));
    assert.equal(t.immunizations.length, 1);
    assert.equal(t.medications.length, t.conditions.length);
    assert.equal(
      new Set([...t.labs, ...t.conditions].map((x) => x.key)).size,
      t.labs.length + t.conditions.length,
    );
  });

  test('lab flags come from the interpretation, else from the reference range', () => {
    const rows = arrangeRecords(
      [
        lab(120),
        lab(50),
        lab(80),
        lab(81, { interpretation: [{ coding: [{ code: 'H' }] }] }),
        lab(82, { referenceRange: undefined }),
        lab(83, { referenceRange: [{ text: 'under 100' }] }),
      ].map((resource) => ({ resource, member: 'Central Lab' })),
    ).labs;
    const flag = (v: string) => rows.find((r) => r.value === v)?.flag;
    assert.equal(flag('120'), 'high');
    assert.equal(flag('50'), 'low');
    assert.equal(flag('80'), 'normal');
    assert.equal(flag('81'), 'high');
    assert.equal(flag('82'), 'unknown');
    assert.equal(rows.find((r) => r.value === '80')?.range, '70–99');
    assert.equal(rows.find((r) => r.value === '83')?.range, 'under 100');
  });

  test('sensitive records are marked, and types without a section are left out', () => {
    const t = arrangeRecords([
      {
        member: 'City Hospital',
        resource: {
          resourceType: 'Condition',
          meta: { security: [{ code: 'PSY' }] },
          code: { text: 'Depressive disorder' },
          subject: { reference: 'Patient/1' },
        } as Resource,
      },
      { member: 'City Hospital', resource: { resourceType: 'Encounter', status: 'finished' } as Resource },
    ]);
    assert.equal(t.conditions[0]?.sensitive, true);
    assert.equal(t.conditions[0]?.time, null);
    assert.equal(t.total, 2);
    assert.equal(t.labs.length + t.medications.length + t.vitals.length, 0);
  });
});
