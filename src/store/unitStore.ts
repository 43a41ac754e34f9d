/**
 * A member's supply chain store (migrations 10 and 13): the serialised units it commissioned or
 * received, with what it needs to name each on chain (its keyed commitment, batch and Merkle
 * proof), its commissioning runs (recorded before they are sent; once on chain, the batch's tree,
 * from which the proof of each unit it commissioned is read), the EPCIS 2.0 events it recorded,
 * the verification requests it answered about each unit, and its settings (its GLN). Only the
 * member's own stock: the chain holds commitments, never these rows.
 */
import type { Hex } from 'viem';
import { levelsBytes, proofFromLevels, rootOf } from '../crypto/sortedPairTree.js';
import type { PackIdentifier } from '../supply/gs1.js';
import type { Commitment } from '../supply/unitCommitment.js';
import type { Db } from './database.js';
import { StoreError, statement } from './database.js';

/** A unit as a member stores it: its product identifier and how to name it on chain. */
export interface StoredUnit extends PackIdentifier {
  commitment: Commitment;
  batch: number;
  proof: Hex[];
}

/** A commissioning run recorded before its transaction is sent (outbox key `commission:<root>`). */
export interface PendingRun {
  root: Hex;
  gtin: string;
  lot: string;
  count: number;
  /** What the commissioning flow needs to store the run once confirmed (its own JSON shape). */
  run: unknown;
  createdMs: number;
}

/** A run the chain numbered `batch`: its tree's levels (UnitBatchTree.levels) and its units, in leaf order. */
export interface CommissionedRun {
  root: Hex;
  gtin: string;
  lot: string;
  batch: number;
  levels: Uint8Array;
  units: readonly (PackIdentifier & { commitment: Commitment })[];
}

/** A batch tree in memory: its leaf count and levels. */
interface Tree {
  count: number;
  levels: Uint8Array;
}

interface UnitRow {
  gtin: string;
  serial: string;
  lot: string;
  expiry: string;
  commitment: string;
  batch: number;
  proof: string | null;
  leaf: number | null;
}

const UNIT_COLUMNS = 'gtin, serial, lot, expiry, commitment, batch, proof, leaf';
/** Rows per multi-row INSERT of a commissioning run (8 values each, well under SQLite's limit). */
const INSERT_CHUNK = 256;
/** Batch trees kept in memory (a 10,000-unit tree is 640 KB). */
const CACHED_TREES = 16;
/** Units kept in memory once read (about 1.5 KB each with a 14-step proof). */
const CACHED_UNITS = 16_384;

/** The supply chain tables of one member's store. */
export class UnitStore {
  private readonly trees = new Map<number, Tree>();
  private readonly recent = new Map<string, StoredUnit>();
  private readonly askers = new Map<string, { by: string; at: number }[]>();

  constructor(private readonly db: Db) {}

  private fromRow(r: UnitRow): StoredUnit {
    return {
      gtin: r.gtin,
      serial: r.serial,
      lot: r.lot,
      expiry: r.expiry,
      commitment: r.commitment as Commitment,
      batch: r.batch,
      proof: r.proof === null ? this.proofAt(r.batch, r.leaf as number) : (JSON.parse(r.proof) as Hex[]),
    };
  }

  /** The proof of leaf `leaf` of batch `batch`, which this member commissioned. */
  private proofAt(batch: number, leaf: number): Hex[] {
    const t = this.treeOf(batch);
    return proofFromLevels(t.levels, t.count, leaf);
  }

  private remember(batch: number, t: Tree): void {
    this.trees.delete(batch);
    this.trees.set(batch, t); // most recently used last
    if (this.trees.size > CACHED_TREES) this.trees.delete(this.trees.keys().next().value as number);
  }

  /** The tree of batch `batch`, which this member commissioned (read once, then from memory). */
  private treeOf(batch: number): Tree {
    let t = this.trees.get(batch);
    if (!t) {
      const r = statement(this.db, 'SELECT count, tree FROM supply_runs WHERE batch = ?').get(batch) as
        | { count: number; tree: Buffer }
        | undefined;
      if (!r)
        throw new StoreError(
          'supply-tree-missing',
          `batch ${batch} has units stored without its tree; the store is damaged (restore it from a backup)`,
        );
      t = { count: r.count, levels: new Uint8Array(r.tree.buffer, r.tree.byteOffset, r.tree.length) };
    }
    this.remember(batch, t);
    return t;
  }

  /** Store units received (each with its proof); a unit already held is kept as is. */
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

  /** Record a run about to be sent (in the commit that queues its transaction). */
  putPendingRun(r: PendingRun): void {
    statement(
      this.db,
      'INSERT INTO supply_runs (root, gtin, lot, count, pending, created_ms) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(r.root, r.gtin, r.lot, r.count, JSON.stringify(r.run), r.createdMs);
  }

  /** The runs recorded but not yet stored as confirmed, oldest first. */
  pendingRuns(): PendingRun[] {
    return (
      statement(
        this.db,
        'SELECT root, gtin, lot, count, pending, created_ms FROM supply_runs WHERE batch IS NULL ORDER BY id',
      ).all() as {
        root: Hex;
        gtin: string;
        lot: string;
        count: number;
        pending: string;
        created_ms: number;
      }[]
    ).map((r) => ({
      root: r.root,
      gtin: r.gtin,
      lot: r.lot,
      count: r.count,
      run: JSON.parse(r.pending),
      createdMs: r.created_ms,
    }));
  }

  /** Forget a run the chain refused (only while it is pending). */
  dropPendingRun(root: Hex): void {
    statement(this.db, 'DELETE FROM supply_runs WHERE root = ? AND batch IS NULL').run(root);
  }

  /** Whether this member commissioned (or is commissioning) lot `lot` of `gtin`, or holds units of it. */
  hasLot(gtin: string, lot: string): boolean {
    return (
      statement(this.db, 'SELECT 1 FROM supply_runs WHERE gtin = ? AND lot = ? LIMIT 1').get(gtin, lot) !==
        undefined ||
      statement(this.db, 'SELECT 1 FROM supply_units WHERE gtin = ? AND lot = ? LIMIT 1').get(gtin, lot) !==
        undefined
    );
  }

  /**
   * Store a run the chain confirmed: its batch number and tree (once) and its units, each naming
   * its leaf, in one transaction (the caller's, if it is in one). A unit already held is kept.
   */
  putCommissionedRun(r: CommissionedRun, now = Date.now()): void {
    if (r.levels.length !== levelsBytes(r.units.length) || rootOf(r.levels) !== r.root.toLowerCase())
      throw new StoreError('supply-run-mismatch', `the tree given is not the one of run ${r.root}`);
    const one = statement(
      this.db,
      `INSERT OR IGNORE INTO supply_units (${UNIT_COLUMNS}, received_ms) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?)`,
    );
    const many = statement(
      this.db,
      `INSERT OR IGNORE INTO supply_units (${UNIT_COLUMNS}, received_ms) VALUES ${Array(INSERT_CHUNK)
        .fill('(?, ?, ?, ?, ?, ?, NULL, ?, ?)')
        .join(', ')}`,
    );
    // In key order (the table is clustered on GTIN and serial): each page is touched once.
    const order = r.units.map((_, k) => k);
    order.sort((a, b) => {
      const x = r.units[a] as PackIdentifier;
      const y = r.units[b] as PackIdentifier;
      return x.gtin === y.gtin ? (x.serial < y.serial ? -1 : 1) : x.gtin < y.gtin ? -1 : 1;
    });
    const values = (k: number) => {
      const u = r.units[k] as PackIdentifier & { commitment: Commitment };
      return [u.gtin, u.serial, u.lot, u.expiry, u.commitment, r.batch, k, now];
    };
    this.db.transaction(() => {
      statement(
        this.db,
        `INSERT INTO supply_runs (root, gtin, lot, count, batch, tree, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (root) DO UPDATE SET batch = excluded.batch, tree = excluded.tree, pending = NULL`,
      ).run(
        r.root,
        r.gtin,
        r.lot,
        r.units.length,
        r.batch,
        Buffer.from(r.levels.buffer, r.levels.byteOffset, r.levels.length),
        now,
      );
      let i = 0;
      for (; i + INSERT_CHUNK <= order.length; i += INSERT_CHUNK)
        many.run(order.slice(i, i + INSERT_CHUNK).flatMap(values));
      for (; i < order.length; i++) one.run(values(order[i] as number));
    })();
    this.remember(r.batch, { count: r.units.length, levels: r.levels });
  }

  /**
   * The unit with this GTIN and serial, if this member holds (or held) it. A unit's row never
   * changes once stored (inserts keep what is there; nothing deletes), so the last ones asked
   * about are answered from memory; a unit not held is asked of the table each time.
   */
  unit(gtin: string, serial: string): StoredUnit | undefined {
    const key = `${gtin}\u0000${serial}`;
    const hit = this.recent.get(key);
    if (hit) {
      this.recent.delete(key);
      this.recent.set(key, hit); // most recently used last
      return hit;
    }
    const r = statement(
      this.db,
      `SELECT ${UNIT_COLUMNS} FROM supply_units WHERE gtin = ? AND serial = ?`,
    ).get(gtin, serial) as UnitRow | undefined;
    if (!r) return undefined;
    const u = this.fromRow(r);
    Object.freeze(u.proof);
    Object.freeze(u);
    if (this.recent.size >= CACHED_UNITS) this.recent.delete(this.recent.keys().next().value as string);
    this.recent.set(key, u);
    return u;
  }

  /** Every unit of one GTIN and lot this member holds records of, in serial order. */
  unitsOfLot(gtin: string, lot: string): StoredUnit[] {
    return (
      statement(
        this.db,
        `SELECT ${UNIT_COLUMNS} FROM supply_units WHERE gtin = ? AND lot = ? ORDER BY serial`,
      ).all(gtin, lot) as UnitRow[]
    ).map((r) => this.fromRow(r));
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

  /**
   * Note a verification request about a unit (who asked, when): kept as each asker's latest. In
   * the caller's transaction; if that fails, the caller calls {@link forgetScans}.
   */
  recordScan(gtin: string, serial: string, requester: string, atMs: number): void {
    statement(
      this.db,
      `INSERT INTO supply_askers (gtin, serial, requester, last_ms) VALUES (?, ?, ?, ?)
       ON CONFLICT (gtin, serial, requester) DO UPDATE SET last_ms = max(last_ms, excluded.last_ms)`,
    ).run(gtin, serial, requester, atMs);
    const known = this.askers.get(`${gtin}\u0000${serial}`);
    if (!known) return;
    const a = known.find((x) => x.by === requester);
    if (!a) known.push({ by: requester, at: atMs });
    else if (atMs > a.at) a.at = atMs;
  }

  /** Drop what memory holds of who asked about a unit (a transaction that noted a request failed). */
  forgetScans(gtin: string, serial: string): void {
    this.askers.delete(`${gtin}\u0000${serial}`);
  }

  /**
   * Who asked about a unit since `sinceMs`, each asker once with their latest request, oldest
   * first (as many rows as askers, however often each asked). The askers of the units last asked
   * about are kept in memory, written through by {@link recordScan}.
   */
  recentScans(gtin: string, serial: string, sinceMs: number): { by: string; at: number }[] {
    const key = `${gtin}\u0000${serial}`;
    let known = this.askers.get(key);
    if (known) {
      this.askers.delete(key);
      this.askers.set(key, known); // most recently used last
    } else {
      known = (
        statement(this.db, 'SELECT requester, last_ms FROM supply_askers WHERE gtin = ? AND serial = ?').all(
          gtin,
          serial,
        ) as { requester: string; last_ms: number }[]
      ).map((r) => ({ by: r.requester, at: r.last_ms }));
      if (this.askers.size >= CACHED_UNITS) this.askers.delete(this.askers.keys().next().value as string);
      this.askers.set(key, known);
    }
    return known
      .filter((x) => x.at >= sinceMs)
      .map((x) => ({ by: x.by, at: x.at }))
      .sort((x, y) => x.at - y.at);
  }

  /** A setting of this member's supply chain role (e.g. `gln`). */
  setting(name: string): string | undefined {
    const known = settingsOf(this.db);
    const inTransaction = this.db.inTransaction;
    if (!inTransaction && known.has(name)) return known.get(name);
    const value = (
      statement(this.db, 'SELECT value FROM supply_settings WHERE name = ?').get(name) as
        | { value: string }
        | undefined
    )?.value;
    // Only what is set and committed is kept (a transaction may see a write it then rolls back);
    // a setting written later through this connection updates it.
    if (value !== undefined && !inTransaction) known.set(name, value);
    return value;
  }

  /** Set a setting. */
  setSetting(name: string, value: string): void {
    statement(
      this.db,
      'INSERT INTO supply_settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
    ).run(name, value);
    // Inside a transaction the write may yet roll back: forgotten, read again once committed.
    if (this.db.inTransaction) settingsOf(this.db).delete(name);
    else settingsOf(this.db).set(name, value);
  }
}

/**
 * The settings read or written through each connection, shared by every UnitStore on it (the seed
 * writes a node's GLN through a store of its own). Only this process writes a member's store.
 */
const settings = new WeakMap<Db, Map<string, string>>();

function settingsOf(db: Db): Map<string, string> {
  let m = settings.get(db);
  if (!m) {
    m = new Map();
    settings.set(db, m);
  }
  return m;
}
