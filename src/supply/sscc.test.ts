import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidInputError } from '../errors.js';
import { companyPrefixOf } from './companyPrefix.js';
import { parseSscc } from './gs1CheckDigit.js';
import { makeSscc } from './sscc.js';

test('SSCCs: extension digit, company prefix, serial reference, check digit', () => {
  // GS1's example SSCC 376104250021234569: extension 3, prefix 7610425, reference 002123456.
  assert.equal(makeSscc(3, '7610425', 2_123_456), '376104250021234569');
  const s = makeSscc(0, '9521234', 41);
  assert.equal(s.length, 18);
  assert.equal(parseSscc(s), s);
  assert.equal(s.slice(0, 8), '09521234');
  assert.equal(makeSscc(0, '952123412345', 9999).slice(13, 17), '9999', 'a 12-digit prefix leaves 4 digits');
});

test('SSCCs: a reference that does not fit, a bad prefix or extension is refused', () => {
  for (const [ext, prefix, n] of [
    [0, '952123412345', 10_000],
    [0, '95212', 1],
    [10, '9521234', 1],
    [0, '9521234', -1],
    [0, '9521234', 1.5],
  ] as const)
    assert.throws(() => makeSscc(ext, prefix, n), InvalidInputError, `${ext} ${prefix} ${n}`);
});

test('company prefix of a GTIN: the longest claim it falls under, a whole-GTIN claim included', () => {
  const claims = [
    { prefix: '9521234', digits: 7 },
    { prefix: '95212340', digits: 8 },
    { prefix: '09529999000116', digits: 14 },
  ];
  assert.deepEqual(companyPrefixOf('09521234000112', claims), { prefix: '95212340', digits: 8 });
  assert.deepEqual(companyPrefixOf('09521234100112', claims), { prefix: '9521234', digits: 7 });
  assert.deepEqual(companyPrefixOf('09529999000116', claims), { prefix: '09529999000116', digits: 14 });
  assert.equal(companyPrefixOf('09529999000123', claims), undefined);
  assert.equal(
    companyPrefixOf('95212340000001', claims),
    undefined,
    'the prefix starts after the indicator digit',
  );
  assert.deepEqual(
    companyPrefixOf('19521234100119', claims),
    { prefix: '9521234', digits: 7 },
    'any indicator',
  );
});
