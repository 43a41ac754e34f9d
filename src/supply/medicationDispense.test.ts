import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { mayAccess } from '../access/roles.js';
import { categoryBit } from '../chain/scopes.js';
import { loadFhirDefinitions } from '../fhir/definitions.js';
import { validateIncoming } from '../fhir/validate.js';
import { categoriesOfType, recordCategory } from '../records/recordCategory.js';
import { DISPENSE_VERIFICATION_EXTENSION, GTIN_SYSTEM, medicationDispenseOf } from './medicationDispense.js';
import type { VerificationResult } from './verificationRequester.js';

before(() => loadFhirDefinitions());

const pack = { gtin: '09521234000112', serial: 'ABC/12', lot: 'AMX2601', expiry: '280600' };
const verification: VerificationResult = {
  responder: { address: '0x00000000000000000000000000000000000000aa', name: 'Northwind Pharmaceuticals' },
  answer: {
    responderGLN: '9521234000006',
    verificationTimestamp: '2026-03-01T10:00:00.000Z',
    data: { verified: true },
    saleable: true,
    findings: [],
  },
};

describe('the MedicationDispense of a dispensed unit', () => {
  test('is valid FHIR R4 with the pack as a contained Medication and the verification as an extension', () => {
    const md = medicationDispenseOf(pack, verification, {
      patient: 'Patient/p1',
      medicationRequest: 'MedicationRequest/m1',
      at: new Date('2026-03-01T10:05:00Z'),
      txHash: `0x${'ab'.repeat(32)}`,
    });
    validateIncoming(md, 'MedicationDispense');
    const med = md.contained?.[0] as {
      code: { coding: { system: string; code: string }[] };
      batch: { lotNumber: string; expirationDate: string };
      identifier: { value: string }[];
    };
    assert.deepEqual(med.code.coding, [{ system: GTIN_SYSTEM, code: pack.gtin }]);
    // DD 00 is the month's last day (GS1 General Specifications §7.12).
    assert.deepEqual(med.batch, { lotNumber: 'AMX2601', expirationDate: '2028-06-30' });
    assert.match(med.identifier[0]?.value ?? '', /\/01\/09521234000112\/10\/AMX2601\/21\/ABC%2F12/);
    assert.equal(md.medicationReference?.reference, '#pack');
    const ext = md.extension?.find((e) => e.url === DISPENSE_VERIFICATION_EXTENSION)?.extension;
    assert.deepEqual(
      ext?.map((e) => e.url),
      ['verified', 'saleable', 'verifiedAt', 'responder', 'responderAddress', 'responderGLN', 'txHash'],
    );
  });

  test('is a medication record: its consent category, and the pharmacist writes it (and nothing else)', () => {
    assert.equal(recordCategory({ resourceType: 'MedicationDispense' } as never), 'medications');
    assert.ok(categoriesOfType('MedicationDispense') & categoryBit('medications'));
    assert.equal(categoriesOfType('MedicationDispense') & categoryBit('general'), 0);
    assert.equal(mayAccess('pharmacist', 'write', 'MedicationDispense'), true);
    assert.equal(mayAccess('pharmacist', 'read', 'MedicationDispense'), true);
    assert.equal(mayAccess('pharmacist', 'write', 'MedicationRequest'), false);
    assert.equal(mayAccess('clinician', 'read', 'MedicationDispense'), true);
    assert.equal(mayAccess('billing', 'read', 'MedicationDispense'), false);
  });
});
