/**
 * Custody through the API over real sockets (issue 14): a manufacturer commissions a lot packed in
 * cases, ships it to the distributor, which receives it (checking what arrived), ships a case on to
 * the pharmacy, where a pharmacist verifies a unit of it. Then what must be refused: a case whose
 * contents differ from its aggregation, a diverted unit, a receipt by a member nothing was shipped
 * to, and bad input, each with nothing recorded. Four nodes (test/support/supplyNetwork.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import {
  type Json,
  type SupplyMemberName,
  type SupplyNetwork,
  startSupplyNetwork,
} from '../../test/support/supplyNetwork.js';
import { memberAuthHeader } from '../access/memberAuth.js';
import { drugLedgerContract } from '../chain/contracts.js';
import { decodeEntry, type LogEntry } from '../log/entry.js';
import { CustodyStore } from '../store/custodyStore.js';
import { parseSscc, withCheckDigit } from './gs1CheckDigit.js';

let net: SupplyNetwork;
const GTIN = withCheckDigit('0952123400042');
const LOT = 'CUS2701';
const EXPIRY = '300131';
/** The commissioning answer of the lot every test here ships from. */
let lot: Json;

const node = (m: SupplyMemberName) => {
  const n = net.members[m].node;
  assert.ok(n, `${m} is served`);
  return n;
};
const custody = (m: SupplyMemberName) => new CustodyStore(node(m).db);
const ledger = () => {
  const l = drugLedgerContract(net.conn, net.manifest);
  assert.ok(l);
  return l;
};
const addressOf = (m: SupplyMemberName) => net.members[m].identity.address;
const custodianOf = async (m: SupplyMemberName, u: { gtin: string; serial: string }): Promise<Address> => {
  const s = node(m).units.unit(u.gtin, u.serial);
  assert.ok(s, `${m} holds a record of ${u.serial}`);
  const [custodian] = await ledger().read.stateOf([{ id: s.commitment, batch: s.batch, proof: s.proof }]);
  return custodian as Address;
};
const entries = (m: SupplyMemberName, action: string): LogEntry[] => {
  const log = node(m).log;
  return log
    .entries(0, log.size)
    .map((e) => decodeEntry(e.leaf))
    .filter((e) => e.action === action);
};
const problems = (body: Json): string[] =>
  (body.issue as Json[]).slice(1).map((i) => `${i.details.coding[0].code} ${i.expression[0]}`);
const caseAt = (k: number) => lot.cases[k] as { sscc: string; units: { gtin: string; serial: string }[] };

before(async () => {
  net = await startSupplyNetwork();
  await net.serve();
  const r = await net.as('manufacturer', 'admin', 'POST', '/supply/commission', {
    gtin: GTIN,
    lot: LOT,
    expiry: EXPIRY,
    count: 14,
    caseSize: 4,
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  lot = r.body;
});
after(() => net?.close());

describe('commission, ship, receive, ship on, verify', () => {
  test('commissioning: 14 units in one batch, four cases with SSCCs under the prefix; events and log', async () => {
    assert.equal(lot.units.length, 14);
    assert.equal(new Set(lot.units.map((u: Json) => u.serial)).size, 14);
    assert.deepEqual(
      lot.cases.map((c: Json) => c.units.length),
      [4, 4, 4, 2],
    );
    for (const c of lot.cases) {
      assert.equal(parseSscc(c.sscc), c.sscc, 'a valid SSCC');
      assert.equal(c.sscc.slice(1, 8), '9521234', 'under the manufacturer’s company prefix');
    }
    const b = await ledger().read.batchAt([lot.batch]);
    assert.equal(b.count, 14);
    assert.equal(b.custodian, addressOf('manufacturer'));
    assert.equal(b.gtin, BigInt(GTIN));
    const events = node('manufacturer')
      .units.events()
      .map((e) => e.event as Json);
    assert.equal(
      events.filter((e) => e.bizStep === 'commissioning' && e.ilmd?.['cbvmda:lotNumber'] === LOT).length,
      1,
    );
    assert.equal(events.filter((e) => e.type === 'AggregationEvent').length, 4);
    assert.deepEqual(
      custody('manufacturer').caseUnits(caseAt(3).sscc),
      [...caseAt(3).units].sort((a, b) => a.serial.localeCompare(b.serial)),
    );
    assert.ok(
      entries('manufacturer', 'supply-commission').some(
        (e) => e.outcome === 'permit' && e.reason === 'commissioned',
      ),
    );
  });

  test('the whole lot to the distributor (transferBatch), received with one case opened; a case on to the pharmacy (transferUnits), a pharmacist verifies a unit of it', async () => {
    const shipped = await net.as('manufacturer', 'admin', 'POST', '/supply/ship', {
      to: 'distributor',
      cases: lot.cases.map((c: Json) => c.sscc),
    });
    assert.equal(shipped.status, 200, JSON.stringify(shipped.body));
    assert.equal(shipped.body.delivered, true, shipped.body.message);
    assert.equal(shipped.body.units, 14);
    assert.equal(shipped.body.txHashes.length, 1, 'one transferBatch for the whole batch');
    assert.equal((await ledger().read.batchAt([lot.batch])).custodian, addressOf('distributor'));
    // Announced, not yet received: the distributor holds no record of the units until it checks them.
    assert.equal(node('distributor').units.unit(GTIN, caseAt(0).units[0]?.serial as string), undefined);
    const inbound = await net.as('distributor', 'admin', 'GET', '/supply/shipments?direction=in');
    assert.equal(inbound.status, 200);
    assert.equal(inbound.body.shipments[0].id, shipped.body.shipment);
    assert.equal(inbound.body.shipments[0].status, 'in-transit');

    const received = await net.as('distributor', 'admin', 'POST', '/supply/receive', {
      cases: [
        { sscc: caseAt(0).sscc, units: caseAt(0).units },
        caseAt(1).sscc,
        caseAt(2).sscc,
        caseAt(3).sscc,
      ],
      units: [],
    });
    assert.equal(received.status, 200, JSON.stringify(received.body));
    assert.equal(received.body.shipment, shipped.body.shipment);
    assert.equal(received.body.units, 14);
    assert.ok(node('distributor').units.unit(GTIN, caseAt(0).units[0]?.serial as string));
    assert.deepEqual(custody('distributor').caseUnits(caseAt(0).sscc)?.length, 4);
    const receiving = node('distributor')
      .units.events()
      .map((e) => e.event as Json)
      .filter(
        (e) =>
          e.bizStep === 'receiving' &&
          e.bizTransactionList?.[0]?.bizTransaction.endsWith(shipped.body.shipment),
      );
    assert.equal(receiving.length, 1);
    assert.equal(receiving[0].epcList.length, 4, 'the four cases, by their SSCCs');

    const onward = await net.as('distributor', 'admin', 'POST', '/supply/ship', {
      to: addressOf('pharmacy'),
      cases: [caseAt(0).sscc],
    });
    assert.equal(onward.status, 200, JSON.stringify(onward.body));
    assert.equal(onward.body.txHashes.length, 1, 'one transferUnits for four units of a larger batch');
    for (const u of caseAt(0).units) assert.equal(await custodianOf('distributor', u), addressOf('pharmacy'));
    const atPharmacy = await net.as('pharmacy', 'pharmacist', 'POST', '/supply/receive', {
      shipment: onward.body.shipment,
    });
    assert.equal(atPharmacy.status, 200, JSON.stringify(atPharmacy.body));

    const u = caseAt(0).units[0] as { gtin: string; serial: string };
    const v = await net.as(
      'pharmacy',
      'pharmacist',
      'GET',
      `/supply/verify/01/${u.gtin}/10/${LOT}/21/${u.serial}?exp=${EXPIRY}`,
    );
    assert.equal(v.status, 200);
    assert.deepEqual(v.body.data, { verified: true });
    assert.equal(v.body.saleable, true);
    assert.ok(
      entries('pharmacy', 'supply-receive').some((e) => e.outcome === 'permit' && e.reason === 'received'),
    );
    assert.ok(
      entries('distributor', 'supply-ship').some(
        (e) => e.actor === `member:${addressOf('manufacturer')}` && e.reason === 'accepted',
      ),
    );
  });
});

describe('what arrived does not match: refused with every finding, nothing recorded', () => {
  let shipment: string;
  before(async () => {
    // Case 1 goes to the pharmacy; cases 2 and 3 stay at the distributor.
    const r = await net.as('distributor', 'admin', 'POST', '/supply/ship', {
      to: 'pharmacy',
      cases: [caseAt(1).sscc],
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    shipment = r.body.shipment;
  });

  const nothingRecorded = () => {
    assert.equal(node('pharmacy').units.unit(GTIN, caseAt(1).units[0]?.serial as string), undefined);
    assert.equal(custody('pharmacy').shipmentsWithId('in', shipment)[0]?.status, 'in-transit');
    assert.equal(custody('pharmacy').caseUnits(caseAt(1).sscc), undefined);
  };

  test('an opened case with a unit missing', async () => {
    const r = await net.as('pharmacy', 'pharmacist', 'POST', '/supply/receive', {
      shipment,
      cases: [{ sscc: caseAt(1).sscc, units: caseAt(1).units.slice(0, 3) }],
      units: [],
    });
    assert.equal(r.status, 409);
    assert.deepEqual(problems(r.body), [`case-contents ${caseAt(1).sscc}`]);
    const d = JSON.parse(r.body.issue[1].diagnostics);
    assert.equal(d.missing.length, 1);
    assert.ok(d.missing[0].endsWith(`/21/${caseAt(1).units[3]?.serial}`));
    nothingRecorded();
    assert.ok(
      entries('pharmacy', 'supply-receive').some(
        (e) => e.outcome === 'deny' && e.reason === 'receipt-mismatch',
      ),
    );
  });

  test('a unit swapped for one held by the distributor: the case mismatch, and the stray is diverted', async () => {
    const stray = caseAt(2).units[0] as { gtin: string; serial: string };
    const r = await net.as('pharmacy', 'pharmacist', 'POST', '/supply/receive', {
      shipment,
      cases: [{ sscc: caseAt(1).sscc, units: [...caseAt(1).units.slice(0, 3), stray] }],
      units: [],
    });
    assert.equal(r.status, 409);
    assert.deepEqual(problems(r.body), [
      `case-contents ${caseAt(1).sscc}`,
      `diverted ${stray.gtin}/${stray.serial}`,
    ]);
    nothingRecorded();
  });

  test('a loose unit that is in no shipment to the pharmacy, scanned alone: diverted (its custodian is the distributor)', async () => {
    const stray = caseAt(2).units[1] as { gtin: string; serial: string };
    const r = await net.as('pharmacy', 'pharmacist', 'POST', '/supply/receive', { units: [stray] });
    assert.equal(r.status, 409);
    assert.deepEqual(problems(r.body), [
      `unit-not-in-shipment ${stray.gtin}/${stray.serial}`,
      `diverted ${stray.gtin}/${stray.serial}`,
    ]);
    assert.equal(await custodianOf('distributor', stray), addressOf('distributor'), 'custody unchanged');
  });

  test('a case missing from what arrived, and one that is not in the shipment', async () => {
    const r = await net.as('pharmacy', 'pharmacist', 'POST', '/supply/receive', {
      shipment,
      cases: [caseAt(2).sscc],
    });
    assert.equal(r.status, 409);
    assert.deepEqual(problems(r.body), [
      `case-not-in-shipment ${caseAt(2).sscc}`,
      `case-missing ${caseAt(1).sscc}`,
    ]);
    nothingRecorded();
  });

  test('a receipt by a member nothing was shipped to: the shipment is unknown there, its units diverted', async () => {
    const r = await net.as('hospital', 'admin', 'POST', '/supply/receive', { shipment });
    assert.equal(r.status, 404);
    const u = caseAt(1).units[0] as { gtin: string; serial: string };
    const scanned = await net.as('hospital', 'admin', 'POST', '/supply/receive', {
      cases: [caseAt(1).sscc],
      units: [u],
    });
    assert.equal(scanned.status, 409);
    assert.deepEqual(problems(scanned.body), [
      `case-not-in-shipment ${caseAt(1).sscc}`,
      `unit-not-in-shipment ${u.gtin}/${u.serial}`,
      `diverted ${u.gtin}/${u.serial}`,
    ]);
    assert.equal(node('hospital').units.count(), 0);
  });

  test('then the right contents are received', async () => {
    const r = await net.as('pharmacy', 'pharmacist', 'POST', '/supply/receive', {
      shipment,
      cases: [{ sscc: caseAt(1).sscc, units: [...caseAt(1).units].reverse() }],
      units: [],
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const again = await net.as('pharmacy', 'pharmacist', 'POST', '/supply/receive', { shipment });
    assert.equal(again.status, 409, 'received once');
  });
});

describe('bad input: a clear 4xx and nothing recorded', () => {
  test('commissioning, shipping, receiving and the wire', async () => {
    const m = node('manufacturer');
    const before = {
      units: m.units.count(),
      events: m.units.events().length,
      batches: await ledger().read.batchCount(),
    };
    const denials = entries('manufacturer', 'supply-commission').filter((e) => e.outcome === 'deny').length;
    const ok = { gtin: withCheckDigit('0952123400059'), lot: 'BAD1', expiry: EXPIRY, count: 3 };
    const flip = (key: string) => `${key.slice(0, -1)}${(Number(key.at(-1)) + 1) % 10}`;
    const foreign = withCheckDigit('0952999900011');
    const badGtin = flip(ok.gtin);
    const badSscc = flip(withCheckDigit('09521234000000001'));
    const cases: [string, SupplyMemberName, string, string, string, unknown, number, RegExp][] = [
      [
        'unknown GTIN prefix',
        'manufacturer',
        'admin',
        'POST',
        '/supply/commission',
        { ...ok, gtin: foreign },
        400,
        new RegExp(`GTIN ${foreign} is not under a GS1 company prefix this member claimed`),
      ],
      [
        'a GTIN with a wrong check digit',
        'manufacturer',
        'admin',
        'POST',
        '/supply/commission',
        { ...ok, gtin: badGtin },
        400,
        new RegExp(`GTIN ${badGtin} has check digit ${badGtin.at(-1)} but`),
      ],
      [
        'count 0',
        'manufacturer',
        'admin',
        'POST',
        '/supply/commission',
        { ...ok, count: 0 },
        400,
        /count must be a whole number from 1 to 10000/,
      ],
      [
        'count 10001',
        'manufacturer',
        'admin',
        'POST',
        '/supply/commission',
        { ...ok, count: 10_001 },
        400,
        /count must be/,
      ],
      [
        'caseSize above count',
        'manufacturer',
        'admin',
        'POST',
        '/supply/commission',
        { ...ok, caseSize: 4 },
        400,
        /caseSize must be/,
      ],
      [
        'an expired lot',
        'manufacturer',
        'admin',
        'POST',
        '/supply/commission',
        { ...ok, expiry: '200101' },
        400,
        /in the past/,
      ],
      [
        'an unknown field',
        'manufacturer',
        'admin',
        'POST',
        '/supply/commission',
        { ...ok, price: 3 },
        400,
        /"price" is not part/,
      ],
      [
        'the wrong role',
        'manufacturer',
        'clinician',
        'POST',
        '/supply/commission',
        ok,
        403,
        /administrators/,
      ],
      [
        'a malformed SSCC (wrong check digit)',
        'manufacturer',
        'admin',
        'POST',
        '/supply/ship',
        { to: 'distributor', cases: [badSscc] },
        400,
        new RegExp(`SSCC ${badSscc} has check digit ${badSscc.at(-1)} but its other digits give`),
      ],
      [
        'a ship to a stranger',
        'manufacturer',
        'admin',
        'POST',
        '/supply/ship',
        { to: 'nobody', units: [{ gtin: lot.units[0].gtin, serial: lot.units[0].serial }] },
        400,
        /no active member/,
      ],
      [
        'a receipt scanning a malformed SSCC',
        'pharmacy',
        'pharmacist',
        'POST',
        '/supply/receive',
        { cases: ['376104250021234568'] },
        400,
        /SSCC 376104250021234568 has check digit 8/,
      ],
      [
        'a receipt by the wrong role',
        'pharmacy',
        'billing',
        'POST',
        '/supply/receive',
        { cases: [caseAt(2).sscc] },
        403,
        /administrators and pharmacists/,
      ],
    ];
    for (const [what, at, role, method, path, body, status, text] of cases) {
      const r = await net.as(at, role, method as 'POST', path, body);
      assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.issue[0].details.text, text, what);
    }
    assert.equal(m.units.count(), before.units);
    assert.equal(m.units.events().length, before.events);
    assert.equal(await ledger().read.batchCount(), before.batches);
    assert.equal(
      entries('manufacturer', 'supply-commission').filter((e) => e.outcome === 'deny').length,
      denials + 8,
      'every refused request is logged',
    );
  });

  test('the wire: a non-member’s signature is a 401, an unknown field a 400', async () => {
    const path = '/federation/supply/shipment';
    const outsider = privateKeyToAccount(generatePrivateKey());
    const body = '{}';
    const r = await fetch(`${net.url('pharmacy')}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: await memberAuthHeader(outsider, addressOf('pharmacy'), 'POST', path, body),
      },
      body,
    });
    assert.equal(r.status, 401);
    const notice = {
      id: '00000000-0000-4000-8000-000000000000',
      to: addressOf('pharmacy'),
      fromGln: '9525678000004',
      shippedAt: new Date().toISOString(),
      shippingEventHash: `ni:///sha-256;${'0'.repeat(64)}?ver=CBV2.0`,
      units: [],
      cases: [],
      note: 'rides along',
    };
    const extra = await net.signedPost('distributor', 'pharmacy', path, notice);
    assert.equal(extra.status, 400);
    assert.match(extra.body.issue[0].details.text, /"note" is not part of a shipment notice/);
    const party = await net.signedPost('distributor', 'pharmacy', '/federation/supply/party', { gln: 'x' });
    assert.equal(party.status, 400);
    assert.equal(custody('pharmacy').shipmentsWithId('in', notice.id).length, 0);
  });
});

describe('pallets: cases packed on an SSCC of their own, shipped and received by its label', () => {
  const PLOT = 'PAL2701';
  let pcases: { sscc: string; units: { gtin: string; serial: string }[] }[];
  let pallet: string;
  const packs = (m: SupplyMemberName) => entries(m, 'supply-pack');

  before(async () => {
    const r = await net.as('manufacturer', 'admin', 'POST', '/supply/commission', {
      gtin: GTIN,
      lot: PLOT,
      expiry: EXPIRY,
      count: 8,
      caseSize: 2,
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    pcases = r.body.cases;
  });

  test('packing: three cases on a new pallet, its AggregationEvent stored and the packing logged', async () => {
    const r = await net.as('manufacturer', 'admin', 'POST', '/supply/pack', {
      cases: pcases.slice(0, 3).map((c) => c.sscc),
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    pallet = r.body.pallet;
    assert.equal(parseSscc(pallet), pallet, 'a valid SSCC');
    assert.ok(!pcases.some((c) => c.sscc === pallet), 'the pallet’s SSCC is its own');
    assert.equal(r.body.units, 6);
    assert.deepEqual(
      custody('manufacturer').palletCases(pallet),
      pcases
        .slice(0, 3)
        .map((c) => c.sscc)
        .sort(),
    );
    const packing = node('manufacturer')
      .units.events()
      .map((e) => e.event as Json)
      .filter((e) => e.type === 'AggregationEvent' && e.parentID.endsWith(`/00/${pallet}`));
    assert.equal(packing.length, 1);
    assert.equal(packing[0].action, 'ADD');
    assert.equal(packing[0].childEPCs.length, 3);
    assert.ok(packs('manufacturer').some((e) => e.outcome === 'permit' && e.reason === 'packed'));
  });

  test('refused, nothing changed and each refusal logged: a packed case, a pallet as a case, an unknown case, a pharmacist, no company prefix, bad input', async () => {
    const denials = packs('manufacturer').filter((e) => e.outcome === 'deny').length;
    const again = await net.as('manufacturer', 'admin', 'POST', '/supply/pack', { cases: [pcases[0]?.sscc] });
    assert.match(again.body.issue[0].details.text, /is on pallet/);
    const nested = await net.as('manufacturer', 'admin', 'POST', '/supply/pack', { cases: [pallet] });
    assert.equal(nested.status, 400);
    const unknown = await net.as('manufacturer', 'admin', 'POST', '/supply/pack', {
      cases: [withCheckDigit('00952123499999999')],
    });
    assert.equal(unknown.status, 404);
    const role = await net.as('manufacturer', 'pharmacist', 'POST', '/supply/pack', {
      cases: [pcases[3]?.sscc],
    });
    assert.equal(role.status, 403);
    for (const body of [
      {},
      { cases: [] },
      { cases: ['123'] },
      { cases: [pcases[3]?.sscc, pcases[3]?.sscc] },
      { cases: 'x', more: 1 },
    ]) {
      const bad = await net.as('manufacturer', 'admin', 'POST', '/supply/pack', body);
      assert.equal(bad.status, 400, JSON.stringify(body));
    }
    assert.equal(again.status, 409);
    assert.equal(custody('manufacturer').palletOf(pcases[3]?.sscc as string), undefined);
    assert.equal(packs('manufacturer').filter((e) => e.outcome === 'deny').length, denials + 9);
    // A case on a pallet does not leave alone.
    const alone = await net.as('manufacturer', 'admin', 'POST', '/supply/ship', {
      to: 'distributor',
      cases: [pcases[0]?.sscc],
    });
    assert.equal(alone.status, 409, JSON.stringify(alone.body));
    assert.match(alone.body.issue[0].details.text, /ship the pallet, or unpack it first/);
  });

  test('the pallet and a loose case to the distributor; a receipt missing the case is refused, by the labels it is received', async () => {
    const shipped = await net.as('manufacturer', 'admin', 'POST', '/supply/ship', {
      to: 'distributor',
      cases: [pallet, pcases[3]?.sscc],
    });
    assert.equal(shipped.status, 200, JSON.stringify(shipped.body));
    assert.deepEqual(shipped.body.pallets, [pallet]);
    assert.equal(shipped.body.cases.length, 4);
    assert.equal(shipped.body.units, 8);
    const shipping = node('manufacturer')
      .units.events()
      .map((e) => e.event as Json)
      .find(
        (e) =>
          e.bizStep === 'shipping' &&
          e.bizTransactionList?.[0]?.bizTransaction.endsWith(shipped.body.shipment),
      );
    assert.deepEqual(
      shipping.epcList.map((x: string) => x.slice(-18)).sort(),
      [pallet, pcases[3]?.sscc].sort(),
      'the event names the pallet and the loose case, not the cases on the pallet',
    );
    const short = await net.as('distributor', 'admin', 'POST', '/supply/receive', {
      cases: [pallet],
      units: [],
    });
    assert.equal(short.status, 409, JSON.stringify(short.body));
    assert.deepEqual(problems(short.body), [`case-missing ${pcases[3]?.sscc}`]);
    assert.equal(custody('distributor').palletCases(pallet), undefined, 'nothing recorded');
    const opened = await net.as('distributor', 'admin', 'POST', '/supply/receive', {
      cases: [{ sscc: pallet, units: pcases[0]?.units }, pcases[3]?.sscc],
      units: [],
    });
    assert.equal(opened.status, 400, 'a pallet is scanned by its label or case by case');
    const received = await net.as('distributor', 'admin', 'POST', '/supply/receive', {
      cases: [pallet, { sscc: pcases[3]?.sscc, units: pcases[3]?.units }],
      units: [],
    });
    assert.equal(received.status, 200, JSON.stringify(received.body));
    assert.deepEqual(received.body.pallets, [pallet]);
    assert.equal(received.body.units, 8);
    assert.deepEqual(
      custody('distributor').palletCases(pallet),
      pcases
        .slice(0, 3)
        .map((c) => c.sscc)
        .sort(),
    );
  });

  test('the distributor, with no company prefix, cannot number a pallet; it unpacks one and ships a case of it on', async () => {
    const pack = await net.as('distributor', 'admin', 'POST', '/supply/pack', { cases: [pcases[3]?.sscc] });
    assert.equal(pack.status, 409, JSON.stringify(pack.body));
    assert.match(pack.body.issue[0].details.text, /company prefix/);
    const unpacked = await net.as('distributor', 'admin', 'POST', '/supply/unpack', { pallet });
    assert.equal(unpacked.status, 200, JSON.stringify(unpacked.body));
    assert.equal(unpacked.body.cases.length, 3);
    assert.equal(custody('distributor').palletOf(pcases[0]?.sscc as string), undefined);
    const again = await net.as('distributor', 'admin', 'POST', '/supply/unpack', { pallet });
    assert.equal(again.status, 404);
    const onward = await net.as('distributor', 'admin', 'POST', '/supply/ship', {
      to: 'pharmacy',
      cases: [pcases[0]?.sscc],
    });
    assert.equal(onward.status, 200, JSON.stringify(onward.body));
    assert.deepEqual(onward.body.pallets, []);
    const atPharmacy = await net.as('pharmacy', 'pharmacist', 'POST', '/supply/receive', {
      shipment: onward.body.shipment,
    });
    assert.equal(atPharmacy.status, 200, JSON.stringify(atPharmacy.body));
    assert.ok(packs('distributor').some((e) => e.outcome === 'permit' && e.reason === 'unpacked'));
  });
});

describe('a shipment notice that did not arrive is sent again', () => {
  test('the receiver never got it: resent, it is announced there and received; resending again is harmless; refusals', async () => {
    const lotR = await net.as('manufacturer', 'admin', 'POST', '/supply/commission', {
      gtin: GTIN,
      lot: 'RES2701',
      expiry: EXPIRY,
      count: 2,
      caseSize: 2,
    });
    assert.equal(lotR.status, 200, JSON.stringify(lotR.body));
    const shipped = await net.as('manufacturer', 'admin', 'POST', '/supply/ship', {
      to: 'pharmacy',
      cases: [lotR.body.cases[0].sscc],
    });
    assert.equal(shipped.status, 200, JSON.stringify(shipped.body));
    const id = shipped.body.shipment as string;
    // As if the notice had been lost on the way: the pharmacy holds nothing of it, the sender knows it.
    node('pharmacy').db.prepare(`DELETE FROM supply_shipments WHERE direction = 'in' AND id = ?`).run(id);
    custody('manufacturer').setStatus('out', addressOf('pharmacy'), id, 'not-delivered');
    const lost = await net.as('pharmacy', 'pharmacist', 'POST', '/supply/receive', { shipment: id });
    assert.equal(lost.status, 404, 'nothing to receive without the notice');

    const resent = await net.as('manufacturer', 'admin', 'POST', `/supply/shipments/${id}/resend`, {});
    assert.equal(resent.status, 200, JSON.stringify(resent.body));
    assert.equal(resent.body.delivered, true);
    assert.equal(custody('manufacturer').shipmentsWithId('out', id)[0]?.status, 'sent');
    assert.equal(custody('pharmacy').shipmentsWithId('in', id)[0]?.status, 'in-transit');
    const twice = await net.as('manufacturer', 'admin', 'POST', `/supply/shipments/${id}/resend`, {});
    assert.equal(twice.body.delivered, true, 'the receiver takes a notice it holds as accepted');
    const received = await net.as('pharmacy', 'pharmacist', 'POST', '/supply/receive', { shipment: id });
    assert.equal(received.status, 200, JSON.stringify(received.body));
    assert.ok(
      entries('manufacturer', 'supply-ship').filter((e) => e.reason === 'resent').length >= 2,
      'each resend is logged',
    );

    for (const [path, role, status] of [
      [`/supply/shipments/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}/resend`, 'admin', 404],
      ['/supply/shipments/not-a-uuid/resend', 'admin', 400],
      [`/supply/shipments/${id}/resend`, 'pharmacist', 403],
    ] as const) {
      const r = await net.as('manufacturer', role, 'POST', path, {});
      assert.equal(r.status, status, `${path} as ${role}: ${JSON.stringify(r.body)}`);
    }
  });
});
