/**
 * A member's supply chain store (migration 10): the serialised units it commissioned or received,
 * with what it needs to name each on chain (its keyed commitment, batch and Merkle proof), the
 * EPCIS 2.0 events it recorded, the verification requests it answered about each unit, and its
 * settings (its GLN). Only the member's own stock: the chain holds commitments, never these rows.
 */
import type { Hex } from 'viem';
import type { PackIdentifier } from '../supply/gs1.js';
import type { Commitment } from '../supply/unitCommitment.js';
import type { Db } from './database.js';
import { statement } from './database.js';

/** A unit as a member stores it: its product identifier and how to name it on chain. */
export interface StoredUnit extends PackIdentifier {
  commitment: Commitment;
  batch: number;
  proof: Hex[];
}

interface UnitRow {
  gtin: string;
  serial: string;
  lot: string;
  expiry: string;
  commitment: string;
  batch: number;
  proof: string;
}

const fromRow = (r: UnitRow): StoredUnit => ({
  gtin: r.gtin,
  serial: r.serial,
  lot: r.lot,
  expiry: r.expiry,
  commitment: r.commitment as Commitment,
  batch: r.batch,
  proof: JSON.parse(r.proof) as Hex[],
});

/** The supply chain tables of one member's store. */
export class UnitStore {
  constructor(private readonly db: Db) {}

  /** Store units (a commissioning run or a received shipment); a unit already held is kept as is. */
  putUnits(units: readonly StoredUnit[], now = Date.now()): void {
    const insert = statement(
      this.db,
      `INSERT OR IGNORE INTO supply_units (gtin, serial, lot, expiry, commitment, batch, proof, received_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.db.transaction(() => {
      for (const u of units)
        insert.run(u.gtin, u.serial, u.lot, u.expiry, u.commitment, u.batch, JSON.stringify(u.proof), now);
    })();
  }

  /** The unit with this GTIN and serial, if this member holds (or held) it. */
  unit(gtin: string, serial: string): StoredUnit | undefined {
    const r = statement(this.db, 'SELECT * FROM supply_units WHERE gtin = ? AND serial = ?').get(
      gtin,
      serial,
    ) as UnitRow | undefined;
    return r ? fromRow(r) : undefined;
  }

  /** Every unit of one GTIN and lot this member holds records of, in serial order. */
  unitsOfLot(gtin: string, lot: string): StoredUnit[] {
    return (
      statement(this.db, 'SELECT * FROM supply_units WHERE gtin = ? AND lot = ? ORDER BY serial').all(
        gtin,
        lot,
      ) as UnitRow[]
    ).map(fromRow);
  }

  /** The lots this member holds records of, one row per batch, with how many units. */
  lots(): { gtin: string; lot: string; expiry: string; batch: number; units: number }[] {
    return statement(
      this.db,
      `SELECT gtin, lot, expiry, batch, count(*) AS units FROM supply_units
       GROUP BY gtin, lot, expiry, batch ORDER BY gtin, lot, batch`,
    ).all() as { gtin: string; lot: string; expiry: string; batch: number; units: number }[];
  }

  /** How many units this member holds records of. */
  count(): number {
    return (statement(this.db, 'SELECT count(*) AS n FROM supply_units').get() as { n: number }).n;
  }

  /** Record an EPCIS event under its CBV event hash (the same event twice is stored once). */
  putEvent(eventHash: string, event: { bizStep: string; eventTime: string }): void {
    statement(
      this.db,
      'INSERT OR IGNORE INTO supply_events (event_hash, biz_step, event_time, document) VALUES (?, ?, ?, ?)',
    ).run(eventHash, event.bizStep, event.eventTime, JSON.stringify(event));
  }

  /** The events this member recorded, oldest first. */
  events(): { eventHash: string; event: unknown }[] {
    return (
      statement(
        this.db,
        'SELECT event_hash, document FROM supply_events ORDER BY event_time, event_hash',
      ).all() as {
        event_hash: string;
        document: string;
      }[]
    ).map((r) => ({ eventHash: r.event_hash, event: JSON.parse(r.document) }));
  }

  /** Note a verification request about a unit (who asked, when). */
  recordScan(gtin: string, serial: string, requester: string, atMs: number): void {
    statement(this.db, 'INSERT INTO supply_scans (gtin, serial, requester, at_ms) VALUES (?, ?, ?, ?)').run(
      gtin,
      serial,
      requester,
      atMs,
    );
  }

  /** The verification requests about a unit since `sinceMs`, oldest first. */
  recentScans(gtin: string, serial: string, sinceMs: number): { by: string; at: number }[] {
    return (
      statement(
        this.db,
        'SELECT requester, at_ms FROM supply_scans WHERE gtin = ? AND serial = ? AND at_ms >= ? ORDER BY at_ms',
      ).all(gtin, serial, sinceMs) as { requester: string; at_ms: number }[]
    ).map((r) => ({ by: r.requester, at: r.at_ms }));
  }

  /** A setting of this member's supply chain role (e.g. `gln`). */
  setting(name: string): string | undefined {
    return (
      statement(this.db, 'SELECT value FROM supply_settings WHERE name = ?').get(name) as
        | { value: string }
        | undefined
    )?.value;
  }

  /** Set a setting. */
  setSetting(name: string, value: string): void {
    statement(
      this.db,
      'INSERT INTO supply_settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
    ).run(name, value);
  }
}
