/**
 * Attacks on drug custody (issue 14), over real sockets against four member nodes
 * (test/support/supplyNetwork.ts, seeded like `medchain up`: the Amoxicillin lot AMX2601 is at the
 * pharmacy, Atorvastatin ATV2603 at the distributor). See README.md, entry 18.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Address } from 'viem';
import { drugLedgerContract } from '../../src/chain/contracts.js';
import { decodeEntry } from '../../src/log/entry.js';
import type { DemoUnit } from '../../src/node/seed/seedSupply.js';
import { CustodyStore } from '../../src/store/custodyStore.js';
import type { StoredUnit } from '../../src/store/unitStore.js';
import { type SupplyMemberName, type SupplyNetwork, startSupplyNetwork } from '../support/supplyNetwork.js';

let net: SupplyNetwork;
before(async () => {
  net = await startSupplyNetwork();
  await net.serve();
});
after(() => net?.close());

const node = (m: SupplyMemberName) => {
  const n = net.members[m].node;
  assert.ok(n);
  return n;
};
const addressOf = (m: SupplyMemberName) => net.members[m].identity.address;
const unitOf = (lot: string, k = 0) => net.units.filter((u) => u.lot === lot)[k] as DemoUnit;
const stored = (m: SupplyMemberName, u: DemoUnit): StoredUnit => {
  const s = node(m).units.unit(u.gtin, u.serial);
  assert.ok(s, `${m} has a record of ${u.serial}`);
  return s;
};
const custodianOf = async (s: StoredUnit): Promise<Address> => {
  const ledger = drugLedgerContract(net.conn, net.manifest);
  assert.ok(ledger);
  const [custodian] = await ledger.read.stateOf([{ id: s.commitment, batch: s.batch, proof: s.proof }]);
  return custodian as Address;
};
const inbound = (m: SupplyMemberName) => new CustodyStore(node(m).db).shipments('in');
const outbound = (m: SupplyMemberName) => new CustodyStore(node(m).db).shipments('out');
const denials = (m: SupplyMemberName, action: string) => {
  const log = node(m).log;
  return log
    .entries(0, log.size)
    .map((e) => decodeEntry(e.leaf))
    .filter((e) => e.action === action && e.outcome === 'deny');
};
const key = (u: DemoUnit) => ({ gtin: u.gtin, serial: u.serial });

describe('18a. a member ships units it does not hold', () => {
  test('the former custodian (it still has their records) and a member that never held them are refused; nothing moves', async () => {
    const u = unitOf('AMX2601');
    const s = stored('distributor', u);
    assert.equal(await custodianOf(s), addressOf('pharmacy'), 'the seed left the unit at the pharmacy');
    const before = denials('distributor', 'supply-ship').length;
    const r = await net.as('distributor', 'admin', 'POST', '/supply/ship', {
      to: 'hospital',
      units: [key(u)],
    });
    assert.equal(r.status, 409);
    assert.match(r.body.issue[0].details.text, /not in this member’s custody/);
    assert.equal(denials('distributor', 'supply-ship').length, before + 1, 'the refusal is logged');
    const never = await net.as('hospital', 'admin', 'POST', '/supply/ship', {
      to: 'distributor',
      units: [key(u)],
    });
    assert.equal(never.status, 404);
    assert.equal(await custodianOf(s), addressOf('pharmacy'), 'custody unchanged on chain');
    assert.equal(outbound('distributor').length, 0);
    assert.equal(outbound('hospital').length, 0);
    assert.equal(inbound('hospital').length, 0, 'no notice was sent');
  });

  test('control: a unit the distributor does hold ships and is received', async () => {
    const u = unitOf('ATV2603');
    const r = await net.as('distributor', 'admin', 'POST', '/supply/ship', {
      to: 'hospital',
      units: [key(u)],
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(await custodianOf(stored('distributor', u)), addressOf('hospital'));
    const got = await net.as('hospital', 'admin', 'POST', '/supply/receive', { units: [key(u)] });
    assert.equal(got.status, 200, JSON.stringify(got.body));
  });
});

describe('18b. a forged shipment notice', () => {
  const notice = (units: StoredUnit[], to: SupplyMemberName, id: string) => ({
    id,
    to: addressOf(to),
    fromGln: '9525678000004',
    shippedAt: new Date().toISOString(),
    shippingEventHash: `ni:///sha-256;${'ab'.repeat(32)}?ver=CBV2.0`,
    units,
    cases: [],
  });

  test('units the chain shows elsewhere, genuine proofs and all: refused, nothing kept', async () => {
    // The distributor once held these (its store has their commitments and proofs); the pharmacy does now.
    const units = [stored('distributor', unitOf('AMX2601')), stored('distributor', unitOf('AMX2601', 1))];
    const id = '11111111-1111-4111-8111-111111111111';
    const r = await net.signedPost(
      'distributor',
      'hospital',
      '/federation/supply/shipment',
      notice(units, 'hospital', id),
    );
    assert.equal(r.status, 409);
    assert.match(
      r.body.issue[0].details.text,
      /DrugLedger does not show 2 of the 2 units as shipped to this member/,
    );
    assert.equal(new CustodyStore(node('hospital').db).shipmentsWithId('in', id).length, 0);
    const receipt = await net.as('hospital', 'admin', 'POST', '/supply/receive', { shipment: id });
    assert.equal(receipt.status, 404, 'nothing to receive');
    assert.ok(
      denials('hospital', 'supply-ship').some((e) => e.actor === `member:${addressOf('distributor')}`),
    );
  });

  test('a tampered proof, a unit put in another GTIN’s batch, a notice for another member', async () => {
    const genuine = stored('distributor', unitOf('ATV2603', 1));
    const flipped = {
      ...genuine,
      proof: [
        `0x${genuine.proof[0]?.slice(2, 65)}${genuine.proof[0]?.endsWith('0') ? '1' : '0'}` as const,
        ...genuine.proof.slice(1),
      ],
    };
    const tampered = await net.signedPost(
      'distributor',
      'hospital',
      '/federation/supply/shipment',
      notice([flipped], 'hospital', '22222222-2222-4222-8222-222222222222'),
    );
    assert.equal(tampered.status, 422);
    assert.match(tampered.body.issue[0].details.text, /Merkle proof does not lead/);
    const metBatch = stored('distributor', unitOf('MET2602')).batch;
    const moved = await net.signedPost(
      'distributor',
      'hospital',
      '/federation/supply/shipment',
      notice([{ ...genuine, batch: metBatch }], 'hospital', '33333333-3333-4333-8333-333333333333'),
    );
    assert.equal(moved.status, 422);
    assert.match(moved.body.issue[0].details.text, /is of another GTIN/);
    const elsewhere = await net.signedPost(
      'distributor',
      'hospital',
      '/federation/supply/shipment',
      notice([genuine], 'pharmacy', '44444444-4444-4444-8444-444444444444'),
    );
    assert.equal(elsewhere.status, 409);
    assert.match(elsewhere.body.issue[0].details.text, /addressed to/);
    assert.equal(inbound('hospital').length, 1, 'only the control shipment of 18a');
  });
});
