/**
 * Custody records of a member's supply chain store (migrations 11 and 13): the cases (SSCC) it
 * packed or received with the units aggregated in each, the pallets (SSCCs holding cases), and its shipments, sent (`out`) or announced to it
 * (`in`), each kept as the member-signed shipment message (src/federation/supplyShipmentWire.ts).
 */
import type { Db } from './database.js';
import { statement } from './database.js';

/** A unit named by its GS1 key: GTIN-14 and serial. */
export interface UnitKey {
  gtin: string;
  serial: string;
}

/** The status of a shipment at one end. */
export type ShipmentStatus = 'sent' | 'not-delivered' | 'in-transit' | 'received';

/** A shipment as one member stores it. */
export interface StoredShipment<D = unknown> {
  direction: 'out' | 'in';
  /** The other member's chain address (receiver of an `out`, sender of an `in` shipment). */
  counterparty: string;
  id: string;
  status: ShipmentStatus;
  createdMs: number;
  receivedMs: number | null;
  document: D;
}

interface ShipmentRow {
  direction: 'out' | 'in';
  counterparty: string;
  id: string;
  status: ShipmentStatus;
  created_ms: number;
  received_ms: number | null;
  document: string;
}

const fromRow = <D>(r: ShipmentRow): StoredShipment<D> => ({
  direction: r.direction,
  counterparty: r.counterparty,
  id: r.id,
  status: r.status,
  createdMs: r.created_ms,
  receivedMs: r.received_ms,
  document: JSON.parse(r.document) as D,
});

/** The case and shipment tables of one member's store. */
export class CustodyStore {
  constructor(private readonly db: Db) {}

  /** Store cases and their contents; a case already known keeps its recorded contents. */
  putCases(cases: readonly { sscc: string; units: readonly UnitKey[] }[], now = Date.now()): void {
    const head = statement(this.db, 'INSERT OR IGNORE INTO supply_cases (sscc, created_ms) VALUES (?, ?)');
    const child = statement(
      this.db,
      'INSERT OR IGNORE INTO supply_case_units (sscc, gtin, serial) VALUES (?, ?, ?)',
    );
    this.db.transaction(() => {
      for (const c of cases) {
        if (head.run(c.sscc, now).changes === 0) continue;
        for (const u of c.units) child.run(c.sscc, u.gtin, u.serial);
      }
    })();
  }

  /** The units aggregated in case `sscc`, or undefined when this member has no record of it. */
  caseUnits(sscc: string): UnitKey[] | undefined {
    if (!statement(this.db, 'SELECT 1 FROM supply_cases WHERE sscc = ?').get(sscc)) return undefined;
    return statement(
      this.db,
      'SELECT gtin, serial FROM supply_case_units WHERE sscc = ? ORDER BY gtin, serial',
    ).all(sscc) as UnitKey[];
  }

  /** Store pallets and the cases on each; a pallet already known keeps its recorded cases. */
  putPallets(pallets: readonly { sscc: string; cases: readonly string[] }[], now = Date.now()): void {
    const head = statement(this.db, 'INSERT OR IGNORE INTO supply_cases (sscc, created_ms) VALUES (?, ?)');
    const child = statement(this.db, 'INSERT INTO supply_pallet_cases (pallet, sscc) VALUES (?, ?)');
    this.db.transaction(() => {
      for (const p of pallets) {
        if (head.run(p.sscc, now).changes === 0) continue;
        for (const c of p.cases) child.run(p.sscc, c);
      }
    })();
  }

  /** The cases on pallet `sscc`, or undefined when `sscc` is not a pallet this member recorded. */
  palletCases(sscc: string): string[] | undefined {
    const cases = (
      statement(this.db, 'SELECT sscc FROM supply_pallet_cases WHERE pallet = ? ORDER BY sscc').all(sscc) as {
        sscc: string;
      }[]
    ).map((r) => r.sscc);
    return cases.length > 0 ? cases : undefined;
  }

  /** The pallet case `sscc` is on, if any. */
  palletOf(sscc: string): string | undefined {
    return (
      statement(this.db, 'SELECT pallet FROM supply_pallet_cases WHERE sscc = ?').get(sscc) as
        | { pallet: string }
        | undefined
    )?.pallet;
  }

  /** Take every case off pallet `sscc` (its label stays used); the cases it held. */
  unpackPallet(sscc: string): string[] {
    const cases = this.palletCases(sscc) ?? [];
    statement(this.db, 'DELETE FROM supply_pallet_cases WHERE pallet = ?').run(sscc);
    return cases;
  }

  /** Whether an SSCC is already used here. */
  hasCase(sscc: string): boolean {
    return statement(this.db, 'SELECT 1 FROM supply_cases WHERE sscc = ?').get(sscc) !== undefined;
  }

  /** Record a shipment; false when one with the same direction, counterparty and id exists. */
  putShipment(s: Omit<StoredShipment, 'receivedMs'>): boolean {
    return (
      statement(
        this.db,
        `INSERT OR IGNORE INTO supply_shipments (direction, counterparty, id, status, created_ms, document)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ).run(s.direction, s.counterparty, s.id, s.status, s.createdMs, JSON.stringify(s.document)).changes ===
      1
    );
  }

  /** The shipments with this id in one direction (normally one). */
  shipmentsWithId<D>(direction: 'out' | 'in', id: string): StoredShipment<D>[] {
    return (
      statement(this.db, 'SELECT * FROM supply_shipments WHERE direction = ? AND id = ?').all(
        direction,
        id,
      ) as ShipmentRow[]
    ).map((r) => fromRow<D>(r));
  }

  /** The shipments of one direction, newest first (at most `limit`). */
  shipments<D>(direction: 'out' | 'in', limit = 100): StoredShipment<D>[] {
    return (
      statement(
        this.db,
        'SELECT * FROM supply_shipments WHERE direction = ? ORDER BY created_ms DESC, id LIMIT ?',
      ).all(direction, limit) as ShipmentRow[]
    ).map((r) => fromRow<D>(r));
  }

  /** Set a shipment's status (and, for `received`, when). */
  setStatus(
    direction: 'out' | 'in',
    counterparty: string,
    id: string,
    status: ShipmentStatus,
    now = Date.now(),
  ): void {
    statement(
      this.db,
      `UPDATE supply_shipments SET status = ?, received_ms = CASE WHEN ? = 'received' THEN ? ELSE received_ms END
       WHERE direction = ? AND counterparty = ? AND id = ?`,
    ).run(status, status, now, direction, counterparty, id);
  }

  /** Run `fn` in one store transaction (a receipt's units, cases, event and status together). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}
