import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { validateResource } from '@medplum/core';
import type { Bundle, Composition, Patient, Resource } from '@medplum/fhirtypes';
import { summarySections } from '../../api/summaryRoutes.js';
import { assembleIpsDocument, escapeXhtml, type SummaryRecord } from './ipsDocument.js';
import { forMedplum, loadIpsProfiles, readIpsProfile } from './ipsProfiles.js';
import { validateIpsDocument, validateIpsEntry } from './validateIps.js';

const profiles = loadIpsProfiles();
const LAB = { address: '0x00000000000000000000000000000000000000aa', name: 'lab' };
const CLINIC = { address: '0x00000000000000000000000000000000000000bb', name: 'clinic <b>&' };
const patient: Patient = {
  resourceType: 'Patient',
  id: 'p1',
  identifier: [{ system: 'urn:medchain:patient', value: '0x1111111111111111111111111111111111111111' }],
  name: [{ family: 'Rivera', given: ['Ana'] }],
  birthDate: '1980-04-02',
};
const subject = { reference: 'Patient/p1' };
const condition: Resource = {
  resourceType: 'Condition',
  id: 'c1',
  code: { coding: [{ system: 'http://snomed.info/sct', code: '38341003' }], text: 'Hypertension <script>' },
  subject,
  encounter: { reference: 'Encounter/e9' },
};
const allergy: Resource = {
  resourceType: 'AllergyIntolerance',
  id: 'a1',
  clinicalStatus: {
    coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }],
  },
  code: { coding: [{ system: 'http://snomed.info/sct', code: '91936005' }], text: 'Penicillin' },
  patient: {
    reference: 'Patient?identifier=urn:medchain:patient|0x1111111111111111111111111111111111111111',
  },
};
const med: Resource = {
  resourceType: 'MedicationRequest',
  id: 'm1',
  status: 'active',
  intent: 'order',
  medicationCodeableConcept: {
    coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '197361' }],
    text: 'amlodipine 5 mg',
  },
  subject,
  reasonReference: [{ reference: 'Condition/c1' }],
};

function doc(
  records: SummaryRecord[],
  notes = [] as { resourceType?: string; text: string; withheld: boolean }[],
): Bundle {
  return assembleIpsDocument({
    patient,
    author: CLINIC,
    sections: summarySections(profiles),
    records,
    notes,
    confidentiality: 'N',
    now: new Date('2026-12-01T12:00:00Z'),
    uuid: randomUUID,
  });
}
const composition = (b: Bundle) => b.entry?.[0]?.resource as Composition;
const sectionOf = (b: Bundle, code: string) =>
  composition(b).section?.find((s) => s.code?.coding?.some((c) => c.code === code));

describe('IPS profiles as vendored', () => {
  test('the required sections and their codes come from Composition-uv-ips', () => {
    const req = profiles.sections
      .filter((s) => s.min > 0)
      .map((s) => `${s.system}|${s.code}`)
      .sort();
    assert.deepEqual(req, [
      'http://loinc.org|10160-0',
      'http://loinc.org|11450-4',
      'http://loinc.org|48765-2',
    ]);
    assert.deepEqual(
      summarySections(profiles)
        .map((s) => s.resourceTypes.join())
        .sort(),
      ['AllergyIntolerance', 'Condition', 'MedicationRequest,MedicationDispense'],
    );
    assert.ok(
      profiles.sections.find((s) => s.code === '48765-2')?.constraints.some((c) => c.key === 'ips-comp-1'),
    );
  });

  test('Medplum cannot read the profiles as published (why they are adapted; drop forMedplum when this fails)', () => {
    const b = doc([]);
    assert.throws(
      () => validateResource(b, { profile: readIpsProfile('Bundle-uv-ips') }),
      /Unsupported slicing discriminator type: profile/,
    );
    assert.deepEqual(validateIpsDocument(b, profiles), []);
  });

  test('the adaptation for Medplum removes only what it says', () => {
    const raw = readIpsProfile('Composition-uv-ips');
    const a = forMedplum(raw);
    const ids = new Set(a.snapshot?.element?.map((e) => e.id));
    assert.ok(ids.has('Composition.section:sectionAllergies.code'));
    assert.ok(!ids.has('Composition.section:sectionAllergies.entry:allergyOrIntolerance'));
    assert.ok(!ids.has('Composition.section:sectionAllergies.section'));
    assert.ok(ids.has('Composition.section.section'));
    assert.equal(
      raw.snapshot?.element?.length,
      readIpsProfile('Composition-uv-ips').snapshot?.element?.length,
      'the raw profile is not changed',
    );
    const bundle = forMedplum(readIpsProfile('Bundle-uv-ips'));
    assert.equal(bundle.snapshot?.element?.find((e) => e.id === 'Bundle.entry')?.slicing, undefined);
  });
});

describe('assembleIpsDocument', () => {
  const records: SummaryRecord[] = [
    { resource: condition, member: LAB },
    { resource: allergy, member: CLINIC },
    { resource: med, member: LAB },
  ];

  test('records from two members make one valid IPS document', () => {
    const b = doc(records);
    assert.deepEqual(validateIpsDocument(b, profiles), []);
    assert.equal(b.type, 'document');
    assert.ok(b.identifier?.value?.startsWith('urn:uuid:'));
    assert.ok(b.timestamp);
    for (const e of b.entry ?? []) assert.match(e.fullUrl ?? '', /^urn:uuid:[0-9a-f-]{36}$/);
    const c = composition(b);
    assert.equal(c.type.coding?.[0]?.code, '60591-5');
    const patientUrl = b.entry?.[1]?.fullUrl;
    assert.equal(c.subject?.reference, patientUrl);
    assert.equal(b.entry?.[2]?.resource?.resourceType, 'Organization');
    assert.equal(c.author?.[0]?.reference, b.entry?.[2]?.fullUrl);
    const byType = (t: string) => {
      const e = b.entry?.find((x) => x.resource?.resourceType === t);
      assert.ok(e, `a ${t} entry`);
      return e;
    };
    assert.equal(
      (byType('Condition').resource as { subject: { reference: string } }).subject.reference,
      patientUrl,
    );
    assert.equal(
      (byType('AllergyIntolerance').resource as { patient: { reference: string } }).patient.reference,
      patientUrl,
    );
    const m = byType('MedicationRequest').resource as { reasonReference: { reference: string }[] };
    assert.equal(
      m.reasonReference[0]?.reference,
      byType('Condition')?.fullUrl,
      'a reference between records of one member',
    );
    const enc = (byType('Condition').resource as { encounter: { reference?: string; display?: string } })
      .encounter;
    assert.equal(
      enc.reference,
      undefined,
      'a reference to a record not in the document keeps only a display',
    );
    assert.match(enc.display ?? '', /Encounter held at lab/);
    assert.deepEqual(sectionOf(b, '48765-2')?.entry, [{ reference: byType('AllergyIntolerance')?.fullUrl }]);
  });

  test('narrative escapes everything', () => {
    const b = doc(records);
    const div = sectionOf(b, '11450-4')?.text?.div ?? '';
    assert.ok(div.includes('Hypertension &lt;script&gt; — from lab'), div);
    assert.ok(!div.includes('<script>'));
    assert.ok((sectionOf(b, '48765-2')?.text?.div ?? '').includes('clinic &lt;b&gt;&amp;'));
    assert.equal(escapeXhtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  test('empty sections: withheld when a member refused, else unavailable; notes in the narrative', () => {
    const b = doc(
      [{ resource: allergy, member: CLINIC }],
      [
        {
          resourceType: 'Condition',
          text: 'lab did not share any Condition records with you for treatment',
          withheld: true,
        },
      ],
    );
    assert.deepEqual(validateIpsDocument(b, profiles), []);
    assert.equal(sectionOf(b, '11450-4')?.emptyReason?.coding?.[0]?.code, 'withheld');
    assert.match(sectionOf(b, '11450-4')?.text?.div ?? '', /lab did not share any Condition/);
    assert.equal(sectionOf(b, '10160-0')?.emptyReason?.coding?.[0]?.code, 'unavailable');
    assert.equal(sectionOf(b, '10160-0')?.entry, undefined);
  });

  test('a record that does not conform to its IPS profile is reported by validateIpsEntry', () => {
    assert.deepEqual(validateIpsEntry(condition, profiles), []);
    const noCode = { ...condition } as Record<string, unknown>;
    delete noCode.code;
    assert.ok(validateIpsEntry(noCode as unknown as Resource, profiles).length > 0);
  });
});

describe('validateIpsDocument rejects a broken IPS', () => {
  const good = () =>
    doc([
      { resource: allergy, member: CLINIC },
      { resource: condition, member: LAB },
    ]);
  const texts = (b: Bundle) =>
    validateIpsDocument(b, profiles).map((i) => `${i.details?.text ?? ''} @ ${(i.expression ?? []).join()}`);
  const cases: [string, (b: Bundle) => void, RegExp][] = [
    [
      'no allergies section',
      (b) => {
        const c = composition(b);
        c.section = c.section?.filter((s) => s.code?.coding?.[0]?.code !== '48765-2');
      },
      /sectionAllergies|Allergies and Intolerances' section/,
    ],
    [
      'a section with neither entries nor emptyReason',
      (b) => {
        const s = sectionOf(b, '10160-0');
        if (s) delete s.emptyReason;
      },
      /ips-comp-1/,
    ],
    [
      'wrong document type',
      (b) => {
        composition(b).type = { coding: [{ system: 'http://loinc.org', code: '34133-9' }] };
      },
      /pattern/,
    ],
    [
      'no Bundle.identifier',
      (b) => {
        delete b.identifier;
      },
      /Missing required property @ Bundle\.identifier/,
    ],
    [
      'an entry without fullUrl',
      (b) => {
        delete b.entry?.[3]?.fullUrl;
      },
      /entry 3 has no fullUrl/,
    ],
    [
      'a reference that does not resolve',
      (b) => {
        composition(b).subject = { reference: 'Patient/p1' };
      },
      /does not resolve/,
    ],
    [
      'the Composition not first',
      (b) => {
        b.entry?.reverse();
      },
      /first/,
    ],
    [
      'no Patient',
      (b) => {
        b.entry = b.entry?.filter((e) => e.resource?.resourceType !== 'Patient');
      },
      /slice 'patient' needs 1\.\.1 Patient/,
    ],
    [
      'a Patient without birthDate',
      (b) => {
        const p = b.entry?.[1]?.resource as Patient | undefined;
        if (p) delete p.birthDate;
      },
      /Missing required property @ Bundle\.entry\[1\]\.resource\.birthDate/,
    ],
    [
      'a Condition in the allergies section',
      (b) => {
        const s = sectionOf(b, '48765-2');
        const cond = b.entry?.find((e) => e.resource?.resourceType === 'Condition');
        if (s) s.entry = [{ reference: cond?.fullUrl as string }];
      },
      /may not list a Condition/,
    ],
  ];
  test('the unbroken document validates', () => assert.deepEqual(texts(good()), []));
  for (const [name, breakIt, expected] of cases)
    test(name, () => {
      const b = good();
      breakIt(b);
      const t = texts(b);
      assert.ok(t.length > 0, `${name}: no issue`);
      assert.ok(
        t.some((x) => expected.test(x)),
        `${name}: ${t.join(' | ')}`,
      );
    });
});
