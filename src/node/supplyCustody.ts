/**
 * The custody parts of a member node's API (commission, pallets, ship, receive, shipment notices), wired
 * from the node's stores, keys, chain connection and outbox, when the deployment has a DrugLedger.
 */

import type { Actor } from '../access/gatekeeper.js';
import type { SupplyCustodyDeps } from '../api/supplyCustodyRoutes.js';
import type { ChainConnection } from '../chain/clients.js';
import type { ConsortiumView } from '../chain/consortium.js';
import { drugLedgerContract } from '../chain/contracts.js';
import type { DeploymentManifest } from '../chain/manifest.js';
import type { Outbox } from '../chain/outbox.js';
import { memberAccount } from '../crypto/memberAccount.js';
import { CustodyStore } from '../store/custodyStore.js';
import { commissionLot, finishInterruptedRuns } from '../supply/commission.js';
import { packPallet, unpackPallet } from '../supply/pallet.js';
import { recalledLotsHeld } from '../supply/recalledLots.js';
import { receiveShipment } from '../supply/receive.js';
import { shipUnits } from '../supply/ship.js';
import { acceptShipment, answerParty } from '../supply/shipmentInbox.js';
import { listShipments } from '../supply/shipmentList.js';
import { resendShipment } from '../supply/shipmentResend.js';
import { supplyKeyOf } from '../supply/supplyKey.js';
import type { MemberNode } from './memberNode.js';

const bytes = (h: string) => new Uint8Array(Buffer.from(h.slice(2), 'hex'));

/** The custody routes' dependencies for `node` (none without a DrugLedger). */
export function supplyCustodyDeps(
  node: MemberNode,
  conn: ChainConnection,
  manifest: DeploymentManifest,
  consortium: ConsortiumView,
  outbox: Outbox,
): SupplyCustodyDeps {
  const ledger = drugLedgerContract(conn, manifest);
  if (!ledger) return {};
  const signer = memberAccount(node.identity.chainKey);
  const self = node.identity.address;
  const custody = new CustodyStore(node.db);
  const base = { ledger, log: node.log, units: node.units, custody, self };
  return {
    commissionLot: (actor: Actor, body: unknown) =>
      commissionLot(
        { ...base, conn, outbox, supplyKey: supplyKeyOf(bytes(node.identity.indexKey)) },
        actor,
        body,
      ),
    packPallet: (actor: Actor, body: unknown) => packPallet({ ...base, conn }, actor, body),
    unpackPallet: (actor: Actor, body: unknown) => unpackPallet({ ...base, conn }, actor, body),
    shipUnits: (actor: Actor, body: unknown) =>
      shipUnits({ ...base, outbox, consortium, signer }, actor, body),
    receiveShipment: (actor: Actor, body: unknown) =>
      receiveShipment({ ...base, consortium, signer }, actor, body),
    listShipments: (actor: Actor, direction: 'in' | 'out') => listShipments(base, actor, direction),
    recalledLots: (actor: Actor) => recalledLotsHeld(base, actor),
    resendShipment: (actor: Actor, id: string) => resendShipment({ ...base, consortium, signer }, actor, id),
    answerSupplyParty: (caller: `0x${string}`, body: unknown) => answerParty(base, caller, body),
    acceptSupplyShipment: (caller: `0x${string}`, body: unknown) => acceptShipment(base, caller, body),
  };
}

/**
 * Finish commissioning runs a crash interrupted (src/supply/commission.ts `finishInterruptedRuns`),
 * so their units are known here without waiting for the next commissioning. A line on stderr says
 * what was done; nothing when there was nothing to do.
 */
export async function resumeSupplyRuns(
  node: MemberNode,
  conn: ChainConnection,
  manifest: DeploymentManifest,
  outbox: Outbox,
): Promise<void> {
  const ledger = drugLedgerContract(conn, manifest);
  if (!ledger) return;
  const done = await finishInterruptedRuns({
    conn,
    ledger,
    outbox,
    log: node.log,
    units: node.units,
    custody: new CustodyStore(node.db),
    supplyKey: supplyKeyOf(bytes(node.identity.indexKey)),
    self: node.identity.address,
  });
  if (done)
    process.stderr.write(
      `medchain: commissioning runs interrupted before a restart: ${done.stored} stored, ${done.dropped} refused by the chain and forgotten, ${done.waiting} still waiting for the chain\n`,
    );
}
