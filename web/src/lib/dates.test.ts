import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatDay, formatFhirDate, formatMoment } from './dates.js';

const T = Date.UTC(2026, 11, 1, 10, 4, 59);

describe('one date format on every screen', () => {
  test('a day and a moment, in the zone given', () => {
    assert.equal(formatDay(T, 'UTC'), '1 Dec 2026');
    assert.equal(formatMoment(T, 'UTC'), '1 Dec 2026, 10:04');
    assert.equal(formatMoment(Date.UTC(2026, 0, 9, 23, 5), 'UTC'), '9 Jan 2026, 23:05', '24-hour clock');
    assert.equal(formatDay(T, 'Pacific/Kiritimati'), '2 Dec 2026', 'the reader’s own day');
    assert.equal(
      formatDay(Date.UTC(2026, 8, 19), 'UTC'),
      '19 Sep 2026',
      'three letters, whatever ICU writes',
    );
    assert.equal(formatMoment(Date.UTC(2026, 5, 1, 0, 7), 'UTC'), '1 Jun 2026, 00:07');
  });

  test('no date reads as a dash', () => {
    assert.equal(formatDay(null), '—');
    assert.equal(formatDay(0), '—');
    assert.equal(formatDay(Number.NaN), '—');
    assert.equal(formatMoment(0), '—');
  });

  test('a FHIR date as written, at its own precision, with no zone shift', () => {
    assert.equal(formatFhirDate('1957-03-09'), '9 Mar 1957');
    assert.equal(formatFhirDate('1957-03'), 'Mar 1957');
    assert.equal(formatFhirDate('1957'), '1957');
    assert.equal(formatFhirDate(undefined), '—');
    assert.equal(formatFhirDate('soon'), 'soon');
  });
});
