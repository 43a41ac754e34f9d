import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidInputError } from '../errors.js';
import { withCheckDigit } from '../supply/gs1CheckDigit.js';
import {
  parsePartyAnswer,
  parsePartyRequest,
  parseShipmentNotice,
  shipmentNoticeBody,
} from './supplyShipmentWire.js';

const GTIN = withCheckDigit('0952123400011');
const SSCC = withCheckDigit('09521234000000001');
const PALLET = withCheckDigit('09521234000000003');
const H = `0x${'ab'.repeat(32)}` as const;
const unit = (serial: string) => ({
  gtin: GTIN,
  serial,
  lot: 'L1',
  expiry: '301231',
  commitment: H,
  batch: 3,
  proof: [H],
});
const good = () => ({
  id: '0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  to: '0x00000000000000000000000000000000000000aa',
  fromGln: '9525678000004',
  shippedAt: '2026-01-02T03:04:05.000Z',
  shippingEventHash: `ni:///sha-256;${'cd'.repeat(32)}?ver=CBV2.0`,
  units: [unit('A1'), unit('A2'), unit('A3')],
  cases: [
    {
      sscc: SSCC,
      units: [
        { gtin: GTIN, serial: 'A1' },
        { gtin: GTIN, serial: 'A2' },
      ],
    },
  ],
});

describe('shipment notice wire', () => {
  test('round trip: the body parses back to the same notice', () => {
    const n = parseShipmentNotice(good());
    assert.deepEqual(parseShipmentNotice(JSON.parse(shipmentNoticeBody(n))), n);
    assert.equal(n.to, '0x00000000000000000000000000000000000000AA', 'the address checksummed');
    assert.ok(!('pallets' in JSON.parse(shipmentNoticeBody(n))), 'no pallets: the body is as before pallets');
    const p = parseShipmentNotice({ ...good(), pallets: [{ sscc: PALLET, cases: [SSCC] }] });
    assert.deepEqual(p.pallets, [{ sscc: PALLET, cases: [SSCC] }]);
    assert.deepEqual(parseShipmentNotice(JSON.parse(shipmentNoticeBody(p))), p);
  });

  const bad: [string, (b: ReturnType<typeof good>) => unknown, RegExp][] = [
    ['a field that rides along', (b) => ({ ...b, price: 1 }), /"price" is not part/],
    [
      'a unit field that rides along',
      (b) => ({ ...b, units: [{ ...unit('A1'), patient: 'x' }] }),
      /"patient" is not part/,
    ],
    ['a missing field', ({ cases: _c, ...b }) => b, /cases is missing/],
    ['no units', (b) => ({ ...b, units: [], cases: [] }), /1 to 2000 units/],
    ['a bad id', (b) => ({ ...b, id: 'x' }), /UUID/],
    ['a bad address', (b) => ({ ...b, to: '0x12' }), /chain address/],
    [
      'a GLN with a wrong check digit',
      (b) => ({ ...b, fromGln: '9525678000005' }),
      /GLN 9525678000005 has check digit/,
    ],
    ['a bad event hash', (b) => ({ ...b, shippingEventHash: 'sha256:00' }), /CBV 2.0 event hash/],
    [
      'a GTIN with a wrong check digit',
      (b) => ({
        ...b,
        units: [{ ...unit('A1'), gtin: `${GTIN.slice(0, 13)}${(Number(GTIN.at(-1)) + 1) % 10}` }],
      }),
      /check digit/,
    ],
    ['a GTIN-13', (b) => ({ ...b, units: [{ ...unit('A1'), gtin: GTIN.slice(1) }], cases: [] }), /GTIN-14/],
    ['a unit twice', (b) => ({ ...b, units: [unit('A1'), unit('A1')] }), /listed twice/],
    [
      'a commitment in upper case',
      (b) => ({ ...b, units: [{ ...unit('A1'), commitment: H.toUpperCase() }] }),
      /commitment must be 32 bytes/,
    ],
    ['a negative batch', (b) => ({ ...b, units: [{ ...unit('A1'), batch: -1 }] }), /batch must be/],
    ['a long proof', (b) => ({ ...b, units: [{ ...unit('A1'), proof: Array(33).fill(H) }] }), /at most 32/],
    [
      'an SSCC with a wrong check digit',
      (b) => ({
        ...b,
        cases: [{ ...b.cases[0], sscc: `${SSCC.slice(0, 17)}${(Number(SSCC.at(-1)) + 1) % 10}` }],
      }),
      /SSCC .* has check digit/,
    ],
    [
      'a case packing a unit not shipped',
      (b) => ({ ...b, cases: [{ sscc: SSCC, units: [{ gtin: GTIN, serial: 'ZZ' }] }] }),
      /not among shipment.units/,
    ],
    [
      'a unit in two cases',
      (b) => ({
        ...b,
        cases: [
          b.cases[0],
          { sscc: withCheckDigit('09521234000000002'), units: [{ gtin: GTIN, serial: 'A1' }] },
        ],
      }),
      /packed in two cases/,
    ],
    ['an empty case', (b) => ({ ...b, cases: [{ sscc: SSCC, units: [] }] }), /units must list/],
    ['an empty pallet list', (b) => ({ ...b, pallets: [] }), /pallets must list/],
    [
      'a pallet holding a case not shipped',
      (b) => ({ ...b, pallets: [{ sscc: PALLET, cases: [withCheckDigit('09521234000000002')] }] }),
      /not among shipment.cases/,
    ],
    [
      'a pallet that is also a case',
      (b) => ({ ...b, pallets: [{ sscc: SSCC, cases: [SSCC] }] }),
      /listed twice/,
    ],
    [
      'a case on two pallets',
      (b) => ({
        ...b,
        pallets: [
          { sscc: PALLET, cases: [SSCC] },
          { sscc: withCheckDigit('09521234000000004'), cases: [SSCC] },
        ],
      }),
      /on two pallets/,
    ],
    ['a pallet with no cases', (b) => ({ ...b, pallets: [{ sscc: PALLET, cases: [] }] }), /cases must list/],
    [
      'a pallet field that rides along',
      (b) => ({ ...b, pallets: [{ sscc: PALLET, cases: [SSCC], weight: 3 }] }),
      /"weight" is not part/,
    ],
    ['not an object', () => [], /send a shipment notice/],
  ];
  for (const [what, mutate, message] of bad)
    test(`refused: ${what}`, () => {
      assert.throws(
        () => parseShipmentNotice(mutate(good())),
        (e: unknown) => e instanceof InvalidInputError && message.test(e.message),
      );
    });
});

describe('party request and answer', () => {
  test('only {} asks; only {gln} with a valid GLN answers', () => {
    parsePartyRequest({});
    assert.throws(() => parsePartyRequest({ gln: '9525678000004' }), InvalidInputError);
    assert.throws(() => parsePartyRequest([]), InvalidInputError);
    assert.deepEqual(parsePartyAnswer({ gln: '9525678000004' }), { gln: '9525678000004' });
    assert.throws(() => parsePartyAnswer({ gln: '9525678000005' }), InvalidInputError);
    assert.throws(() => parsePartyAnswer({ gln: '9525678000004', extra: 1 }), InvalidInputError);
  });
});
