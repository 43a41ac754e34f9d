import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Observation, Resource } from '@medplum/fhirtypes';
import { syntheticPatients } from '../../../src/node/seed/syntheticPatients.js';
import { medicationDispenseOf } from '../../../src/supply/medicationDispense.js';
import { alignedRows, arrangeRecords, type HeldRecord, patientSummary, type VitalSeries } from './records.js';

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
    // Three charts in the order clinicians read them, blood pressure's two parts on one; three
    // visits each, in time order; units as people write them.
    assert.deepEqual(
      t.vitals.map((v) => [v.name, v.unit, v.lines.map((l) => [l.name, l.points.length])]),
      [
        [
          'Blood pressure',
          'mmHg',
          [
            ['Systolic', 3],
            ['Diastolic', 3],
          ],
        ],
        ['Heart rate', '/min', [['Heart rate', 3]]],
        ['Body weight', 'kg', [['Body weight', 3]]],
      ],
    );
    for (const l of t.vitals.flatMap((v) => v.lines))
      assert.ok(l.points.every((x, i, xs) => i === 0 || (xs[i - 1]?.time ?? 0) <= x.time));
    const bp = alignedRows(t.vitals[0] as VitalSeries);
    assert.equal(bp.length, 3, 'one row per visit, systolic and diastolic side by side');
    assert.ok(bp.every((r) => r.values.length === 2 && r.values.every((v) => typeof v === 'number')));
    assert.ok(bp.every((r) => (r.values[0] as number) > (r.values[1] as number)));
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

  test('a blood pressure panel (components) charts with the separate readings; unknown vitals last', () => {
    const at = '2026-10-01T08:00:00Z';
    const vital = (code: string, extra: Partial<Observation>): Resource =>
      ({
        resourceType: 'Observation',
        status: 'final',
        category: [{ coding: [{ code: 'vital-signs' }] }],
        code: { coding: [{ code, display: code }] },
        effectiveDateTime: at,
        ...extra,
      }) as Observation;
    const t = arrangeRecords(
      [
        vital('85354-9', {
          effectiveDateTime: '2026-11-01T08:00:00Z',
          component: [
            {
              code: { coding: [{ code: '8480-6', display: 'Systolic blood pressure' }] },
              valueQuantity: { value: 130, code: 'mm[Hg]' },
            },
            {
              code: { coding: [{ code: '8462-4', display: 'Diastolic blood pressure' }] },
              valueQuantity: { value: 85, code: 'mm[Hg]' },
            },
          ],
        }),
        vital('8462-4', { valueQuantity: { value: 80, unit: 'mm[Hg]' } }),
        vital('8480-6', { valueQuantity: { value: 120, unit: 'mm[Hg]' } }),
        vital('8310-5', { valueQuantity: { value: 37.1, code: 'Cel' } }),
        vital('0000-0', { valueQuantity: { value: 1 } }),
      ].map((resource) => ({ resource, member: 'Valley Clinic' })),
    );
    assert.deepEqual(
      t.vitals.map((v) => [v.key, v.unit]),
      [
        ['blood-pressure', 'mmHg'],
        ['8310-5', '°C'],
        ['0000-0', ''],
      ],
    );
    assert.deepEqual(
      alignedRows(t.vitals[0] as VitalSeries).map((r) => r.values),
      [
        [120, 80],
        [130, 85],
      ],
    );
  });

  test('the patient, from their Patient records: name, birth date, address in short', () => {
    const held = (resource: Resource, member = 'City Hospital') => ({ resource, member });
    assert.equal(patientSummary([held({ resourceType: 'Observation' } as Resource)]), undefined);
    const bare = held({
      resourceType: 'Patient',
      name: [{ given: ['Amara'], family: 'Okafor' }],
    } as Resource);
    const full = held(
      {
        resourceType: 'Patient',
        name: [{ given: ['Amara', 'N.'], family: 'Okafor' }],
        birthDate: '1957-03-09',
        gender: 'female',
        address: [
          { use: 'home', line: ['12 Elm Street', 'Flat 2'], city: 'Springfield', postalCode: 'SP1 2AB' },
        ],
      } as Resource,
      'Valley Clinic',
    );
    assert.deepEqual(patientSummary([bare, full]), {
      name: 'Amara N. Okafor',
      birthDate: '1957-03-09',
      gender: 'female',
      address: '12 Elm Street, Springfield',
    });
    assert.deepEqual(patientSummary([bare]), {
      name: 'Amara Okafor',
      birthDate: undefined,
      gender: undefined,
      address: undefined,
    });
    assert.equal(
      patientSummary([held({ resourceType: 'Patient', name: [{ text: 'Dr. A. Okafor' }] } as Resource)])
        ?.name,
      'Dr. A. Okafor',
    );
  });
});

describe('a dispensed medicine and its supply chain verification', () => {
  const dispense = (verified: boolean): Resource =>
    medicationDispenseOf(
      { gtin: '09521234000112', serial: 'ABC123', lot: 'AMX2601', expiry: '280630' },
      {
        responder: {
          address: '0x00000000000000000000000000000000000000aa',
          name: 'Northwind Pharmaceuticals',
        },
        answer: {
          responderGLN: '9521234000006',
          verificationTimestamp: '2026-03-01T10:00:00.000Z',
          data: { verified },
          saleable: verified,
          findings: [],
        },
      },
      {
        patient: 'Patient/p1',
        productName: 'Amoxicillin 500 mg',
        at: new Date('2026-03-01T10:05:00Z'),
        txHash: null,
      },
    );

  test('is listed with the medications, saying it was verified authentic and by whom', () => {
    const t = arrangeRecords([{ resource: { ...dispense(true), id: 'd1' }, member: 'Main Street Pharmacy' }]);
    assert.equal(t.medications.length, 1);
    assert.equal(t.medications[0]?.text, 'Amoxicillin 500 mg');
    assert.equal(
      t.medications[0]?.detail,
      'dispensed · verified authentic by Northwind Pharmaceuticals on 2026-03-01',
    );
    assert.deepEqual(t.medications[0]?.badge, { text: 'verified authentic', tone: 'ok' });
  });

  test('an unverified one says so', () => {
    const t = arrangeRecords([
      { resource: { ...dispense(false), id: 'd2' }, member: 'Main Street Pharmacy' },
    ]);
    assert.equal(t.medications[0]?.detail, 'dispensed · not verified by Northwind Pharmaceuticals');
    assert.deepEqual(t.medications[0]?.badge, { text: 'not verified', tone: 'failed' });
  });
});
