import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Resource } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { syntheticPatients } from '../node/seed/syntheticPatients.js';
import { loadFhirDefinitions } from './definitions.js';
import { allowedHint, bindingCoverage, requiredBindingIssues } from './requiredBindings.js';
import { RESOURCE_TYPES } from './resourceTypes.js';
import { definitionValueSets } from './valueSets.js';

before(() => loadFhirDefinitions());

const CLINICAL = 'http://terminology.hl7.org/CodeSystem/condition-clinical';
const issuesOf = (r: Record<string, unknown>) =>
  requiredBindingIssues(r as unknown as Resource, definitionValueSets());
const where = (r: Record<string, unknown>) => issuesOf(r).map((i) => i.expression?.[0]);

describe('required bindings', () => {
  test('a value outside a required binding is found wherever it sits', () => {
    const subject = { reference: 'Patient/p1' };
    const table: [string, Record<string, unknown>, string[]][] = [
      ['code', { resourceType: 'Patient', gender: 'robot' }, ['Patient.gender']],
      ['code, case matters', { resourceType: 'Patient', gender: 'Male' }, ['Patient.gender']],
      [
        'data type in an array',
        { resourceType: 'Patient', name: [{ use: 'official' }, { use: 'nick' }] },
        ['Patient.name[1].use'],
      ],
      [
        'backbone element',
        { resourceType: 'Patient', contact: [{ gender: 'x' }] },
        ['Patient.contact[0].gender'],
      ],
      [
        'data type in a data type',
        { resourceType: 'Patient', identifier: [{ value: '1', assigner: { identifier: { use: 'bogus' } } }] },
        ['Patient.identifier[0].assigner.identifier.use'],
      ],
      [
        'choice type',
        {
          resourceType: 'Observation',
          status: 'final',
          code: { text: 'x' },
          valueQuantity: { value: 1, comparator: '~' },
        },
        ['Observation.valueQuantity.comparator'],
      ],
      [
        'status',
        { resourceType: 'Observation', status: 'done', code: { text: 'x' } },
        ['Observation.status'],
      ],
      [
        'extension value',
        {
          resourceType: 'Patient',
          extension: [{ url: 'http://x', valueContactPoint: { system: 'pigeon' } }],
        },
        ['Patient.extension[0].valueContactPoint.system'],
      ],
      [
        'contained resource of a type not stored here',
        { resourceType: 'Patient', contained: [{ resourceType: 'Medication', id: 'm', status: 'bogus' }] },
        ['Patient.contained[0].status'],
      ],
      [
        'CodeableConcept of another system',
        {
          resourceType: 'Condition',
          subject,
          clinicalStatus: { coding: [{ system: 'http://snomed.info/sct', code: '55561003' }] },
        },
        ['Condition.clinicalStatus'],
      ],
      [
        'CodeableConcept without a system',
        { resourceType: 'Condition', subject, clinicalStatus: { coding: [{ code: 'active' }] } },
        ['Condition.clinicalStatus'],
      ],
      [
        'CodeableConcept with text only',
        { resourceType: 'Condition', subject, clinicalStatus: { text: 'active' } },
        ['Condition.clinicalStatus'],
      ],
      [
        'several at once',
        { resourceType: 'Patient', gender: 'robot', telecom: [{ system: 'phone', use: 'car' }] },
        ['Patient.gender', 'Patient.telecom[0].use'],
      ],
    ];
    for (const [name, resource, paths] of table) assert.deepEqual(where(resource), paths, name);
  });

  test('valid codes pass, and one matching coding is enough for a CodeableConcept', () => {
    const ok: Record<string, unknown>[] = [
      {
        resourceType: 'Patient',
        gender: 'unknown',
        name: [{ use: 'maiden' }],
        telecom: [{ system: 'email', use: 'work' }],
      },
      {
        resourceType: 'Patient',
        contact: [{ gender: 'female' }],
        link: [{ other: { reference: 'Patient/x' }, type: 'seealso' }],
      },
      {
        resourceType: 'Condition',
        subject: { reference: 'Patient/p1' },
        clinicalStatus: {
          coding: [
            { system: 'http://snomed.info/sct', code: '1' },
            { system: CLINICAL, code: 'remission' },
          ],
        },
        verificationStatus: {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' },
          ],
        },
      },
      // mimetypes and currencies are external terminologies: not checked, so any code passes.
      {
        resourceType: 'DocumentReference',
        status: 'current',
        content: [{ attachment: { contentType: 'application/x-anything' } }],
      },
      {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'x' },
        valueQuantity: { value: 1, comparator: '<=' },
      },
    ];
    for (const r of ok) assert.deepEqual(issuesOf(r), [], JSON.stringify(r));
  });

  test('the seed data has no code outside a required binding', () => {
    const people = syntheticPatients(25);
    const all: Record<string, unknown>[] = [
      ...people.map((p) => ({
        resourceType: 'Patient',
        gender: p.gender,
        address: [{ use: 'home', city: p.address.city }],
      })),
      ...(people.flatMap((p) => Object.values(p.records).flat()) as unknown as Record<string, unknown>[]),
    ];
    assert.ok(all.length > 100);
    for (const r of all) assert.deepEqual(issuesOf(r), [], String(r.resourceType));
  });

  test('property: a code is refused exactly when it is outside the expansion', () => {
    const terms = definitionValueSets();
    const gender = terms.expand('http://hl7.org/fhir/ValueSet/administrative-gender');
    const clinical = terms.expand('http://hl7.org/fhir/ValueSet/condition-clinical');
    assert.ok(gender && clinical);
    const someCode = (exp: typeof gender) =>
      fc.oneof(fc.constantFrom(...exp.anySystem), fc.string({ maxLength: 12 }));
    fc.assert(
      fc.property(someCode(gender), (code) => {
        assert.equal(
          issuesOf({ resourceType: 'Patient', gender: code }).length === 0,
          gender.anySystem.has(code),
        );
      }),
    );
    const coding = fc.record({
      system: fc.constantFrom(CLINICAL, 'http://snomed.info/sct'),
      code: someCode(clinical),
    });
    fc.assert(
      fc.property(fc.array(coding, { maxLength: 4 }), (codings) => {
        const ok = codings.some((c) => clinical.codes.get(c.system)?.has(c.code));
        const r = {
          resourceType: 'Condition',
          subject: { reference: 'Patient/1' },
          clinicalStatus: { coding: codings },
        };
        assert.equal(issuesOf(r).length === 0, ok, JSON.stringify(codings));
      }),
    );
  });

  test('an issue names the element, the value, the value set and what is allowed', () => {
    const [i] = issuesOf({ resourceType: 'Patient', gender: 'robot' });
    assert.equal(i?.code, 'code-invalid');
    assert.deepEqual(i?.expression, ['Patient.gender']);
    assert.equal(
      i?.details?.text,
      'Patient.gender: "robot" is not in the required value set http://hl7.org/fhir/ValueSet/administrative-gender; allowed: male, female, other, unknown',
    );
    const [c] = issuesOf({
      resourceType: 'Condition',
      subject: { reference: 'Patient/1' },
      clinicalStatus: { text: 'x' },
    });
    assert.match(
      c?.details?.text ?? '',
      /no coding is in the required value set .*condition-clinical; allowed: http:\/\/terminology\.hl7\.org\/CodeSystem\/condition-clinical: active, /,
    );
  });

  test('a long value set is shown in part, with where to find the rest', () => {
    const exp = definitionValueSets().expand('http://hl7.org/fhir/ValueSet/all-types');
    assert.ok(exp);
    assert.match(
      allowedHint(exp, false),
      /\.\.\. and \d+ more \(see http:\/\/hl7\.org\/fhir\/ValueSet\/all-types\)$/,
    );
  });

  test('every required binding of the stored types is checked except those on external terminologies', () => {
    const coverage = bindingCoverage(RESOURCE_TYPES, definitionValueSets());
    assert.ok(coverage.length > 30);
    assert.deepEqual(
      coverage.filter((c) => !c.checked).map((c) => c.valueSet),
      ['http://hl7.org/fhir/ValueSet/currencies', 'http://hl7.org/fhir/ValueSet/mimetypes'],
    );
    const gender = coverage.find((c) => c.valueSet.endsWith('/administrative-gender'));
    assert.deepEqual(gender?.elements, ['Patient.gender', 'PatientContact.gender']);
  });
});
