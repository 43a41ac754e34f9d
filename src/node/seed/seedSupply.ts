/**
 * First-run seeding of the demo drug supply chain: the manufacturer claims a GS1 company prefix in
 * DrugLedger, commissions a catalogue of synthetic products (one Merkle batch per lot, one
 * transaction each), ships every batch to the wholesale distributor, which ships some on to the
 * pharmacy. Each step's EPCIS 2.0 event is stored at the members that took part (shipping at the
 * sender, receiving at the receiver) and its hash goes on chain with the step.
 *
 * Runs before the member nodes start (each member's chain account sends its own steps here, and
 * two senders of one account would race for nonces). Idempotent: the prefix claim is a no-op the
 * second time, a lot the manufacturer already holds units of is not commissioned again, a batch
 * already with its receiver is not shipped again.
 */
import type { Address } from 'viem';
import { ChainError } from '../../chain/chainError.js';
import type { ChainConnection } from '../../chain/clients.js';
import { walletFor } from '../../chain/clients.js';
import { drugLedgerContract } from '../../chain/contracts.js';
import { drugLedgerAbi } from '../../chain/generated/index.js';
import type { DeploymentManifest } from '../../chain/manifest.js';
import { writeAndWait } from '../../chain/transact.js';
import { type StoredUnit, UnitStore } from '../../store/unitStore.js';
import { buildCommissioningRun, commissionedRun, storedUnits } from '../../supply/commissioningRun.js';
import { receivingEvent, shippingEvent, unitEpc } from '../../supply/epcisEvents.js';
import { epcisEventHash, eventHashDigest } from '../../supply/epcisHash.js';
import { withCheckDigit } from '../../supply/gs1CheckDigit.js';
import { supplyKeyOf } from '../../supply/supplyKey.js';
import type { MemberIdentity } from '../memberIdentity.js';
import { openMemberNode } from '../memberNode.js';

/** GS1 reserves prefix 952 for demonstrations: no real product carries these GTINs. */
export const DEMO_COMPANY_PREFIX = '9521234';

interface DemoLot {
  itemReference: string;
  product: string;
  lot: string;
  /** YYMMDD. */
  expiry: string;
  units: number;
  /** Shipped on from the distributor to the pharmacy. */
  toPharmacy: boolean;
}

/** The demo catalogue: 300 units in four lots, one of them expired (for the Expired answer). */
export const DEMO_LOTS: readonly DemoLot[] = [
  {
    itemReference: '00011',
    product: 'Amoxicillin 500 mg, 21 capsules',
    lot: 'AMX2601',
    expiry: '280630',
    units: 100,
    toPharmacy: true,
  },
  {
    itemReference: '00028',
    product: 'Metformin 850 mg, 56 tablets',
    lot: 'MET2602',
    expiry: '271231',
    units: 100,
    toPharmacy: true,
  },
  {
    itemReference: '00035',
    product: 'Atorvastatin 20 mg, 28 tablets',
    lot: 'ATV2401',
    expiry: '250131',
    units: 50,
    toPharmacy: true,
  },
  {
    itemReference: '00035',
    product: 'Atorvastatin 20 mg, 28 tablets',
    lot: 'ATV2603',
    expiry: '290331',
    units: 50,
    toPharmacy: false,
  },
];

/** The GTIN-14 of a demo product (indicator 0, the demo prefix, the item reference, check digit). */
export const demoGtin = (itemReference: string) => withCheckDigit(`0${DEMO_COMPANY_PREFIX}${itemReference}`);

/** One member of the supply chain as the seed acts for it. */
export interface SupplyParty {
  dir: string;
  identity: MemberIdentity;
  /** The member's GLN (13 digits with check digit). */
  gln: string;
}

/** A seeded unit as `network.json` lists it, and who holds it. */
export interface DemoUnit {
  gtin: string;
  serial: string;
  lot: string;
  expiry: string;
  /** The chain address of the member holding it after the seed. */
  holder: Address;
}

const bytes = (h: string) => new Uint8Array(Buffer.from(h.slice(2), 'hex'));

/** Seed the demo supply chain; returns a few units of each lot where they ended up. */
export async function seedSupply(
  conn: ChainConnection,
  manifest: DeploymentManifest,
  parties: { manufacturer: SupplyParty; distributor: SupplyParty; pharmacy: SupplyParty },
  passphrase: string,
  progress: (step: string) => void,
): Promise<DemoUnit[]> {
  const ledger = drugLedgerContract(conn, manifest);
  if (!ledger)
    throw new ChainError(
      'deployment-missing',
      'the deployment has no DrugLedger: run ensureDrugLedger first',
    );
  const address = ledger.address;
  const { manufacturer, distributor, pharmacy } = parties;
  const nodes = {
    manufacturer: openMemberNode(manufacturer.dir, passphrase),
    distributor: openMemberNode(distributor.dir, passphrase),
    pharmacy: openMemberNode(pharmacy.dir, passphrase),
  };
  const stores = {
    manufacturer: new UnitStore(nodes.manufacturer.db),
    distributor: new UnitStore(nodes.distributor.db),
    pharmacy: new UnitStore(nodes.pharmacy.db),
  };
  try {
    stores.manufacturer.setSetting('gln', manufacturer.gln);
    stores.distributor.setSetting('gln', distributor.gln);
    stores.pharmacy.setSetting('gln', pharmacy.gln);
    const mWallet = walletFor(conn, manufacturer.identity.chainKey);
    const dWallet = walletFor(conn, distributor.identity.chainKey);
    const firstGtin = demoGtin((DEMO_LOTS[0] as DemoLot).itemReference);
    if ((await ledger.read.responderFor([BigInt(firstGtin)])) !== manufacturer.identity.address) {
      await writeAndWait(conn, mWallet, {
        address,
        abi: drugLedgerAbi,
        functionName: 'claimPrefix',
        args: [BigInt(DEMO_COMPANY_PREFIX), DEMO_COMPANY_PREFIX.length],
      });
      progress(`supply: the manufacturer claims GS1 company prefix ${DEMO_COMPANY_PREFIX}`);
    }
    const key = supplyKeyOf(bytes(manufacturer.identity.indexKey));
    const demo: DemoUnit[] = [];
    const t0 = Date.now();
    for (const [i, l] of DEMO_LOTS.entries()) {
      const gtin = demoGtin(l.itemReference);
      // Commissioning (once per lot).
      let units = stores.manufacturer.unitsOfLot(gtin, l.lot);
      if (units.length === 0) {
        const run = buildCommissioningRun(
          key,
          { gtin, lot: l.lot, expiry: l.expiry, count: l.units },
          { time: new Date(t0 + i), location: manufacturer.gln },
        );
        const batch = Number(await ledger.read.batchCount());
        await writeAndWait(conn, mWallet, {
          address,
          abi: drugLedgerAbi,
          functionName: 'commission',
          args: [BigInt(gtin), run.lotCommitment, run.tree.root, l.units, eventHashDigest(run.eventHash)],
        });
        stores.manufacturer.putCommissionedRun(commissionedRun(run, batch));
        units = storedUnits(run, batch);
        stores.manufacturer.putEvent(run.eventHash, run.event);
        progress(`supply: ${l.units} units of ${l.product} lot ${l.lot} commissioned (batch ${batch})`);
      }
      const batch = (units[0] as StoredUnit).batch;
      const epcs = units.map(unitEpc);
      // Manufacturer -> distributor, then (some lots) distributor -> pharmacy.
      const legs: [SupplyParty, SupplyParty, UnitStore, UnitStore, ReturnType<typeof walletFor>][] = [
        [manufacturer, distributor, stores.manufacturer, stores.distributor, mWallet],
      ];
      if (l.toPharmacy) legs.push([distributor, pharmacy, stores.distributor, stores.pharmacy, dWallet]);
      for (const [k, [from, to, fromStore, toStore, wallet]] of legs.entries()) {
        const custodian = (await ledger.read.batchAt([batch])).custodian as Address;
        const atOrPast = legs.slice(k + 1).some(([, later]) => later.identity.address === custodian);
        if (custodian === to.identity.address || atOrPast) {
          toStore.putUnits(units);
          continue;
        }
        const transfer = { from: from.gln, to: to.gln, despatchAdvice: `DA${batch}${k}` };
        const shipped = shippingEvent(epcs, transfer, {
          time: new Date(t0 + 100 + i * 10 + k),
          location: from.gln,
        });
        const shippedHash = epcisEventHash(shipped);
        await writeAndWait(conn, wallet, {
          address,
          abi: drugLedgerAbi,
          functionName: 'transferBatch',
          args: [batch, to.identity.address, eventHashDigest(shippedHash)],
        });
        fromStore.putEvent(shippedHash, shipped);
        const received = receivingEvent(epcs, transfer, {
          time: new Date(t0 + 200 + i * 10 + k),
          location: to.gln,
        });
        toStore.putUnits(units);
        toStore.putEvent(epcisEventHash(received), received);
      }
      progress(
        `supply: lot ${l.lot} shipped to the distributor${l.toPharmacy ? ' and on to the pharmacy' : ''}`,
      );
      const holder = (l.toPharmacy ? pharmacy : distributor).identity.address;
      for (const u of units.slice(0, 2))
        demo.push({ gtin: u.gtin, serial: u.serial, lot: u.lot, expiry: u.expiry, holder });
    }
    return demo;
  } finally {
    for (const n of Object.values(nodes)) n.close();
  }
}
