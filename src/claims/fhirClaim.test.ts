/** Parsing an incoming FHIR R4 Claim: the valid professional and institutional shapes, and a table of bad ones. */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Claim } from '@medplum/fhirtypes';
import { fhirClaim, PATIENT, PAYER, PROVIDER } from '../../test/support/claims.js';
import { InvalidResourceError } from '../errors.js';
import { loadFhirDefinitions } from '../fhir/definitions.js';
import { ClaimMalformedError } from './claimsError.js';
import { parseClaim } from './fhirClaim.js';

before(() => loadFhirDefinitions());

type Edit = (c: Claim) => void;
const edited = (edit: Edit): Claim => {
  const c = fhirClaim();
  edit(c);
  return c;
};
// biome-ignore lint/suspicious/noExplicitAny: the bad-input table writes wrong types on purpose
const item = (c: Claim, i = 0) => (c.item as any[])[i];

describe('parseClaim', () => {
  test('a professional claim becomes the rule engine input (cents, addresses, encounters)', () => {
    const p = parseClaim(fhirClaim());
    assert.equal(p.id, 'claim-1');
    assert.equal(p.type, 'professional');
    assert.equal(p.patient, PATIENT);
    assert.equal(p.provider, PROVIDER);
    assert.equal(p.payer, PAYER);
    assert.equal(p.created, Date.parse('2026-03-10T12:00:00Z'));
    assert.equal(p.total, 12_500);
    assert.deepEqual(p.diagnoses, [{ sequence: 1, code: 'R51.9' }]);
    assert.deepEqual(p.lines[1], {
      sequence: 2,
      code: 'Z1003',
      modifiers: ['59'],
      quantity: 2,
      unitPrice: 1_250,
      net: 2_500,
      servicedDate: '2026-03-02',
      diagnosisSequence: [1],
      encounters: ['enc-1'],
    });
  });

  test('an institutional claim, HCPCS Level II coded, lower-case addresses', () => {
    const c = edited((c) => {
      c.type = {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'institutional' }],
      };
      item(c).productOrService = {
        coding: [{ system: 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code: 'J1100' }],
      };
      // biome-ignore lint/suspicious/noExplicitAny: test edit
      (c.patient as any).identifier.value = PATIENT.toLowerCase();
    });
    const p = parseClaim(c);
    assert.equal(p.type, 'institutional');
    assert.equal(p.lines[0]?.code, 'J1100');
    assert.equal(p.patient, PATIENT);
  });

  const malformed: [string, Edit, string][] = [
    ['status draft', (c) => (c.status = 'draft'), 'Claim.status'],
    ['a preauthorization', (c) => (c.use = 'preauthorization'), 'Claim.use'],
    [
      'an oral claim type',
      (c) =>
        (c.type = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'oral' }] }),
      'Claim.type',
    ],
    ['no id', (c) => delete c.id, 'Claim.id'],
    ['a patient by FHIR reference only', (c) => (c.patient = { reference: 'Patient/p1' }), 'Claim.patient'],
    [
      'a patient identifier that is not an address',
      (c) => (c.patient = { identifier: { system: 'urn:medchain:patient', value: 'Jane' } }),
      'Claim.patient',
    ],
    ['no insurer', (c) => delete c.insurer, 'Claim.insurer'],
    ['a provider by name', (c) => (c.provider = { display: 'Good Hospital' }), 'Claim.provider'],
    ['no items', (c) => (c.item = []), 'Claim.item'],
    [
      'a CPT-coded item',
      (c) =>
        (item(c).productOrService = {
          coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '99213' }],
        }),
      'Claim.item[0].productOrService',
    ],
    [
      'a code that is not HCPCS shaped',
      (c) => (item(c).productOrService = { coding: [{ system: 'urn:medchain:procedure', code: 'Z1' }] }),
      'Claim.item[0].productOrService',
    ],
    [
      'a bad modifier',
      (c) => (item(c).modifier = [{ coding: [{ code: '5' }] }]),
      'Claim.item[0].modifier[0]',
    ],
    [
      'five modifiers',
      (c) => (item(c).modifier = ['25', '59', '76', 'LT', 'RT'].map((code) => ({ coding: [{ code }] }))),
      'Claim.item[0].modifier',
    ],
    ['no quantity', (c) => delete item(c).quantity, 'Claim.item[0].quantity'],
    ['a fractional quantity', (c) => (item(c).quantity = { value: 1.5 }), 'Claim.item[0].quantity'],
    ['zero units', (c) => (item(c).quantity = { value: 0 }), 'Claim.item[0].quantity'],
    ['no unit price', (c) => delete item(c).unitPrice, 'Claim.item[0].unitPrice'],
    [
      'a price in euros',
      (c) => (item(c).unitPrice = { value: 100, currency: 'EUR' }),
      'Claim.item[0].unitPrice',
    ],
    [
      'a price with three decimals',
      (c) => (item(c).unitPrice = { value: 100.005, currency: 'USD' }),
      'Claim.item[0].unitPrice',
    ],
    [
      'net not unitPrice x quantity',
      (c) => (item(c).net = { value: 99, currency: 'USD' }),
      'Claim.item[0].net',
    ],
    ['no date of service', (c) => delete item(c).servicedDate, 'Claim.item[0].servicedDate'],
    [
      'an impossible date of service',
      (c) => (item(c).servicedDate = '2026-02-30'),
      'Claim.item[0].servicedDate',
    ],
    [
      'a service period',
      (c) => {
        delete item(c).servicedDate;
        item(c).servicedPeriod = { start: '2026-03-01', end: '2026-03-02' };
      },
      'Claim.item[0].servicedPeriod',
    ],
    [
      'a pointer to no diagnosis',
      (c) => (item(c).diagnosisSequence = [7]),
      'Claim.item[0].diagnosisSequence[0]',
    ],
    [
      'an encounter at another type',
      (c) => (item(c).encounter = [{ reference: 'Patient/p1' }]),
      'Claim.item[0].encounter[0]',
    ],
    ['repeated item sequences', (c) => (item(c, 1).sequence = 1), 'Claim.item'],
    ['a total that does not add up', (c) => (c.total = { value: 126, currency: 'USD' }), 'Claim.total'],
  ];
  for (const [name, edit, path] of malformed) {
    test(`refused: ${name} (${path})`, () => {
      assert.throws(
        () => parseClaim(edited(edit)),
        (e: unknown) => {
          assert.ok(e instanceof ClaimMalformedError, String(e));
          assert.equal(e.path, path);
          assert.equal(e.code, 'invalid-input');
          return true;
        },
      );
    });
  }

  const notR4: [string, unknown][] = [
    ['not an object', 'Claim'],
    ['another resource type', { resourceType: 'Patient' }],
    ['a Claim missing required R4 elements', { resourceType: 'Claim', id: 'x', status: 'active' }],
    ['an unknown element', { ...fhirClaim(), billedBy: 'x' }],
    ['a string quantity', edited((c) => (item(c).quantity = { value: '1' }))],
  ];
  for (const [name, body] of notR4) {
    test(`refused: ${name}`, () => {
      assert.throws(
        () => parseClaim(body),
        (e: unknown) => e instanceof ClaimMalformedError || e instanceof InvalidResourceError,
      );
    });
  }
});
