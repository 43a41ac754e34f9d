import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  GS,
  gs1DateEnd,
  parseDigitalLink,
  parseElementString,
  parseElements,
  parseScan,
  writeDigitalLink,
  writeElementString,
} from './gs1.js';
import { gs1CheckDigit, parseGtin, parseSscc } from './gs1CheckDigit.js';
import { Gs1CheckDigitError, Gs1SyntaxError } from './supplyErrors.js';

// Keys from GS1's own examples: 09506000134352 (the fictitious Dal Giardino risotto of the GS1
// Digital Link documentation), 09501101530003 (General Specifications), 09520123456788 (Digital
// Link standard), SSCC 376104250021234569 (General Specifications §2.2.1).
const pack = { gtin: '09506000134352', serial: '12345XYZ', lot: 'ABC123', expiry: '261231' };

describe('GS1 check digits', () => {
  test('GS1 example keys check, and the digit is the one the specification gives', () => {
    for (const g of ['09506000134352', '09501101530003', '09520123456788', '10614141073464']) {
      assert.equal(parseGtin(g), g);
      assert.equal(gs1CheckDigit(g.slice(0, -1)), Number(g.at(-1)));
    }
    assert.equal(parseGtin('9506000134352'), '09506000134352', 'a GTIN-13 is padded to 14 digits');
    assert.equal(parseSscc('376104250021234569'), '376104250021234569');
  });
  test('a wrong check digit is a typed error naming the key, the digit given and the one expected', () => {
    assert.throws(
      () => parseGtin('09506000134353'),
      (e: Gs1CheckDigitError) => {
        assert.ok(e instanceof Gs1CheckDigitError);
        assert.equal(e.code, 'gs1-check-digit');
        assert.equal(e.key, 'GTIN');
        assert.equal(e.value, '09506000134353');
        assert.equal(e.expected, 2);
        assert.match(e.message, /GTIN 09506000134353 has check digit 3 but its other digits give 2/);
        return true;
      },
    );
    assert.throws(() => parseSscc('376104250021234560'), Gs1CheckDigitError);
  });
});

describe('GS1 element strings', () => {
  test('a DataMatrix pack string with symbology identifier, FNC1 as <GS>', () => {
    const s = `]d2010950600013435217261231${'10ABC123'}${GS}2112345XYZ`;
    assert.deepEqual(parseElementString(s), pack);
    assert.equal(writeElementString(pack), s.slice(3));
    assert.equal(writeElementString(pack, { symbologyId: true }), s);
  });
  test('fields in any order; a <GS> after a predefined-length field is tolerated; leading FNC1', () => {
    const s = `${GS}2112345XYZ${GS}10ABC123${GS}17261231${GS}0109506000134352`;
    assert.deepEqual(parseElementString(s), pack);
  });
  test('the General Specifications example (01)09501101530003(17)140704(10)AB-123 parses element by element', () => {
    assert.deepEqual(parseElements('01095011015300031714070410AB-123'), [
      { ai: '01', value: '09501101530003' },
      { ai: '17', value: '140704' },
      { ai: '10', value: 'AB-123' },
    ]);
  });
  const bad: [string, string, RegExp | (new (...a: never[]) => Error)][] = [
    [
      'lot without its <GS> runs into the serial',
      '01095060001343521726123110ABC1232112345XYZ',
      /seems to run into \(21\).*<GS> separator after it is missing/,
    ],
    [
      'lot over 20 characters',
      `01095060001343521726123110${'A'.repeat(21)}${GS}2112345`,
      /at most 20: the <GS> separator that ends it is missing/,
    ],
    ['serial over 20 characters', `010950600013435217261231${'10A'}${GS}21${'9'.repeat(21)}`, /at most 20/],
    ['wrong GTIN check digit', `010950600013435317261231${'10A'}${GS}21X`, Gs1CheckDigitError],
    ['truncated GTIN', '01095060001343', /has 14 digits; the string ends/],
    ['unknown AI', `0109506000134352${'99XYZ'}`, /unknown or unsupported AI at position 16/],
    ['a space (outside character set 82)', `010950600013435217261231${'10A B'}${GS}21X`, /character set 82/],
    ['month 13', `010950600013435217261331${'10A'}${GS}21X`, /is not a date/],
    ['day 32', `010950600013435217261232${'10A'}${GS}21X`, /is not a date/],
    ['empty lot', `010950600013435217261231${'10'}${GS}21X`, /is empty/],
    ['missing expiry', `0109506000134352${'10A'}${GS}21X`, /missing \(17\)/],
    ['two different serials', `010950600013435217261231${'10A'}${GS}21X${GS}21Y`, /appears twice/],
    ['trailing <GS>', `010950600013435217261231${'10A'}${GS}21X${GS}`, /ends with a <GS>/],
    ['not a GS1 symbology', ']E0010950600013435217261231', /not a GS1 symbology identifier/],
    ['empty', '', /empty/],
  ];
  for (const [what, input, expected] of bad) {
    test(`refused: ${what}`, () => {
      assert.throws(() => parseElementString(input), expected);
      assert.throws(
        () => parseElementString(input),
        (e) => e instanceof Gs1SyntaxError || e instanceof Gs1CheckDigitError,
      );
    });
  }
  test('the writer refuses what the parser would refuse', () => {
    assert.throws(() => writeElementString({ ...pack, lot: 'A'.repeat(21) }), /at most 20/);
    assert.throws(() => writeElementString({ ...pack, gtin: '09506000134353' }), Gs1CheckDigitError);
  });
});

describe('GS1 Digital Link', () => {
  test('the issue route form /01/{gtin}/10/{lot}/21/{serial}?exp=YYMMDD and the canonical form', () => {
    assert.deepEqual(parseDigitalLink('/01/09506000134352/10/ABC123/21/12345XYZ?exp=261231'), pack);
    const uri = writeDigitalLink(pack);
    assert.equal(uri, 'https://id.gs1.org/01/09506000134352/10/ABC123/21/12345XYZ?17=261231');
    assert.deepEqual(parseDigitalLink(uri), pack);
  });
  test('custom domain and path prefix; GTIN-13 padded; percent-encoded values decoded; other attributes ignored', () => {
    const id = parseDigitalLink(
      'https://example.com/some/prefix/01/9506000134352/10/A%2FB%25/21/x%3Dy?linkType=all&17=261200',
    );
    assert.deepEqual(id, { gtin: '09506000134352', lot: 'A/B%', serial: 'x=y', expiry: '261200' });
    assert.equal(writeDigitalLink(id), 'https://id.gs1.org/01/09506000134352/10/A%2FB%25/21/x%3Dy?17=261200');
    assert.deepEqual(parseDigitalLink('https://id.gs1.org/01/09520123456788'), { gtin: '09520123456788' });
    // A lot "." must not be taken for a dot segment (as WHATWG URL parsing would).
    const dots = { gtin: '09520123456788', lot: '.', serial: '..' };
    assert.deepEqual(parseDigitalLink(writeDigitalLink(dots)), dots);
    assert.deepEqual(parseDigitalLink('/01/09520123456788/10/./21/%2E%2E'), dots);
  });
  const bad: [string, string, RegExp | (new (...a: never[]) => Error)][] = [
    ['wrong check digit', '/01/09506000134353/21/1', Gs1CheckDigitError],
    ['serial before lot', '/01/09506000134352/21/1/10/A', /order 22, 10, 21/],
    ['unknown qualifier', '/01/09506000134352/99/1', /not a key qualifier/],
    ['AI without value', '/01/09506000134352/21', /without a value/],
    ['no GTIN', 'https://id.gs1.org/00/376104250021234569', /no \/01\//],
    ['two expiries', '/01/09506000134352/21/1?17=261231&exp=261230', /two different expiry/],
    ['bad expiry', '/01/09506000134352/21/1?exp=2612', /date YYMMDD/],
    ['bad percent-encoding', '/01/09506000134352/21/%E0%A4%A', /not valid percent-encoding/],
    ['serial over 20', `/01/09506000134352/21/${'1'.repeat(21)}`, /at most 20/],
    ['not http', 'ftp://x/01/09506000134352', /http\(s\)/],
    ['a space in the lot', '/01/09506000134352/10/A%20B', /character set 82/],
  ];
  for (const [what, input, expected] of bad) {
    test(`refused: ${what}`, () => {
      assert.throws(() => parseDigitalLink(input), expected);
    });
  }
  test('parseScan takes either form', () => {
    assert.deepEqual(parseScan(` ${writeDigitalLink(pack)}\n`), pack);
    assert.deepEqual(parseScan(writeElementString(pack)), pack);
  });
});

describe('GS1 dates', () => {
  const now = new Date('2026-06-01T00:00:00Z');
  test('end of the named day; DD = 00 is the end of the month; the century follows the sliding window', () => {
    assert.equal(gs1DateEnd('261231', now), Date.UTC(2027, 0, 1));
    assert.equal(gs1DateEnd('260200', now), Date.UTC(2026, 2, 1));
    assert.equal(gs1DateEnd('991231', now), Date.UTC(2000, 0, 1), '99 is 73 years ahead: last century');
    assert.equal(gs1DateEnd('751231', now), Date.UTC(2076, 0, 1), '75 is 49 years ahead: this century');
    assert.equal(gs1DateEnd('770101', now), Date.UTC(1977, 0, 2), '77 is 51 years ahead: last century');
    assert.throws(() => gs1DateEnd('270229', now), /not a date in 2027/);
    assert.equal(gs1DateEnd('280229', now), Date.UTC(2028, 2, 1));
  });
});
