import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  aggregationEvent,
  commissioningEvent,
  decommissioningEvent,
  destructionEvent,
  dispensingEvent,
  epcisDocument,
  receivingEvent,
  shippingEvent,
  ssccEpc,
  unitEpc,
} from './epcisEvents.js';
import { epcisEventHash, epcisPreHash } from './epcisHash.js';
import { EpcisEventError, Gs1SyntaxError } from './supplyErrors.js';

const plant = '9506000134369';
const wholesaler = '9506000134376';
const ctx = { time: new Date('2026-03-01T09:00:00Z'), location: plant };
const units = ['A1', 'A2', 'A3'].map((serial) => ({
  gtin: '09506000134352',
  serial,
  lot: 'L1',
  expiry: '271200',
}));
const case1 = '395060001343600017';

describe('EPCIS event builders', () => {
  test('commissioning: ObjectEvent ADD with the lot master data; its pre-hash carries the ILMD', () => {
    const e = commissioningEvent(units, ctx);
    assert.equal(e.type, 'ObjectEvent');
    assert.equal(e.action, 'ADD');
    assert.equal(e.bizStep, 'commissioning');
    assert.deepEqual(e.epcList, units.map(unitEpc));
    assert.equal((e.epcList as string[])[0], 'https://id.gs1.org/01/09506000134352/21/A1');
    assert.deepEqual(e.ilmd, { 'cbvmda:lotNumber': 'L1', 'cbvmda:itemExpirationDate': '2027-12-31' });
    assert.match(
      epcisPreHash(e),
      /ilmd\{urn:epcglobal:cbv:mda:\}itemExpirationDate=2027-12-31\{urn:epcglobal:cbv:mda:\}lotNumber=L1$/,
    );
    assert.match(epcisEventHash(e), /^ni:\/\/\/sha-256;[0-9a-f]{64}\?ver=CBV2\.0$/);
  });
  test('aggregation into an SSCC and back out', () => {
    const pack = aggregationEvent(case1, units.map(unitEpc), ctx);
    assert.equal(pack.parentID, ssccEpc(case1));
    assert.equal(pack.bizStep, 'packing');
    const unpack = aggregationEvent(case1, units.map(unitEpc), ctx, 'DELETE');
    assert.equal(unpack.action, 'DELETE');
    assert.notEqual(epcisEventHash(pack), epcisEventHash(unpack));
  });
  test('shipping and receiving name the same parties and despatch advice', () => {
    const transfer = { from: plant, to: wholesaler, despatchAdvice: 'ASN-7' };
    const ship = shippingEvent([ssccEpc(case1)], transfer, ctx);
    const recv = receivingEvent([ssccEpc(case1)], transfer, { ...ctx, location: wholesaler });
    assert.equal(ship.disposition, 'in_transit');
    assert.equal(recv.bizStep, 'receiving');
    assert.deepEqual(ship.destinationList, recv.destinationList);
    assert.deepEqual(ship.bizTransactionList, [
      { type: 'desadv', bizTransaction: `urn:epcglobal:cbv:bt:${plant}:ASN-7` },
    ]);
    assert.match(
      epcisPreHash(ship),
      /destinationListtype=https:\/\/ref.gs1.org\/cbv\/SDT-owning_partydestination=https:\/\/id.gs1.org\/417\/9506000134376/,
    );
  });
  test('dispensing, decommissioning and destruction', () => {
    const epc = [unitEpc(units[0] as (typeof units)[0])];
    assert.deepEqual(
      [dispensingEvent(epc, ctx), decommissioningEvent(epc, ctx), destructionEvent(epc, ctx)].map((e) => [
        e.action,
        e.bizStep,
        e.disposition,
      ]),
      [
        ['OBSERVE', 'dispensing', 'dispensed'],
        ['DELETE', 'decommissioning', 'inactive'],
        ['DELETE', 'destroying', 'destroyed'],
      ],
    );
  });
  test('a document wraps events with the EPCIS 2.0 context', () => {
    const doc = epcisDocument([dispensingEvent([unitEpc(units[0] as (typeof units)[0])], ctx)], ctx.time);
    assert.equal(doc.type, 'EPCISDocument');
    assert.equal(doc.schemaVersion, '2.0');
    assert.equal(doc.epcisBody.eventList.length, 1);
  });
  const bad: [string, () => unknown, RegExp | (new (...a: never[]) => Error)][] = [
    ['no units', () => commissioningEvent([], ctx), EpcisEventError],
    [
      'mixed lots',
      () =>
        commissioningEvent([...units, { ...(units[0] as (typeof units)[0]), serial: 'B', lot: 'L2' }], ctx),
      /one GTIN, lot and expiry/,
    ],
    ['a unit twice', () => dispensingEvent(['x', 'x'], ctx), /twice/],
    ['a bad GLN', () => dispensingEvent(['x'], { ...ctx, location: '9506000134360' }), Gs1SyntaxError],
    ['a bad SSCC', () => aggregationEvent('395060001343600019', ['x'], ctx), /check digit/],
    ['an invalid time', () => dispensingEvent(['x'], { ...ctx, time: new Date('x') }), /valid date/],
  ];
  for (const [what, build, expected] of bad) {
    test(`refused: ${what}`, () => assert.throws(build, expected));
  }
});
