/**
 * This member's shipments (`GET /supply/shipments?direction=in|out`, administrators and
 * pharmacists): newest first, each with its status and what it holds (the units' product
 * identifiers and the cases' contents, as the notice carried them). Logged like any read.
 */
import type { Actor } from '../access/gatekeeper.js';
import { forbidden } from '../errors.js';
import type { ShipmentNotice } from '../federation/supplyShipmentWire.js';
import type { TransparencyLog } from '../log/transparencyLog.js';
import type { CustodyStore, ShipmentStatus, UnitKey } from '../store/custodyStore.js';
import { loggedCustody } from './custodyLog.js';

const READERS: readonly string[] = ['admin', 'pharmacist'];

/** A shipment as listed. */
export interface ShipmentSummary {
  id: string;
  direction: 'in' | 'out';
  /** The receiver (out) or sender (in). */
  counterparty: string;
  status: ShipmentStatus;
  shippedAt: string;
  receivedAt: string | null;
  units: { gtin: string; serial: string; lot: string; expiry: string }[];
  cases: { sscc: string; units: UnitKey[] }[];
}

/** List the shipments of one direction for `actor`. */
export function listShipments(
  deps: { log: TransparencyLog; custody: CustodyStore },
  actor: Actor,
  direction: 'in' | 'out',
): Promise<{ shipments: ShipmentSummary[] }> {
  return loggedCustody(
    deps.log,
    actor.id,
    direction === 'in' ? 'supply-receive' : 'supply-ship',
    async () => {
      if (!READERS.includes(actor.role))
        throw forbidden('shipments are for the member’s administrators and pharmacists', 'role');
      const shipments = deps.custody.shipments<ShipmentNotice>(direction).map((s) => ({
        id: s.id,
        direction: s.direction,
        counterparty: s.counterparty,
        status: s.status,
        shippedAt: s.document.shippedAt,
        receivedAt: s.receivedMs === null ? null : new Date(s.receivedMs).toISOString(),
        units: s.document.units.map((u) => ({
          gtin: u.gtin,
          serial: u.serial,
          lot: u.lot,
          expiry: u.expiry,
        })),
        cases: s.document.cases,
      }));
      return { reason: 'list', result: { shipments } };
    },
  );
}
