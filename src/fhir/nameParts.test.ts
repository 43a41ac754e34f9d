import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { dateQueryToken, dateTokens } from './dateTokens.js';
import { humanNameParts, MAX_PART_LENGTH, nameParts } from './nameParts.js';

describe('name parts', () => {
  test('case, accents and separators do not matter; parts are whole', () => {
    const cases: [string, string[]][] = [
      ['Okafor', ['okafor']],
      ['  OKAFOR  ', ['okafor']],
      ['José-María', ['jose', 'maria']],
      ['Núñez', ['nunez']],
      ["O'Brien", ['o', 'brien', 'obrien']],
      ['D’Angelo', ['d', 'angelo', 'dangelo']],
      ['van der Berg', ['van', 'der', 'berg']],
      ['Müller–Lüdenscheidt', ['muller', 'ludenscheidt']],
      ['Straße', ['strasse']],
      ['Łukasz Søren Æsir', ['lukasz', 'soren', 'aesir']],
      ['St. John', ['st', 'john']],
      ['ＡＢＣ', ['abc']], // NFKD folds full-width letters
      ['Anna anna ANNA', ['anna']],
      ['---', []],
      ['', []],
    ];
    for (const [input, parts] of cases) assert.deepEqual(nameParts(input), parts, input);
  });

  test('a HumanName gives the parts of its text, family and given names (not prefix or suffix)', () => {
    assert.deepEqual(
      humanNameParts({
        text: 'Dr José Okafor',
        family: 'Okafor',
        given: ['José', 'Ana María'],
        prefix: ['Dr'],
      }),
      ['dr', 'jose', 'okafor', 'ana', 'maria'],
    );
    assert.deepEqual(humanNameParts({ family: 'Okafor', suffix: ['III'], prefix: ['Prof'] }), ['okafor']);
    assert.deepEqual(humanNameParts('Given'), ['given']);
    assert.deepEqual(humanNameParts(42), []);
    assert.deepEqual(humanNameParts({ given: 'not an array', family: 7 }), []);
  });

  test('normalizing is idempotent and insensitive to case and to combining marks', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40, unit: 'binary' }), (s) => {
        const parts = nameParts(s);
        for (const p of parts) {
          assert.deepEqual(nameParts(p), [p], `part ${JSON.stringify(p)} of ${JSON.stringify(s)}`);
          assert.ok(p.length > 0 && p.length <= MAX_PART_LENGTH);
        }
        assert.deepEqual(nameParts(s.toUpperCase()), nameParts(s.toLowerCase()));
        assert.deepEqual(nameParts(s.normalize('NFD')), nameParts(s.normalize('NFC')));
      }),
    );
  });

  test('an over-long part is cut, so the token input stays bounded', () => {
    assert.deepEqual(nameParts('a'.repeat(1000)), ['a'.repeat(MAX_PART_LENGTH)]);
  });
});

describe('date tokens', () => {
  test('one token per precision of a FHIR date; none for anything else', () => {
    assert.deepEqual(dateTokens('1980-04-01'), ['1980', '1980-04', '1980-04-01']);
    assert.deepEqual(dateTokens('1980-04'), ['1980', '1980-04']);
    assert.deepEqual(dateTokens('1980'), ['1980']);
    for (const bad of ['1980-13', '1980-02-30', '1980-04-01T10:00:00Z', '80', 'x', '', ' 1980'])
      assert.deepEqual(dateTokens(bad), [], bad);
  });
  test('a search value asks for the token at its own precision (FHIR eq: the stored date lies within it)', () => {
    assert.equal(dateQueryToken('1980'), '1980');
    assert.equal(dateQueryToken('1980-04'), '1980-04');
    assert.equal(dateQueryToken('1980-04-01'), '1980-04-01');
    assert.equal(dateQueryToken('1980-04-01T00:00:00Z'), undefined);
    // A year-only birth date is not within April 1980, and is not found by it.
    assert.ok(!dateTokens('1980').includes(dateQueryToken('1980-04') as string));
    assert.ok(dateTokens('1980-04-01').includes(dateQueryToken('1980-04') as string));
  });
});
