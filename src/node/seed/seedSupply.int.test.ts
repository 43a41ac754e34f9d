/** The demo supply chain seed: units commissioned on chain, custody moved, events at each member. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  SUPPLY_PASSPHRASE,
  type SupplyNetwork,
  startSupplyNetwork,
} from '../../../test/support/supplyNetwork.js';
import { drugLedgerContract } from '../../chain/contracts.js';
import { UnitStore } from '../../store/unitStore.js';
import { gs1CheckDigit } from '../../supply/gs1CheckDigit.js';
import { openMemberNode } from '../memberNode.js';
import { DEMO_LOTS, seedSupply } from './seedSupply.js';

let net: SupplyNetwork;
before(async () => {
  net = await startSupplyNetwork();
});
after(() => net?.close());

const storeOf = (name: 'manufacturer' | 'distributor' | 'pharmacy' | 'hospital') => {
  const node = openMemberNode(net.members[name].dir, SUPPLY_PASSPHRASE);
  return { store: new UnitStore(node.db), close: () => node.close() };
};

test('every lot is commissioned as one batch, custody ends where the lot was shipped', async () => {
  const ledger = drugLedgerContract(net.conn, net.manifest);
  assert.ok(ledger);
  assert.equal(Number(await ledger.read.batchCount()), DEMO_LOTS.length);
  const m = storeOf('manufacturer');
  try {
    assert.equal(m.store.count(), 300);
    assert.equal(m.store.setting('gln'), '9521234000006');
    for (const u of net.units) {
      assert.equal(
        Number(u.gtin.at(-1)),
        gs1CheckDigit(u.gtin.slice(0, 13)),
        `${u.gtin} has a valid check digit`,
      );
      const stored = m.store.unit(u.gtin, u.serial);
      assert.ok(stored, 'the manufacturer knows every unit it commissioned');
      const [custodian, status] = await ledger.read.stateOf([
        { id: stored.commitment, batch: stored.batch, proof: stored.proof },
      ]);
      assert.equal(custodian, u.holder);
      assert.equal(status, 1, 'Active');
      assert.equal(
        await ledger.read.responderFor([BigInt(u.gtin)]),
        net.members.manufacturer.identity.address,
      );
    }
    // Commissioning events at the manufacturer, shipping (and receiving) at each leg.
    const steps = m.store.events().map((e) => (e.event as { bizStep: string }).bizStep);
    assert.deepEqual(steps.filter((s) => s === 'commissioning').length, DEMO_LOTS.length);
    assert.deepEqual(steps.filter((s) => s === 'shipping').length, DEMO_LOTS.length);
  } finally {
    m.close();
  }
  const p = storeOf('pharmacy');
  const d = storeOf('distributor');
  const h = storeOf('hospital');
  try {
    const toPharmacy = DEMO_LOTS.filter((l) => l.toPharmacy).reduce((n, l) => n + l.units, 0);
    assert.equal(p.store.count(), toPharmacy);
    assert.equal(d.store.count(), 300);
    assert.equal(h.store.count(), 0, 'nothing was shipped to the hospital');
    const pSteps = p.store.events().map((e) => (e.event as { bizStep: string }).bizStep);
    assert.deepEqual([...new Set(pSteps)], ['receiving']);
  } finally {
    p.close();
    d.close();
    h.close();
  }
});

test('seeding again sends nothing and changes nothing', async () => {
  const before = await net.conn.publicClient.getBlockNumber();
  const { manufacturer, distributor, pharmacy } = net.members;
  const party = (m: typeof manufacturer, gln: string) => ({ dir: m.dir, identity: m.identity, gln });
  await seedSupply(
    net.conn,
    net.manifest,
    {
      manufacturer: party(manufacturer, '9521234000006'),
      distributor: party(distributor, '9525678000004'),
      pharmacy: party(pharmacy, '9529012000019'),
    },
    SUPPLY_PASSPHRASE,
    () => {},
  );
  assert.equal(await net.conn.publicClient.getBlockNumber(), before, 'no transaction sent');
  const m = storeOf('manufacturer');
  try {
    assert.equal(m.store.count(), 300);
  } finally {
    m.close();
  }
});
