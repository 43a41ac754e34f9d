import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withCheckDigit } from '../../../src/supply/gs1CheckDigit.js';
import { ApiError } from './api.js';
import { readItemLines, receiptFindingsOf, referenceError, timeLeftText } from './supply.js';

const gtin = withCheckDigit('0952123400011');
const SYSTEM = 'https://medchain.example/supply-receipt';

/** A refused receipt as `POST /supply/receive` answers it (src/api/supplyCustodyRoutes.ts). */
const refusal = (issues: object[]) =>
  new ApiError('invalid', 'Harbor: the receipt does not match', 409, {
    resourceType: 'OperationOutcome',
    issue: [
      { severity: 'error', code: 'conflict', details: { text: 'the receipt does not match' } },
      ...issues,
    ],
  });

test('a refused receipt: one finding per issue, with its code in words, the item and what to do', () => {
  const f = receiptFindingsOf(
    refusal([
      {
        severity: 'error',
        code: 'conflict',
        details: { coding: [{ system: SYSTEM, code: 'case-missing' }], text: 'find the case or refuse it' },
        expression: ['095212340000000006'],
      },
      {
        severity: 'error',
        code: 'conflict',
        details: { coding: [{ system: SYSTEM, code: 'case-contents' }], text: 'open the case again' },
        expression: ['095212340000000013'],
        diagnostics: JSON.stringify({
          missing: ['https://id.gs1.org/01/x/21/a'],
          unexpected: [],
          duplicates: [],
        }),
      },
    ]),
  );
  assert.ok(f);
  assert.deepEqual(
    f.map((x) => [x.code, x.title, x.item, x.text]),
    [
      ['case-missing', 'Case announced but not scanned', '095212340000000006', 'find the case or refuse it'],
      [
        'case-contents',
        'Case contents differ from its packing record',
        '095212340000000013',
        'open the case again',
      ],
    ],
  );
  assert.deepEqual(f[1]?.missing, ['https://id.gs1.org/01/x/21/a']);
  assert.deepEqual(f[0]?.missing, []);
});

test('anything else is not a refused receipt: other statuses, errors, bodies, codings', () => {
  const finding = {
    details: { coding: [{ system: SYSTEM, code: 'unit-missing' }], text: 't' },
    expression: ['g/s'],
  };
  assert.equal(receiptFindingsOf(new Error('x')), null);
  assert.equal(receiptFindingsOf(new ApiError('invalid', 'x', 400, refusal([finding]).body)), null);
  assert.equal(receiptFindingsOf(new ApiError('invalid', 'received already', 409, undefined)), null);
  assert.equal(receiptFindingsOf(refusal([])), null, 'only the summary issue');
  assert.equal(
    receiptFindingsOf(refusal([{ details: { coding: [{ system: 'other', code: 'unit-missing' }] } }])),
    null,
  );
  // A finding with unreadable diagnostics still counts, with empty lists.
  const f = receiptFindingsOf(refusal([{ ...finding, diagnostics: '{not json' }]));
  assert.deepEqual(
    f?.map((x) => [x.code, x.missing.length]),
    [['unit-missing', 0]],
  );
  // An unknown code is shown as it is.
  assert.equal(
    receiptFindingsOf(refusal([{ details: { coding: [{ system: SYSTEM, code: 'new-code' }] } }]))?.[0]?.title,
    'new-code',
  );
});

test('time left until a deadline, and how long past it', () => {
  const deadline = '2026-12-02T12:00:00.000Z';
  const at = (iso: string) => timeLeftText(deadline, Date.parse(iso));
  assert.deepEqual(at('2026-12-01T12:00:00.000Z'), { text: '24 h 0 min left', overdue: false });
  assert.deepEqual(at('2026-12-02T11:59:30.000Z'), { text: '0 min left', overdue: false });
  assert.deepEqual(at('2026-12-02T10:15:00.000Z'), { text: '1 h 45 min left', overdue: false });
  assert.deepEqual(at('2026-12-02T12:00:00.000Z'), { text: 'overdue by 0 min', overdue: true });
  assert.deepEqual(at('2026-12-03T14:05:00.000Z'), { text: 'overdue by 26 h 5 min', overdue: true });
  assert.deepEqual(timeLeftText('not a date', 0), { text: 'no deadline', overdue: false });
});

test('scanned lines: SSCCs (with or without AI 00) are cases, codes are units; a bad line is named', () => {
  const unit = `01${gtin}1728063010AMX2601<GS>21K7QX2M9PLR4T`;
  const link = `https://id.gs1.org/01/${gtin}/10/AMX2601/21/SERIAL2`;
  const r = readItemLines(`095212340000000006\n\n  ${unit}  \n00095212340000000013\n${link}\n`);
  assert.deepEqual(r, {
    ok: true,
    cases: ['095212340000000006', '095212340000000013'],
    units: [
      { gtin, serial: 'K7QX2M9PLR4T' },
      { gtin, serial: 'SERIAL2' },
    ],
  });
  const wrong = `${gtin.slice(0, -1)}${(Number(gtin.at(-1)) + 1) % 10}`;
  const bad = readItemLines(`095212340000000006\n01${wrong}21X`);
  assert.equal(bad.ok, false);
  assert.match(bad.ok ? '' : bad.message, /^Line 2: .*check digit/);
  assert.deepEqual(readItemLines(' \n'), { ok: false, message: 'Scan at least one case or unit' });
  assert.match(
    (readItemLines(`01${gtin}10AMX2601`) as { message: string }).message,
    /^Line 1: .*missing \(21\)/,
  );
});

test('patient and prescription references', () => {
  assert.equal(referenceError('', 'Patient'), undefined);
  assert.equal(referenceError('Patient/abc-1.2', 'Patient'), undefined);
  assert.equal(referenceError('MedicationRequest/9', 'MedicationRequest'), undefined);
  for (const bad of ['abc', 'Patient/', 'Observation/1', 'Patient/a b', `Patient/${'x'.repeat(65)}`])
    assert.match(referenceError(bad, 'Patient') ?? '', /Patient\/\{id\}/, bad);
  assert.match(referenceError('Patient/1', 'MedicationRequest') ?? '', /prescription/);
});
