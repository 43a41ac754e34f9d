import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Bundle, Observation } from '@medplum/fhirtypes';
import { type Address, getAddress } from 'viem';
import { remoteOutcomeEntries } from '../../../src/api/remoteOutcomes.js';
import type { Category } from '../../../src/chain/scopes.js';
import { maskToCategories } from '../../../src/chain/scopes.js';
import type { RemoteOutcome } from '../../../src/federation/requester.js';
import { matchBundle } from '../../../src/fhir/patientMatch.js';
import { categoriesOfType } from '../../../src/records/recordCategory.js';
import { mergeReads, readMatches, readSearchset } from './staff.js';

const LAB = '0x00000000000000000000000000000000000000Cc' as Address;
const HOSPITAL = '0x00000000000000000000000000000000000000dd' as Address;
const PHARMACY = '0x00000000000000000000000000000000000000ee' as Address;
const names = new Map([
  [LAB.toLowerCase(), 'Central Lab'],
  [HOSPITAL.toLowerCase(), 'City Hospital'],
]);
const all = (t: string) => maskToCategories(categoriesOfType(t));

const glucose: Observation = {
  resourceType: 'Observation',
  id: 'g1',
  status: 'final',
  code: { text: 'Glucose' },
  meta: { source: `urn:medchain:member:${HOSPITAL}` },
};

/** A searchset as the node answers it: records, then the outcomes src/api/remoteOutcomes.ts builds. */
const searchset = (outcomes: RemoteOutcome[], more: Partial<Bundle> = {}): Bundle => ({
  resourceType: 'Bundle',
  type: 'searchset',
  total: 1,
  entry: [{ resource: glucose, search: { mode: 'match' } }, ...remoteOutcomeEntries(outcomes, 'treatment')],
  ...more,
});

const refused = (
  member: string,
  address: Address,
  reason: string,
  categories: Category[],
  type = 'Observation',
): RemoteOutcome => ({
  member,
  address,
  status: 'ok',
  withheld: [{ resourceType: type, categories, reason }],
});

describe('reading a cross-member searchset', () => {
  test('refusals come out per member and type, with categories and reason from the codings', () => {
    const r = readSearchset(
      'Observation',
      searchset([
        refused('Central Lab', LAB, 'no-consent', all('Observation')),
        refused('City Hospital', HOSPITAL, 'withheld', ['mental-health', 'genetics']),
      ]),
      names,
      'Valley Clinic',
    );
    assert.deepEqual(r.refusals, [
      {
        address: LAB.toLowerCase(),
        member: 'Central Lab',
        resourceType: 'Observation',
        categories: all('Observation'),
        reason: 'no-consent',
      },
      {
        address: HOSPITAL.toLowerCase(),
        member: 'City Hospital',
        resourceType: 'Observation',
        categories: ['mental-health', 'genetics'],
        reason: 'withheld',
      },
    ]);
    assert.deepEqual(r.notes, []);
    assert.deepEqual(r.incomplete, []);
    assert.deepEqual(
      r.records.map((x) => [x.resource.id, x.member]),
      [['g1', 'City Hospital']],
    );
  });

  test('the codings decide, not the text: a reworded text reads the same', () => {
    const b = searchset([refused('Central Lab', LAB, 'withheld', ['labs'], 'Observation')]);
    const e = b.entry?.[1]?.resource as { issue: { details: { text: string } }[] };
    const before = readSearchset('Observation', b, names, 'here').refusals;
    for (const i of e.issue) i.details.text = 'Ein anderes Wort.';
    assert.deepEqual(readSearchset('Observation', b, names, 'here').refusals, before);
  });

  test('a suppressed outcome without codings is still a refusal of the searched type', () => {
    const r = readSearchset(
      'AllergyIntolerance',
      {
        resourceType: 'Bundle',
        type: 'searchset',
        entry: [
          {
            resource: {
              resourceType: 'OperationOutcome',
              issue: [{ severity: 'information', code: 'suppressed', details: { text: 'withheld' } }],
            },
            search: { mode: 'outcome' },
          },
        ],
      },
      names,
      'here',
    );
    assert.equal(r.refusals.length, 1);
    assert.equal(r.refusals[0]?.resourceType, 'AllergyIntolerance');
    assert.deepEqual(r.refusals[0]?.categories, []);
    assert.equal(r.notes.length, 0);
  });

  test('offline members and replicas are lines, and mark the type incomplete', () => {
    const r = readSearchset(
      'Condition',
      searchset([
        {
          member: 'Main Street Pharmacy',
          address: PHARMACY,
          status: 'unreachable',
          message: 'Main Street Pharmacy did not answer; its records are not included',
          withheld: [],
        },
        {
          member: 'Central Lab',
          address: LAB,
          status: 'replica',
          message: 'Central Lab is offline; served by its replica at City Hospital',
          withheld: [],
        },
      ]),
      names,
      'here',
    );
    assert.deepEqual(r.refusals, []);
    assert.deepEqual(r.notes, [
      'Main Street Pharmacy did not answer; its records are not included',
      'Central Lab is offline; served by its replica at City Hospital',
    ]);
    assert.deepEqual(r.incomplete, ['Condition']);
  });

  test('more results than the page holds mark the type incomplete', () => {
    const r = readSearchset('Observation', searchset([], { total: 150 }), names, 'here');
    assert.deepEqual(r.incomplete, ['Observation']);
    assert.deepEqual(readSearchset('Observation', searchset([]), names, 'here').incomplete, []);
  });

  test('merged reads keep one refusal per member and type, and each note once', () => {
    const off: RemoteOutcome = {
      member: 'Main Street Pharmacy',
      address: PHARMACY,
      status: 'unreachable',
      message: 'gone',
      withheld: [],
    };
    const obs = readSearchset(
      'Observation',
      searchset([refused('Central Lab', LAB, 'no-consent', all('Observation')), off]),
      names,
      'here',
    );
    const med = readSearchset(
      'MedicationRequest',
      searchset([
        refused('Central Lab', LAB, 'no-consent', all('MedicationRequest'), 'MedicationRequest'),
        off,
      ]),
      names,
      'here',
    );
    const m = mergeReads([obs, med, obs]);
    assert.deepEqual(
      m.refusals.map((r) => `${r.member}/${r.resourceType}`),
      ['Central Lab/MedicationRequest', 'Central Lab/Observation'],
    );
    assert.deepEqual(m.notes, ['gone']);
    assert.deepEqual(m.incomplete, ['MedicationRequest', 'Observation']);
    assert.equal(m.records.length, 3);
  });
});

describe('readMatches: the $match answer the node builds, as the clinician view reads it', () => {
  test('each match: the checksummed address and the holders by name; warnings as notes', () => {
    const patient = getAddress('0x00000000000000000000000000000000000000ab');
    const b = matchBundle(
      [
        {
          address: patient,
          holders: [
            { address: LAB, name: 'Central Lab' },
            { address: HOSPITAL, name: 'City Hospital' },
          ],
        },
      ],
      [
        {
          member: 'Main Street Pharmacy',
          address: PHARMACY,
          status: 'unreachable',
          message: 'Main Street Pharmacy did not answer; it was not searched',
        },
        { member: 'City Hospital', address: HOSPITAL, status: 'ok' },
      ],
      { count: 10, onlyCertainMatches: false },
    );
    const r = readMatches(b);
    assert.deepEqual(r.found, [{ address: patient, holders: ['Central Lab', 'City Hospital'] }]);
    assert.deepEqual(r.notes, ['Main Street Pharmacy did not answer; it was not searched']);
    assert.deepEqual(readMatches(matchBundle([], [], { count: 10, onlyCertainMatches: false })), {
      found: [],
      notes: [],
    });
  });
});
