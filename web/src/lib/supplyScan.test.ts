import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withCheckDigit } from '../../../src/supply/gs1CheckDigit.js';
import { verdictOf } from './supply.js';
import { gs1DateText, lotError, normalizeScan, readScan, verifyPath } from './supplyScan.js';

const GS = '\u001d';
const gtin = withCheckDigit('0952123400011');
const wrongGtin = `${gtin.slice(0, -1)}${(Number(gtin.at(-1)) + 1) % 10}`;
const pack = { gtin, lot: 'AMX2601', serial: 'K7QX2M9PLR4T', expiry: '280630' };

test('an element string with ASCII 29, or a visible <GS> stand-in, reads as the same pack', () => {
  const forms = [
    `01${gtin}1728063010AMX2601${GS}21K7QX2M9PLR4T`,
    `01${gtin}1728063010AMX2601<GS>21K7QX2M9PLR4T`,
    `01${gtin}1728063010AMX2601<gs>21K7QX2M9PLR4T`,
    `01${gtin}1728063010AMX2601[GS]21K7QX2M9PLR4T`,
    `01${gtin}1728063010AMX2601\\x1d21K7QX2M9PLR4T`,
    `01${gtin}1728063010AMX2601\\u001d21K7QX2M9PLR4T`,
    `  ]d201${gtin}1728063010AMX2601${GS}21K7QX2M9PLR4T\n`,
    `01${gtin}17280630${GS}21K7QX2M9PLR4T${GS}10AMX2601`,
  ];
  for (const f of forms) {
    const r = readScan(f);
    assert.ok(r.ok, `${JSON.stringify(f)}: ${r.ok ? '' : r.message}`);
    assert.deepEqual(r.id, pack);
    assert.equal(r.form, 'element-string');
  }
});

test('a Digital Link (any domain, or a bare path) reads as the same pack', () => {
  for (const f of [
    `https://id.gs1.org/01/${gtin}/10/AMX2601/21/K7QX2M9PLR4T?17=280630`,
    `https://pharma.example/dl/01/${gtin}/10/AMX2601/21/K7QX2M9PLR4T?exp=280630`,
    `/01/${gtin}/10/AMX2601/21/K7QX2M9PLR4T?exp=280630`,
  ]) {
    const r = readScan(f);
    assert.ok(r.ok, `${f}: ${r.ok ? '' : r.message}`);
    assert.deepEqual(r.id, pack);
    assert.equal(r.form, 'digital-link');
  }
  // No expiry in the link: read, without one (verification does not need it).
  const r = readScan(`https://id.gs1.org/01/${gtin}/10/AMX2601/21/K7QX2M9PLR4T`);
  assert.ok(r.ok);
  assert.equal(r.id.expiry, undefined);
});

test('what is wrong is named: check digit, missing separator, missing parts, bad dates', () => {
  const cases: [string, 'empty' | 'check-digit' | 'syntax', RegExp][] = [
    ['   ', 'empty', /Scan or paste/],
    [`01${wrongGtin}1728063010AMX2601${GS}21K7QX2M9PLR4T`, 'check-digit', /check digit/],
    [`https://id.gs1.org/01/${wrongGtin}/10/AMX2601/21/K7QX2M9PLR4T`, 'check-digit', /check digit/],
    [`01${gtin}1728063010AMX260121K7QX2M9PLR4T`, 'syntax', /<GS> separator that ends it is missing/],
    [`01${gtin}1728063010AMX21SER42`, 'syntax', /run into \(21\): the <GS> separator after it is missing/],
    [`01${gtin}17280630${GS}21K7QX2M9PLR4T`, 'syntax', /missing \(10\)/],
    [`01${gtin}1728133010AMX2601${GS}21K7QX2M9PLR4T`, 'syntax', /not a date/],
    [`01${gtin}1728063010AMX 2601${GS}21K7QX2M9PLR4T`, 'syntax', /character set 82/],
    [`https://id.gs1.org/01/${gtin}/21/K7QX2M9PLR4T`, 'syntax', /no lot/],
    [`https://id.gs1.org/01/${gtin}/10/AMX2601`, 'syntax', /no serial/],
    ['hello', 'syntax', /unknown or unsupported AI/i],
  ];
  for (const [text, kind, message] of cases) {
    const r = readScan(text);
    assert.equal(r.ok, false, text);
    if (r.ok) continue;
    assert.equal(r.kind, kind, `${text}: ${r.message}`);
    assert.match(r.message, message, text);
  }
  // The check-digit message gives the digit on the pack and the one expected.
  const r = readScan(`01${wrongGtin}1728063010AMX2601${GS}21K7QX2M9PLR4T`);
  assert.ok(!r.ok);
  assert.ok(r.message.includes(wrongGtin) && r.message.includes(`give ${gtin.at(-1)}`), r.message);
});

test('normalizeScan only replaces stand-ins and trims', () => {
  assert.equal(normalizeScan(' 10A<GS>21B{gs}\\035 '), `10A${GS}21B${GS}${GS}`);
  assert.equal(normalizeScan('10GS21'), '10GS21');
});

test('the verify path is the GS1 Digital Link route, values percent-encoded', () => {
  assert.equal(verifyPath(pack), `/supply/verify/01/${gtin}/10/AMX2601/21/K7QX2M9PLR4T?exp=280630`);
  assert.equal(
    verifyPath({ gtin, lot: 'A/B.1', serial: "X'%(" }),
    `/supply/verify/01/${gtin}/10/A%2FB.1/21/X%27%25%28`,
  );
  // A GTIN-13 becomes its 14-digit form; a wrong check digit never becomes a URL.
  assert.equal(verifyPath({ ...pack, gtin: gtin.slice(1) }).split('/')[4], gtin);
  assert.throws(() => verifyPath({ ...pack, gtin: wrongGtin }), /check digit/);
});

test('GS1 dates read as days', () => {
  const now = new Date(Date.UTC(2026, 0, 1));
  assert.equal(gs1DateText('280630', now), '30 Jun 2028');
  assert.equal(gs1DateText('271200', now), 'Dec 2027');
  assert.equal(gs1DateText('990101', now), '1 Jan 1999');
});

test('verdicts: saleable, recalled, expired, not matching, suspect', () => {
  const at = { responderGLN: '9521234000006', verificationTimestamp: '2026-01-01T00:00:00Z' };
  const ok = verdictOf({ ...at, data: { verified: true }, saleable: true, findings: [] });
  assert.equal(ok.tone, 'ok');
  assert.match(ok.headline, /^Verified: genuine and saleable/);
  const recalled = verdictOf({
    ...at,
    data: { verified: true, additionalInfo: 'Recalled' },
    saleable: false,
    findings: ['recalled'],
  });
  assert.equal(recalled.tone, 'bad');
  assert.equal(recalled.info, 'Recalled');
  assert.match(recalled.headline, /Recalled: do not dispense/);
  const expired = verdictOf({
    ...at,
    data: { verified: true, additionalInfo: 'Expired' },
    saleable: false,
    findings: ['expired'],
  });
  assert.match(expired.headline, /Expired/);
  const none = verdictOf({
    ...at,
    data: { verified: false, verificationFailureReason: 'No_match_GTIN_Serial' },
    saleable: false,
    findings: ['not-commissioned'],
  });
  assert.match(none.headline, /^Not verified/);
  assert.equal(none.reason?.code, 'No_match_GTIN_Serial');
  assert.match(none.reason?.words ?? '', /never commissioned/);
  const clone = verdictOf({
    ...at,
    data: {
      verified: false,
      verificationFailureReason: 'Not_for_re-distribution',
      additionalInfo: 'Suspect',
    },
    saleable: false,
    findings: ['already-dispensed'],
  });
  assert.match(clone.headline, /Not verified \(Suspect\)/);
  assert.deepEqual(clone.findings, ['already dispensed (this may be a copy of a genuine code)']);
});

test('a recall names a wrong GTIN or lot before anything is sent', () => {
  assert.equal(lotError(gtin, 'AMX2601'), undefined);
  assert.match(lotError(wrongGtin, 'AMX2601') ?? '', /check digit/);
  assert.match(lotError(gtin, 'A'.repeat(21)) ?? '', /at most 20/);
  assert.match(lotError('12345', 'AMX2601') ?? '', /8, 12, 13 or 14 digits/);
});
