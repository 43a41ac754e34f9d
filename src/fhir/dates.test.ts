import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { dateMatches, parseFhirDate } from './dates.js';

describe('FHIR dates', () => {
  test('precision sets the range', () => {
    assert.deepEqual(parseFhirDate('2024'), { lo: Date.UTC(2024, 0, 1), hi: Date.UTC(2025, 0, 1) });
    assert.deepEqual(parseFhirDate('2024-02'), { lo: Date.UTC(2024, 1, 1), hi: Date.UTC(2024, 2, 1) });
    assert.deepEqual(parseFhirDate('2024-02-29'), { lo: Date.UTC(2024, 1, 29), hi: Date.UTC(2024, 2, 1) });
    assert.deepEqual(parseFhirDate('2024-03-05T10:00:00Z'), {
      lo: Date.UTC(2024, 2, 5, 10),
      hi: Date.UTC(2024, 2, 5, 10, 0, 1),
    });
    assert.deepEqual(parseFhirDate('2024-03-05T10:00:00+02:00')?.lo, Date.UTC(2024, 2, 5, 8));
    assert.equal(parseFhirDate('2024-03-05T10:00:00.250Z')?.lo, Date.UTC(2024, 2, 5, 10, 0, 0, 250));
  });

  test('invalid values are refused', () => {
    for (const v of [
      '',
      '24',
      '2024-13',
      '2023-02-29',
      '2024-04-31',
      '2024-01-01T10:00',
      '2024-01-01T25:00:00Z',
      'ge2024',
      "2024' OR 1=1",
      '2024-01-01T10:00:00Zjunk',
    ]) {
      assert.equal(parseFhirDate(v), undefined, v);
    }
  });

  test('comparisons follow FHIR prefix semantics', () => {
    const day = parseFhirDate('2024-03-05');
    const q = (s: string) => parseFhirDate(s) as { lo: number; hi: number };
    assert.ok(day);
    assert.equal(dateMatches(day, 'eq', q('2024-03')), true);
    assert.equal(dateMatches(day, 'eq', q('2024-03-06')), false);
    assert.equal(dateMatches(day, 'ge', q('2024-03-05')), true);
    assert.equal(dateMatches(day, 'gt', q('2024-03-05')), false);
    assert.equal(dateMatches(day, 'gt', q('2024-03-04')), true);
    assert.equal(dateMatches(day, 'le', q('2024-03-05')), true);
    assert.equal(dateMatches(day, 'lt', q('2024-03-05')), false);
    assert.equal(dateMatches(day, 'lt', q('2024-03-06')), true);
  });

  test('every valid calendar day parses and round-trips through toISOString', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1900-01-01'), max: new Date('2100-12-31'), noInvalidDate: true }),
        (d) => {
          const iso = d.toISOString();
          assert.equal(parseFhirDate(iso)?.lo, d.getTime());
          assert.equal(
            parseFhirDate(iso.slice(0, 10))?.lo,
            Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()),
          );
        },
      ),
    );
  });
});
