import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  canonicalTime,
  type EpcisEventJson,
  epcisEventHash,
  epcisPreHash,
  eventHashDigest,
} from './epcisHash.js';
import { EpcisEventError } from './supplyErrors.js';

interface Vectors {
  excluded: { document: string; reason: string }[];
  documents: {
    name: string;
    context: Record<string, string>;
    events: { event: EpcisEventJson; preHash: string | null; hash: string }[];
  }[];
}
/**
 * The published examples of the reference implementation (github.com/RalphTro/epcis-event-hash-generator,
 * tests/examples: events, pre-hash strings and hashes) are third-party data this repository does
 * not carry. The test reads them from EPCIS_HASH_VECTORS, or from shared/vectors/ beside the
 * checkout when the steering side keeps them there, and says so when it skips.
 */
const vectorFile = [
  process.env.EPCIS_HASH_VECTORS,
  fileURLToPath(new URL('../../../shared/vectors/epcis-event-hash.json', import.meta.url)),
].find((f): f is string => f !== undefined && existsSync(f));
const vectors: Vectors | undefined = vectorFile
  ? (JSON.parse(readFileSync(vectorFile, 'utf8')) as Vectors)
  : undefined;

describe("EPCIS event hash: the reference implementation's published examples", () => {
  if (!vectors) {
    test.skip('no vector file: set EPCIS_HASH_VECTORS (see docs/supply-chain.md)');
    return;
  }
  for (const doc of vectors.documents) {
    doc.events.forEach((v, i) => {
      test(`${doc.name} event ${i}`, () => {
        if (v.preHash !== null) assert.equal(epcisPreHash(v.event, doc.context), v.preHash);
        assert.equal(epcisEventHash(v.event, doc.context), v.hash);
      });
    });
  }
  test('at least 20 published events are compared', () => {
    assert.ok(vectors.documents.reduce((n, d) => n + d.events.length, 0) >= 20);
  });
});

const event: EpcisEventJson = {
  type: 'ObjectEvent',
  eventTime: '2026-03-01T10:00:00.000+01:00',
  eventTimeZoneOffset: '+01:00',
  epcList: ['https://id.gs1.org/01/09506000134352/21/A1', 'https://id.gs1.org/01/09506000134352/21/A2'],
  action: 'ADD',
  bizStep: 'commissioning',
  disposition: 'active',
  readPoint: { id: 'https://id.gs1.org/414/9506000134369' },
  sourceList: [{ type: 'owning_party', source: 'https://id.gs1.org/417/9506000134369' }],
  ilmd: { 'cbvmda:lotNumber': 'L1', 'cbvmda:itemExpirationDate': '2027-12-31' },
};
const hash = epcisEventHash(event);
const clone = (): EpcisEventJson => structuredClone(event);

describe('EPCIS event hash: same event, same hash', () => {
  const same: [string, (e: EpcisEventJson) => void][] = [
    ['epcList reordered', (e) => (e.epcList as string[]).reverse()],
    [
      'keys in reverse order',
      (e) => {
        const entries = Object.entries(e).reverse();
        for (const [k] of entries) delete e[k];
        Object.assign(e, Object.fromEntries(entries));
      },
    ],
    ['the same instant in UTC without milliseconds', (e) => (e.eventTime = '2026-03-01T09:00:00Z')],
    ['sub-millisecond digits rounded away', (e) => (e.eventTime = '2026-03-01T09:00:00.0004Z')],
    ['CBV URN for the bare word', (e) => (e.bizStep = 'urn:epcglobal:cbv:bizstep:commissioning')],
    ['CBV web URI for the bare word', (e) => (e.disposition = 'https://ref.gs1.org/cbv/Disp-active')],
    ['the EPC URN of the read point', (e) => (e.readPoint = { id: 'urn:epc:id:sgln:9506000.13436.0' })],
    [
      'a Digital Link on another domain with lot and query',
      (e) =>
        ((e.epcList as string[])[0] = 'https://pharma.example.com/01/09506000134352/10/L1/21/A1?17=271231'),
    ],
    ['whitespace around a value', (e) => (e.bizStep = ' commissioning ')],
    [
      'eventID and recordTime (not content)',
      (e) => Object.assign(e, { eventID: 'urn:uuid:1', recordTime: '2026-03-02T00:00:00Z' }),
    ],
  ];
  for (const [what, change] of same) {
    test(what, () => {
      const e = clone();
      change(e);
      assert.equal(epcisEventHash(e), hash);
    });
  }
});

describe('EPCIS event hash: corrupt it and it changes', () => {
  const changed: [string, (e: EpcisEventJson) => void][] = [
    ['one serial', (e) => ((e.epcList as string[])[1] = 'https://id.gs1.org/01/09506000134352/21/A3')],
    ['a unit dropped', (e) => (e.epcList as string[]).pop()],
    ['a unit added', (e) => (e.epcList as string[]).push('https://id.gs1.org/01/09506000134352/21/A3')],
    ['time + 1 ms', (e) => (e.eventTime = '2026-03-01T09:00:00.001Z')],
    ['action', (e) => (e.action = 'OBSERVE')],
    ['bizStep', (e) => (e.bizStep = 'shipping')],
    ['disposition', (e) => (e.disposition = 'recalled')],
    ['read point', (e) => (e.readPoint = { id: 'https://id.gs1.org/414/9506000134376' })],
    [
      'source type',
      (e) =>
        ((e.sourceList as { type: string }[])[0] = {
          type: 'possessing_party',
          source: 'https://id.gs1.org/417/9506000134369',
        } as never),
    ],
    ['lot in ILMD', (e) => ((e.ilmd as Record<string, string>)['cbvmda:lotNumber'] = 'L2')],
    [
      'expiry in ILMD',
      (e) => ((e.ilmd as Record<string, string>)['cbvmda:itemExpirationDate'] = '2027-12-30'),
    ],
    ['ILMD removed', (e) => delete e.ilmd],
    ['an extension added', (e) => (e['gs1:note'] = 'x')],
    ['event type', (e) => (e.type = 'TransactionEvent')],
  ];
  for (const [what, change] of changed) {
    test(what, () => {
      const e = clone();
      change(e);
      assert.notEqual(epcisEventHash(e), hash);
    });
  }
});

describe('EPCIS event hash: refusals and helpers', () => {
  test('unsupported fields and bad values are refused, not hashed', () => {
    assert.throws(() => epcisEventHash({ ...clone(), sensorElementList: [] }), EpcisEventError);
    assert.throws(
      () => epcisEventHash({ ...clone(), readPoint: { id: 'x', 'ex:f': '1' } }),
      /inside readPoint/,
    );
    assert.throws(() => epcisEventHash({ ...clone(), eventTime: 'yesterday' }), /xsd:dateTimeStamp/);
    assert.throws(() => epcisEventHash({ ...clone(), 'nope:field': '1' }), /namespace prefix/);
    assert.throws(() => epcisEventHash({ ...clone(), epcList: 'x' }), /must be a list/);
  });
  test('canonical times: UTC, milliseconds, the 4th decimal rounds', () => {
    assert.equal(canonicalTime('2023-01-18T11:04:03.1415Z'), '2023-01-18T11:04:03.142Z');
    assert.equal(canonicalTime('2023-01-18T12:04:03+01:00'), '2023-01-18T11:04:03.000Z');
    assert.equal(canonicalTime('2023-01-18T11:04:03.9996Z'), '2023-01-18T11:04:04.000Z');
  });
  test('the digest of a hash ID is its 32 bytes; other forms are refused', () => {
    assert.match(eventHashDigest(hash), /^0x[0-9a-f]{64}$/);
    assert.throws(() => eventHashDigest('ni:///sha-384;00?ver=CBV2.0'), EpcisEventError);
  });
});
