/**
 * A member's drug supply incidents (migration 11): what it did about units (saleable returns,
 * quarantines, cleared and illegitimate determinations) and the illegitimate-product notices it
 * sent itself or received from a trading partner, each with its 24-hour deadline (DSCSA
 * §582(b)(4)(B)) until someone acknowledges it. Times are milliseconds of the caller's clock.
 */
import type { Db } from './database.js';
import { statement } from './database.js';

/** What a member did about some of its units. */
export interface Incident {
  id: string;
  kind: 'return' | 'quarantine' | 'clear' | 'illegitimate';
  gtin: string;
  lot: string | null;
  serials: string[];
  reason: string;
  /** `accepted` / `refused` for a return, `suspect` / `active` / `illegitimate` for the others. */
  outcome: string;
  actor: string;
  txHash: string | null;
  atMs: number;
}

/** An illegitimate-product notice, as the receiving (or determining) member keeps it. */
export interface StoredNotice {
  id: string;
  /** Chain address of the member that determined the product illegitimate. */
  sender: string;
  kind: 'illegitimate';
  gtin: string;
  lot: string;
  serials: string[];
  reason: string;
  determinedMs: number;
  receivedMs: number;
  deadlineMs: number;
  ackedMs: number | null;
  ackedBy: string | null;
}

interface NoticeRow {
  id: string;
  sender: string;
  kind: 'illegitimate';
  gtin: string;
  lot: string;
  serials: string;
  reason: string;
  determined_ms: number;
  received_ms: number;
  deadline_ms: number;
  acked_ms: number | null;
  acked_by: string | null;
}

const noticeOf = (r: NoticeRow): StoredNotice => ({
  id: r.id,
  sender: r.sender,
  kind: r.kind,
  gtin: r.gtin,
  lot: r.lot,
  serials: JSON.parse(r.serials) as string[],
  reason: r.reason,
  determinedMs: r.determined_ms,
  receivedMs: r.received_ms,
  deadlineMs: r.deadline_ms,
  ackedMs: r.acked_ms,
  ackedBy: r.acked_by,
});

/** The incident and notice tables of one member's store. */
export class IncidentStore {
  constructor(private readonly db: Db) {}

  /** Record an incident. */
  putIncident(i: Incident): void {
    statement(
      this.db,
      `INSERT INTO supply_incidents (id, kind, gtin, lot, serials, reason, outcome, actor, tx_hash, at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      i.id,
      i.kind,
      i.gtin,
      i.lot,
      JSON.stringify(i.serials),
      i.reason,
      i.outcome,
      i.actor,
      i.txHash,
      i.atMs,
    );
  }

  /** The incidents about a GTIN, oldest first. */
  incidents(gtin: string): Incident[] {
    return (
      statement(this.db, 'SELECT * FROM supply_incidents WHERE gtin = ? ORDER BY at_ms, id').all(gtin) as {
        id: string;
        kind: Incident['kind'];
        gtin: string;
        lot: string | null;
        serials: string;
        reason: string;
        outcome: string;
        actor: string;
        tx_hash: string | null;
        at_ms: number;
      }[]
    ).map((r) => ({
      id: r.id,
      kind: r.kind,
      gtin: r.gtin,
      lot: r.lot,
      serials: JSON.parse(r.serials) as string[],
      reason: r.reason,
      outcome: r.outcome,
      actor: r.actor,
      txHash: r.tx_hash,
      atMs: r.at_ms,
    }));
  }

  /**
   * Store a notice once: the same id from the same sender again is a no-op (`false`); the same id
   * from another sender is refused by the caller (see `notice`).
   */
  putNotice(n: Omit<StoredNotice, 'ackedMs' | 'ackedBy'>): boolean {
    const r = statement(
      this.db,
      `INSERT OR IGNORE INTO supply_notices
         (id, sender, kind, gtin, lot, serials, reason, determined_ms, received_ms, deadline_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      n.id,
      n.sender,
      n.kind,
      n.gtin,
      n.lot,
      JSON.stringify(n.serials),
      n.reason,
      n.determinedMs,
      n.receivedMs,
      n.deadlineMs,
    );
    return r.changes === 1;
  }

  /** The notice with this id, if stored. */
  notice(id: string): StoredNotice | undefined {
    const r = statement(this.db, 'SELECT * FROM supply_notices WHERE id = ?').get(id) as
      | NoticeRow
      | undefined;
    return r ? noticeOf(r) : undefined;
  }

  /** The notices not acknowledged yet, soonest deadline first. */
  openNotices(): StoredNotice[] {
    return (
      statement(
        this.db,
        'SELECT * FROM supply_notices WHERE acked_ms IS NULL ORDER BY deadline_ms, id',
      ).all() as NoticeRow[]
    ).map(noticeOf);
  }

  /** Acknowledge a notice; false when it is unknown or was acknowledged already. */
  ackNotice(id: string, by: string, atMs: number): boolean {
    return (
      statement(
        this.db,
        'UPDATE supply_notices SET acked_ms = ?, acked_by = ? WHERE id = ? AND acked_ms IS NULL',
      ).run(atMs, by, id).changes === 1
    );
  }
}
