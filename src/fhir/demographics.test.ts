import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { discoveryTokens } from '../crypto/discoveryToken.js';
import { demographicsOf, fullBirthDate, matchKeys, nameParts } from './demographics.js';

test('name parts fold case, diacritics and punctuation, and split compound names', () => {
  assert.deepEqual(nameParts('García-López'), ['garcia', 'lopez']);
  assert.deepEqual(nameParts("  O'Brien  "), ['o', 'brien']);
  assert.deepEqual(nameParts('Strauß'), ['strauss']);
  assert.deepEqual(nameParts('Ødegård'), ['odegard']);
  assert.deepEqual(nameParts('Ζωή'), ['ζωη']);
  assert.deepEqual(nameParts('---'), []);
});

test('only a full birth date gives keys', () => {
  assert.equal(fullBirthDate('1980-02-29'), '1980-02-29');
  for (const bad of ['1980', '1980-02', '80-02-29', '1980-13-01', '1980-02-29T00:00:00Z', undefined])
    assert.equal(fullBirthDate(bad), undefined, String(bad));
  assert.deepEqual(
    matchKeys(demographicsOf({ name: [{ family: 'Doe', given: ['Jo'] }], birthDate: '1980' })),
    [],
  );
});

test('every key joins the birth date with two more demographics', () => {
  const d = demographicsOf({
    name: [{ family: 'Doe-Roe', given: ['Jo', 'Ann'] }],
    birthDate: '1980-02-29',
    gender: 'female',
  });
  const keys = matchKeys(d);
  // 2 family x 2 given (fgd) + 2 family (fds) + 2 given (gds)
  assert.equal(keys.length, 8);
  for (const k of keys) {
    assert.match(k, /1980-02-29/);
    assert.equal(k.split('\0').length, 4);
  }
  // No gender: only the name keys.
  assert.equal(matchKeys({ ...d, gender: undefined }).length, 4);
});

test('three of four demographics agreeing (the birth date among them) share a token; fewer do not', () => {
  const key = new Uint8Array(32).fill(7);
  const tokens = (p: Parameters<typeof demographicsOf>[0]) =>
    new Set(discoveryTokens(key, matchKeys(demographicsOf(p))));
  const stored = tokens({
    name: [{ family: 'García', given: ['María', 'José'] }],
    birthDate: '1970-05-04',
    gender: 'female',
  });
  const shares = (p: Parameters<typeof demographicsOf>[0]) => [...tokens(p)].some((t) => stored.has(t));
  assert.ok(
    shares({ name: [{ family: 'GARCIA', given: ['maria'] }], birthDate: '1970-05-04' }),
    'names + date',
  );
  assert.ok(
    shares({ name: [{ family: 'Garcia', given: ['Mary'] }], birthDate: '1970-05-04', gender: 'female' }),
    'family + date + gender',
  );
  assert.ok(
    shares({ name: [{ family: 'Garsia', given: ['José'] }], birthDate: '1970-05-04', gender: 'female' }),
    'given + date + gender',
  );
  assert.ok(
    !shares({ name: [{ family: 'Garcia', given: ['Maria'] }], birthDate: '1970-05-05', gender: 'female' }),
    'wrong date',
  );
  assert.ok(
    !shares({ name: [{ family: 'Garcia', given: ['Mary'] }], birthDate: '1970-05-04' }),
    'one name + date only',
  );
  assert.ok(
    shares({ name: [{ family: 'Garcia', given: ['Maria'] }], birthDate: '1970-05-04', gender: 'male' }),
    'names + date, gender differs',
  );
});

test('tokens hold no plaintext and differ under another key', () => {
  fc.assert(
    fc.property(
      fc.string({ minLength: 2, maxLength: 20 }),
      fc.string({ minLength: 2, maxLength: 20 }),
      (f, g) => {
        const keys = matchKeys(
          demographicsOf({ name: [{ family: f, given: [g] }], birthDate: '2001-01-01', gender: 'other' }),
        );
        const a = discoveryTokens(new Uint8Array(32).fill(1), keys);
        const b = discoveryTokens(new Uint8Array(32).fill(2), keys);
        for (const t of a) {
          assert.match(t, /^[0-9a-f]{64}$/);
          assert.ok(!b.includes(t));
        }
      },
    ),
  );
});
