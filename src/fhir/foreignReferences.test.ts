import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DiagnosticReport, Observation } from '@medplum/fhirtypes';
import { foreignRecordQuery, patientByAddress, resolvableForeign } from './foreignReferences.js';

const ADDRESS = '0x4D1Ad100619f59d961c0CFD53D3cAcF34B1892cD';
const CUSTODIAN = '0x00000000000000000000000000000000000000c1';
const LOCAL_PATIENT = 'Patient/custodian-local-7';

test('the patient becomes a conditional reference by chain address; the local id is gone', () => {
  const o: Observation = {
    resourceType: 'Observation',
    id: 'obs-1',
    meta: { versionId: '2', source: 'urn:medchain:member:x' },
    status: 'final',
    code: { text: 'Hb' },
    subject: { reference: LOCAL_PATIENT, display: 'Ana' },
    encounter: { reference: 'Encounter/enc-9' },
    performer: [
      { reference: 'Practitioner/dr-5' },
      { reference: 'https://elsewhere.example/Practitioner/1' },
    ],
    hasMember: [{ reference: 'Observation/obs-2/_history/3' }, { reference: '#inline' }],
  };
  const r = resolvableForeign(o, LOCAL_PATIENT, ADDRESS, CUSTODIAN);
  assert.deepEqual(r.subject, { reference: patientByAddress(ADDRESS), display: 'Ana' });
  assert.equal(r.subject?.reference, `Patient?identifier=urn:medchain:patient|${ADDRESS}`);
  assert.equal(r.encounter?.reference, foreignRecordQuery('Encounter', 'enc-9', ADDRESS));
  assert.equal(r.encounter?.reference, `Encounter?_id=enc-9&patient=${ADDRESS}`);
  assert.deepEqual(r.performer?.[0], { display: `a Practitioner known only to member ${CUSTODIAN}` });
  assert.equal(r.performer?.[1]?.reference, 'https://elsewhere.example/Practitioner/1', 'absolute: kept');
  assert.equal(r.hasMember?.[0]?.reference, `Observation?_id=obs-2&patient=${ADDRESS}`);
  assert.equal(r.hasMember?.[1]?.reference, '#inline', 'contained: kept');
  assert.deepEqual(r.meta, o.meta, 'meta is not a reference');
  assert.equal(JSON.stringify(r).includes('custodian-local-7'), false);
  assert.equal(o.subject?.reference, LOCAL_PATIENT, 'the input is not changed');
});

test('another patient at the custodian is not named; references inside contained resources are rewritten too', () => {
  const d: DiagnosticReport = {
    resourceType: 'DiagnosticReport',
    id: 'dr-1',
    status: 'final',
    code: { text: 'panel' },
    subject: { reference: 'Patient/someone-else' },
    contained: [
      {
        resourceType: 'Observation',
        id: 'inline',
        status: 'final',
        code: { text: 'x' },
        subject: { reference: LOCAL_PATIENT },
      },
    ],
  };
  const r = resolvableForeign(d, LOCAL_PATIENT, ADDRESS, CUSTODIAN);
  assert.equal(r.subject?.reference, undefined);
  assert.match(r.subject?.display ?? '', /a Patient known only to member/);
  assert.equal((r.contained?.[0] as Observation | undefined)?.subject?.reference, patientByAddress(ADDRESS));
  assert.equal(JSON.stringify(r).includes('someone-else'), false);
  assert.equal(JSON.stringify(r).includes('custodian-local-7'), false);
});
