import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidResourceError } from '../errors.js';
import { checkReferences, type PlannedWrites, type ReferenceLookup, referencesIn } from './referenceCheck.js';

/** A store with Patient/p1 (2 versions), Patient/gone (deleted at version 2), Encounter/e1. */
const lookup: ReferenceLookup = {
  head: (type, id) =>
    (<Record<string, { version: number; deleted: boolean }>>{
      'Patient/p1': { version: 2, deleted: false },
      'Patient/gone': { version: 2, deleted: true },
      'Encounter/e1': { version: 1, deleted: false },
    })[`${type}/${id}`],
  liveVersion: (type, id, v) =>
    ['Patient/p1/1', 'Patient/p1/2', 'Patient/gone/1', 'Encounter/e1/1'].includes(`${type}/${id}/${v}`),
};

const obs = (refs: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  resourceType: 'Observation',
  id: 'o1',
  status: 'final',
  code: { text: 'x' },
  ...refs,
  ...extra,
});

/** The element paths refused, or [] when the resource passes. */
function refused(r: ReturnType<typeof obs>, planned?: PlannedWrites): string[] {
  try {
    checkReferences(r, lookup, planned);
    return [];
  } catch (err) {
    assert.ok(err instanceof InvalidResourceError, String(err));
    return err.issues.map((i) => i.expression?.[0] ?? '');
  }
}

describe('reference check', () => {
  test('references are found with their element paths, in extensions and contained resources too', () => {
    const r = obs(
      {
        subject: { reference: 'Patient/p1' },
        performer: [{ display: 'Dr' }, { reference: 'Practitioner/1' }],
      },
      {
        extension: [{ url: 'http://x', valueReference: { reference: 'Encounter/e1' } }],
        contained: [
          {
            resourceType: 'Patient',
            id: 'c',
            link: [{ other: { reference: 'Patient/p1' }, type: 'seealso' }],
          },
        ],
      },
    );
    assert.deepEqual(referencesIn(r, 'Observation'), [
      { path: 'Observation.subject', reference: 'Patient/p1' },
      { path: 'Observation.performer[1]', reference: 'Practitioner/1' },
      { path: 'Observation.extension[0].valueReference', reference: 'Encounter/e1' },
      { path: 'Observation.contained[0].link[0].other', reference: 'Patient/p1' },
    ]);
  });

  test('what resolves passes', () => {
    const ok = [
      obs({ subject: { reference: 'Patient/p1' }, encounter: { reference: 'Encounter/e1' } }),
      obs({ subject: { reference: 'Patient/p1/_history/1' } }),
      obs({ subject: { reference: 'Patient/gone/_history/1' } }), // a live old version of a now deleted record
      obs({ subject: { reference: 'https://other-member.example/fhir/Patient/zz' } }), // absolute: not ours
      obs({ subject: { reference: 'Patient/p1' }, performer: [{ reference: 'Practitioner/nowhere' }] }), // not stored here
      obs({ subject: { reference: '#c' } }, { contained: [{ resourceType: 'Patient', id: 'c' }] }),
      obs({ subject: { display: 'no reference at all' } }),
      obs({ hasMember: [{ reference: 'Observation/o1' }] }), // itself
    ];
    for (const r of ok) assert.deepEqual(refused(r), [], JSON.stringify(r));
  });

  test('what does not resolve is refused, naming every element', () => {
    const table: [string, ReturnType<typeof obs>, string[]][] = [
      ['missing', obs({ subject: { reference: 'Patient/does-not-exist' } }), ['Observation.subject']],
      ['deleted', obs({ subject: { reference: 'Patient/gone' } }), ['Observation.subject']],
      ['wrong type', obs({ subject: { reference: 'Encounter/p1' } }), ['Observation.subject']],
      ['missing version', obs({ subject: { reference: 'Patient/p1/_history/3' } }), ['Observation.subject']],
      [
        'deleted version',
        obs({ subject: { reference: 'Patient/gone/_history/2' } }),
        ['Observation.subject'],
      ],
      ['contained id', obs({ subject: { reference: '#nope' } }), ['Observation.subject']],
      [
        'urn:uuid outside a bundle',
        obs({ subject: { reference: 'urn:uuid:5d1d0b52-1c8f-4c39-9e02-3c87a9ab2c3e' } }),
        ['Observation.subject'],
      ],
      [
        'conditional',
        obs({ subject: { reference: 'Patient?identifier=urn:medchain:patient|0x01' } }),
        ['Observation.subject'],
      ],
      ['not a reference', obs({ subject: { reference: 'Patient/' } }), ['Observation.subject']],
      ['relative path', obs({ subject: { reference: 'fhir/Patient/p1' } }), ['Observation.subject']],
      [
        'several',
        obs({
          subject: { reference: 'Patient/x' },
          encounter: { reference: 'Encounter/y' },
          focus: [{ reference: 'Patient/p1' }],
        }),
        ['Observation.subject', 'Observation.encounter'],
      ],
      [
        'inside a contained resource',
        obs(
          { subject: { reference: 'Patient/p1' } },
          {
            contained: [{ resourceType: 'Patient', id: 'c', link: [{ other: { reference: 'Patient/x' } }] }],
          },
        ),
        ['Observation.contained[0].link[0].other'],
      ],
    ];
    for (const [name, r, paths] of table) assert.deepEqual(refused(r), paths, name);
  });

  test('a transaction: what it writes resolves, what it deletes does not', () => {
    const planned: PlannedWrites = new Map([
      ['Patient/new', 'write'],
      ['Patient/p1', 'delete'],
    ]);
    assert.deepEqual(refused(obs({ subject: { reference: 'Patient/new' } }), planned), []);
    assert.deepEqual(refused(obs({ subject: { reference: 'Patient/new/_history/1' } }), planned), []);
    assert.deepEqual(refused(obs({ subject: { reference: 'Patient/new/_history/2' } }), planned), [
      'Observation.subject',
    ]);
    assert.deepEqual(refused(obs({ subject: { reference: 'Patient/p1' } }), planned), [
      'Observation.subject',
    ]);
  });

  test('the refusal is a 422 whose message and issues name the element and the reference', () => {
    assert.throws(
      () => checkReferences(obs({ subject: { reference: 'Patient/does-not-exist' } }), lookup),
      (err: unknown) => {
        assert.ok(err instanceof InvalidResourceError);
        assert.equal(
          err.message,
          'Observation has a reference that does not resolve: Observation.subject: Patient/does-not-exist does not exist at this member',
        );
        assert.deepEqual(err.issues[0]?.expression, ['Observation.subject']);
        assert.equal(err.issues[0]?.code, 'not-found');
        return true;
      },
    );
  });
});
