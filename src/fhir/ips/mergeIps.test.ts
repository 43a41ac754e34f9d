import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import type { Bundle, Composition, Patient, Resource } from '@medplum/fhirtypes';
import { summarySections } from '../../api/summaryRoutes.js';
import { assembleIpsDocument, type SummaryMember } from './ipsDocument.js';
import { loadIpsProfiles } from './ipsProfiles.js';
import { mergeIpsDocuments } from './mergeIps.js';
import { validateIpsDocument } from './validateIps.js';

const profiles = loadIpsProfiles();
const LAB = { address: '0x00000000000000000000000000000000000000aa', name: 'lab' };
const CLINIC = { address: '0x00000000000000000000000000000000000000bb', name: 'clinic' };
const patient = (id: string): Patient => ({
  resourceType: 'Patient',
  id,
  identifier: [{ system: 'urn:medchain:patient', value: '0x1111111111111111111111111111111111111111' }],
  name: [{ family: 'Rivera', given: ['Ana'] }],
  birthDate: '1980-04-02',
});
const condition = (id: string, pid: string): Resource => ({
  resourceType: 'Condition',
  id,
  code: { text: `problem ${id}` },
  subject: { reference: `Patient/${pid}` },
});

function docOf(m: SummaryMember, pid: string, records: Resource[], withheldMeds = false): Bundle {
  return assembleIpsDocument({
    patient: patient(pid),
    author: m,
    sections: summarySections(profiles),
    records: records.map((resource) => ({ resource, member: m })),
    notes: withheldMeds ? [{ resourceType: 'MedicationRequest', text: 'x withheld', withheld: true }] : [],
    confidentiality: 'N',
    now: new Date(),
    uuid: randomUUID,
  });
}
const composition = (b: Bundle) => b.entry?.[0]?.resource as Composition | undefined;
const section = (b: Bundle, code: string) =>
  composition(b)?.section?.find((s) => s.code?.coding?.some((c) => c.code === code));

describe('mergeIpsDocuments', () => {
  test("two members' summaries make one valid IPS: one Patient, sections merged by code, both members authors", () => {
    const a = docOf(CLINIC, 'p-clinic', [condition('c1', 'p-clinic')]);
    const b = docOf(LAB, 'p-lab', [condition('c2', 'p-lab')], true);
    const m = mergeIpsDocuments([a, b], ['insurer did not answer'], new Date(), randomUUID);
    assert.deepEqual(validateIpsDocument(m, profiles), []);
    assert.equal(m.entry?.filter((e) => e.resource?.resourceType === 'Patient').length, 1);
    assert.equal(section(m, '11450-4')?.entry?.length, 2);
    assert.equal(section(m, '11450-4')?.emptyReason, undefined);
    assert.equal(section(m, '10160-0')?.emptyReason?.coding?.[0]?.code, 'withheld');
    assert.deepEqual(
      composition(m)?.author?.map((x) => x.display),
      ['clinic', 'lab'],
    );
    const div = composition(m)?.text?.div ?? '';
    assert.match(div, /insurer did not answer/);
    assert.match(section(m, '11450-4')?.text?.div ?? '', /problem c1.*problem c2/);
    assert.notEqual(m.identifier?.value, a.identifier?.value);
  });

  test('one document merges to an equivalent valid one', () => {
    const a = docOf(CLINIC, 'p', [condition('c1', 'p')]);
    assert.deepEqual(validateIpsDocument(mergeIpsDocuments([a], [], new Date(), randomUUID), profiles), []);
  });

  test('no document is an error', () => {
    assert.throws(() => mergeIpsDocuments([], [], new Date(), randomUUID), /at least one/);
  });
});
