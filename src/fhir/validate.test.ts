/**
 * Validating once: a value validated where it enters is kept (frozen) and not validated again by
 * validateIncoming (which the record service runs on every write); a copy is; `revise` validates
 * what a revision changed, and accepts a revision exactly when a whole validation would.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Claim } from '@medplum/fhirtypes';
import { fhirClaim } from '../../test/support/claims.js';
import { InvalidInputError, InvalidResourceError } from '../errors.js';
import { loadFhirDefinitions } from './definitions.js';
import { isValidated, revise, validatedResource, validateIncoming } from './validate.js';
import { ValueSetIndex } from './valueSets.js';

before(() => loadFhirDefinitions());

/** 'ok', or the kind of refusal: 400 (malformed input) or 422 (invalid resource). */
const status = (fn: () => unknown): 'ok' | 400 | 422 => {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (err instanceof InvalidResourceError) return 422;
    if (err instanceof InvalidInputError) return 400;
    throw err;
  }
};

describe('validatedResource', () => {
  test('keeps the value: frozen, recognized; a spread copy is a new, unvalidated object', () => {
    const v = validatedResource<Claim>(fhirClaim(), 'Claim');
    assert.ok(isValidated(v));
    assert.ok(Object.isFrozen(v) && Object.isFrozen(v.item?.[0]?.encounter?.[0]));
    assert.throws(() => {
      (v as { status: string }).status = 'cancelled';
    }, TypeError);
    assert.equal(isValidated({ ...v }), false);
    assert.equal(isValidated(fhirClaim()), false);
  });

  test('refuses what validateIncoming refuses (structure, type, id, bindings, dates)', () => {
    const bad: [string, unknown][] = [
      ['not an object', 'Claim'],
      ['another type', { ...fhirClaim(), resourceType: 'Patient' }],
      ['a bad id', { ...fhirClaim(), id: 'a b' }],
      ['an unknown element', { ...fhirClaim(), colour: 'red' }],
      ['a status outside its required binding', { ...fhirClaim(), status: 'bogus' }],
      ['an impossible date', { ...fhirClaim(), created: '2026-02-30' }],
    ];
    for (const [what, body] of bad) {
      const whole = status(() => validateIncoming(body, 'Claim'));
      assert.notEqual(whole, 'ok', what);
      assert.equal(
        status(() => validatedResource(body, 'Claim')),
        whole,
        what,
      );
    }
  });

  test('validateIncoming does not validate a kept value again (only its type), but does a copy', () => {
    // Kept under an index without value sets: the status binding was not checked when it was kept.
    const v = validatedResource<Claim>({ ...fhirClaim(), status: 'bogus' as 'active' }, 'Claim', {
      terms: new ValueSetIndex(),
    });
    assert.equal(
      status(() => validateIncoming(v, 'Claim')),
      'ok',
      'not validated a second time',
    );
    assert.equal(
      status(() => validateIncoming({ ...v }, 'Claim')),
      422,
      'a copy is validated',
    );
    assert.equal(
      status(() => validateIncoming(v, 'Coverage')),
      400,
      'the type is still checked',
    );
  });
});

type Edit = (c: Claim) => Claim;

/** Revisions, valid and not: `revise` must agree with a whole validation on each. */
const EDITS: [string, Edit][] = [
  ['nothing changed', (c) => ({ ...c })],
  ['meta dropped', ({ meta: _m, ...c }) => c],
  [
    'an identifier added',
    (c) => ({ ...c, identifier: [{ system: 'urn:medchain:claim', value: `0x${'ab'.repeat(32)}` }] }),
  ],
  ['an identifier of a wrong type', (c) => ({ ...c, identifier: [{ system: 5 }] }) as unknown as Claim],
  ['identifier not a list', (c) => ({ ...c, identifier: { value: 'x' } }) as unknown as Claim],
  ['an empty identifier', (c) => ({ ...c, identifier: [{}] })],
  ['the patient replaced', (c) => ({ ...c, patient: { reference: 'Patient/p-9' } })],
  ['the patient dropped (required)', ({ patient: _p, ...c }) => c as Claim],
  ['the patient as a list', (c) => ({ ...c, patient: [c.patient] }) as unknown as Claim],
  ['a status outside its binding', (c) => ({ ...c, status: 'bogus' as 'active' })],
  ['an impossible created date', (c) => ({ ...c, created: '2026-02-30T00:00:00Z' })],
  ['a malformed created date', (c) => ({ ...c, created: 'yesterday' })],
  ['a new id', (c) => ({ ...c, id: 'f'.repeat(64) })],
  ['an id too long', (c) => ({ ...c, id: 'f'.repeat(65) })],
  ['an unknown element added', (c) => ({ ...c, colour: 'red' }) as unknown as Claim],
  [
    'item references made absolute',
    (c) => ({
      ...c,
      item: (c.item ?? []).map((i) => ({
        ...i,
        encounter: (i.encounter ?? []).map((e) => ({
          reference: `urn:medchain:member:0xabc/${e.reference}`,
        })),
      })),
    }),
  ],
  [
    'an item reference pointed at a contained resource that is not there (ref-1)',
    (c) => ({
      ...c,
      item: (c.item ?? []).map((i, n) =>
        n === 0 ? { ...i, encounter: (i.encounter ?? []).map(() => ({ reference: '#nowhere' })) } : i,
      ),
    }),
  ],
  [
    'an item reference emptied',
    (c) => ({
      ...c,
      item: (c.item ?? []).map((i) => ({
        ...i,
        encounter: (i.encounter ?? []).map(() => ({ reference: '' })),
      })),
    }),
  ],
  [
    'an item reference made a number',
    (c) =>
      ({
        ...c,
        item: (c.item ?? []).map((i) => ({
          ...i,
          encounter: (i.encounter ?? []).map(() => ({ reference: 7 })),
        })),
      }) as unknown as Claim,
  ],
  [
    'references pointed elsewhere, and a date of service broken in the same item',
    (c) => ({
      ...c,
      item: (c.item ?? []).map((i, n) => ({
        ...i,
        ...(n === 0 ? { servicedDate: '2026-02-30' } : {}),
        encounter: (i.encounter ?? []).map((e) => ({
          reference: `urn:medchain:member:0xabc/${e.reference}`,
        })),
      })),
    }),
  ],
  [
    'a reference pointed elsewhere where the element is not a Reference',
    (c) =>
      ({
        ...c,
        item: (c.item ?? []).map((i) => ({ ...i, quantity: { ...i.quantity, reference: 'Encounter/x' } })),
      }) as unknown as Claim,
  ],
  [
    'an item without its required sequence',
    (c) => ({ ...c, item: [{ ...c.item?.[0], sequence: undefined }] }) as unknown as Claim,
  ],
  [
    'an item with an impossible date of service',
    (c) => ({ ...c, item: [{ ...(c.item?.[0] as object), servicedDate: '2026-13-01' }] }) as Claim,
  ],
  ['insurance emptied (1..*)', (c) => ({ ...c, insurance: [] })],
  [
    'the focal coverage replaced',
    (c) => ({ ...c, insurance: [{ sequence: 1, focal: true, coverage: { reference: 'Coverage/c-2' } }] }),
  ],
  [
    'a contained resource added',
    (c) => ({ ...c, contained: [{ resourceType: 'Basic', id: 'b', code: {} }] }) as unknown as Claim,
  ],
  ['the type changed', (c) => ({ ...c, resourceType: 'Coverage' }) as unknown as Claim],
];

describe('revise', () => {
  test('accepts a revision exactly when a whole validation does, and keeps what it accepts', () => {
    for (const [what, edit] of EDITS) {
      const base = validatedResource<Claim>(fhirClaim(), 'Claim');
      const next = edit(structuredClone(base) as Claim);
      const whole = status(() => validateIncoming(structuredClone(next), 'Claim'));
      const revised = status(() => revise(base, next));
      assert.equal(revised === 'ok', whole === 'ok', `${what}: revise ${revised}, whole ${whole}`);
      if (revised === 'ok') assert.ok(isValidated(next) && Object.isFrozen(next), what);
    }
  });

  test('the table has both kinds', () => {
    const verdicts = EDITS.map(([, edit]) =>
      status(() => validateIncoming(edit(structuredClone(fhirClaim())), 'Claim')),
    );
    assert.ok(verdicts.includes('ok') && verdicts.some((v) => v !== 'ok'));
  });

  test('only a validated base can be revised', () => {
    assert.throws(() => revise(fhirClaim() as never, fhirClaim()), TypeError);
  });
});
