import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  type PackIdentifier,
  parseDigitalLink,
  parseElementString,
  writeDigitalLink,
  writeElementString,
} from './gs1.js';
import { parseGtin, withCheckDigit } from './gs1CheckDigit.js';
import { Gs1CheckDigitError } from './supplyErrors.js';

const CSET82 = [...'!"%&\'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz'];
const x20 = fc.array(fc.constantFrom(...CSET82), { minLength: 1, maxLength: 20 }).map((a) => a.join(''));
const digits = (n: number) =>
  fc.array(fc.integer({ min: 0, max: 9 }), { minLength: n, maxLength: n }).map((a) => a.join(''));
const gtin = digits(13).map(withCheckDigit);
const expiry = fc
  .tuple(fc.integer({ min: 0, max: 99 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 28 }))
  .map(([y, m, d]) => [y, m, d].map((n) => String(n).padStart(2, '0')).join(''));
const packArb: fc.Arbitrary<PackIdentifier> = fc
  .record({ gtin, serial: x20, lot: x20, expiry })
  .map((r) => ({ ...r }));

test('element string: write -> parse round-trips for every lot and serial in character set 82', () => {
  fc.assert(
    fc.property(packArb, (p) => assert.deepEqual(parseElementString(writeElementString(p)), p)),
    { numRuns: 500 },
  );
});

test('Digital Link: write -> parse round-trips, and element string -> Digital Link -> element string too', () => {
  fc.assert(
    fc.property(
      packArb,
      fc.constantFrom('https://id.gs1.org', 'https://pharma.example.com/dl/'),
      (p, domain) => {
        assert.deepEqual(parseDigitalLink(writeDigitalLink(p, { domain })), p);
        const viaLink = parseDigitalLink(writeDigitalLink(parseElementString(writeElementString(p))));
        assert.equal(writeElementString(viaLink as PackIdentifier), writeElementString(p));
      },
    ),
    { numRuns: 500 },
  );
});

test('any change of one GTIN digit is caught as a check-digit error, in both forms', () => {
  fc.assert(
    fc.property(packArb, fc.integer({ min: 0, max: 13 }), fc.integer({ min: 1, max: 9 }), (p, at, delta) => {
      const d = (Number(p.gtin[at]) + delta) % 10;
      const bad = `${p.gtin.slice(0, at)}${d}${p.gtin.slice(at + 1)}`;
      assert.throws(() => parseGtin(bad), Gs1CheckDigitError);
      const s = writeElementString(p).replace(p.gtin, bad);
      assert.throws(() => parseElementString(s), Gs1CheckDigitError);
      assert.throws(() => parseDigitalLink(writeDigitalLink(p).replace(p.gtin, bad)), Gs1CheckDigitError);
    }),
    { numRuns: 500 },
  );
});

test('dropping the <GS> after the lot is refused, never read as some other lot and serial', () => {
  fc.assert(
    fc.property(packArb, (p) => {
      const s = writeElementString(p).replace('\u001d', '');
      assert.throws(() => parseElementString(s));
    }),
    { numRuns: 500 },
  );
});
