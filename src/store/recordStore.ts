/**
 * The encrypted record store: versions (ciphertext + hash), key wraps, the blind search index and
 * patient public keys. It only ever sees ciphertext, wrapped keys, HMAC tokens and date ranges;
 * encryption happens above it (src/node/recordService.ts).
 */
import type Database from 'better-sqlite3';
import type { Db } from './database.js';
import { StoreError, statement, truncateWal } from './database.js';
import {
  addressesMatching,
  type DiscoveryEntry,
  patientsToIndex,
  replaceDiscoveryTokens,
} from './discoveryStore.js';

export interface VersionRow {
  resourceType: string;
  id: string;
  version: number;
  lastUpdated: string;
  lastUpdatedMs: number;
  patientRef: string;
  deleted: boolean;
  nonce: Uint8Array | null;
  ciphertext: Uint8Array | null;
  ciphertextHash: string;
  /** Consent category bits of this version (src/records/recordCategory.ts); null = not classified yet. */
  categories: number | null;
  /** The reading member's own wrap of this version, when the query that found it fetched it too. */
  ownWrap?: WrapRow;
  /**
   * The chain address (lowercase) linked to `patientRef`, or null when none is, when the query that
   * found the row fetched it too (undefined: not fetched, ask the store).
   */
  patientAddress?: string | null;
}

/** Every category bit: what an unclassified version counts as. */
export const ALL_CATEGORY_BITS = 0xff;

export type WrapKind = 'hpke' | 'kek' | 'patient-key';

export interface WrapRow {
  /** Hex X25519 public key of the recipient ('hpke'), "kek:<id>" ('kek') or "pk:<kid>" ('patient-key'). */
  recipient: string;
  kind: WrapKind;
  /** The HPKE encapsulated key ('hpke'); empty for symmetric wraps. */
  enc: Uint8Array;
  wrapped: Uint8Array;
}

/** A patient's record key: under this member's KEK, and sealed to the patient with HPKE (sent once). */
export interface PatientRecordKeyRow {
  patientRef: string;
  kid: string;
  kekId: string;
  wrapped: Uint8Array;
  /** Hex X25519 public key of the patient it is sealed to. */
  recipient: string;
  enc: Uint8Array;
  sealed: Uint8Array;
  createdMs: number;
}

/** One version ready to be written, with everything it brings. */
export interface PreparedVersion {
  row: VersionRow;
  wraps: WrapRow[];
  tokens: { param: string; token: string }[];
  dates: { param: string; lo: number; hi: number }[];
  patientKey?: Uint8Array;
  /** A new record key for the patient, created for this write. */
  patientRecordKey?: PatientRecordKeyRow;
  /** For a Patient linked to a chain address (identifier urn:medchain:patient): that address. */
  patientAddress?: string;
  /** For such a Patient, when this member holds a consortium key: its discovery tokens. */
  discovery?: DiscoveryEntry;
  /** The head version this write was prepared against (0 = the record must not exist yet). */
  expectedPrevious: number;
}

/** The record changed between preparing and committing a write. */
export class VersionConflictError extends StoreError {
  constructor(
    readonly resourceType: string,
    readonly id: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super('version-conflict', `${resourceType}/${id} is at version ${actual}, not ${expected}`);
  }
}

export type BlindClause =
  | { kind: 'tokens'; param: string; tokens: string[] }
  | { kind: 'date'; param: string; op: 'eq' | 'gt' | 'lt' | 'ge' | 'le'; lo: number; hi: number }
  | { kind: 'ids'; ids: string[] }
  | { kind: 'lastUpdated'; op: 'eq' | 'gt' | 'lt' | 'ge' | 'le'; lo: number; hi: number };

interface RawVersion {
  resource_type: string;
  id: string;
  version: number;
  last_updated: string;
  last_updated_ms: number;
  patient_ref: string;
  deleted: number;
  nonce: Buffer | null;
  ciphertext: Buffer | null;
  ciphertext_hash: string;
  category_mask: number | null;
}

const toVersion = (r: RawVersion): VersionRow => ({
  resourceType: r.resource_type,
  id: r.id,
  version: r.version,
  lastUpdated: r.last_updated,
  lastUpdatedMs: r.last_updated_ms,
  patientRef: r.patient_ref,
  deleted: r.deleted === 1,
  nonce: r.nonce,
  ciphertext: r.ciphertext,
  ciphertextHash: r.ciphertext_hash,
  categories: r.category_mask,
});

/**
 * Columns LEFT JOINed to a version (OWN_WRAP_JOIN): its own wrap (null when it has none under that
 * recipient) and its patient's chain address (null when none is linked).
 */
interface JoinedColumns {
  w_recipient: string | null;
  w_kind: WrapKind;
  w_enc: Buffer;
  w_wrapped: Buffer;
  p_address: string | null;
}

/** The own wrap (recipient `own`) and the patient address of the version `v`, for JoinedColumns. */
const OWN_WRAP_JOIN = `w.recipient AS w_recipient, w.kind AS w_kind, w.enc AS w_enc, w.wrapped AS w_wrapped,
       pa.address AS p_address`;
const joinsOf = (own: string) => `LEFT JOIN key_wraps w ON w.resource_type = v.resource_type AND w.id = v.id
         AND w.version = v.version AND w.recipient = ${own}
       LEFT JOIN patient_addresses pa ON pa.patient_ref = v.patient_ref`;

const withJoined = (r: RawVersion & JoinedColumns): VersionRow => {
  const row = toVersion(r);
  if (r.w_recipient !== null)
    row.ownWrap = { recipient: r.w_recipient, kind: r.w_kind, enc: r.w_enc, wrapped: r.w_wrapped };
  row.patientAddress = r.p_address;
  return row;
};

/** Replace a record's search index rows (blind tokens and date ranges) with `tokens` and `dates`. */
function replaceIndex(
  db: Db,
  type: string,
  id: string,
  tokens: readonly { param: string; token: string }[],
  dates: readonly { param: string; lo: number; hi: number }[],
  /** The resource has no head yet (its first version, in this transaction): nothing to delete. */
  fresh = false,
): void {
  if (!fresh) {
    statement(db, 'DELETE FROM search_tokens WHERE resource_type = ? AND id = ?').run(type, id);
    statement(db, 'DELETE FROM search_dates WHERE resource_type = ? AND id = ?').run(type, id);
  }
  const token = statement(
    db,
    'INSERT OR IGNORE INTO search_tokens (resource_type, id, param, token) VALUES (?, ?, ?, ?)',
  );
  const date = statement(
    db,
    'INSERT INTO search_dates (resource_type, id, param, lo, hi) VALUES (?, ?, ?, ?, ?)',
  );
  for (const t of tokens) token.run(type, id, t.param, t.token);
  for (const d of dates) date.run(type, id, d.param, d.lo, d.hi);
}

/** SQL for one date clause over a stored range [lo, hi) (FHIR prefix semantics, see src/fhir/dates.ts). */
function dateSql(op: string, loCol: string, hiCol: string): string {
  switch (op) {
    case 'eq':
      return `${loCol} >= @lo AND ${hiCol} <= @hi`;
    case 'ge':
      return `${hiCol} > @lo`;
    case 'gt':
      return `${hiCol} > @hi`;
    case 'le':
      return `${loCol} < @hi`;
    default:
      return `${loCol} < @lo`;
  }
}

/** Current rows kept in memory (ciphertext, never plaintext; about 2 KB each). */
const CACHED_HEADS = 4_096;

/**
 * The current rows last read through one connection, for {@link RecordStore.current}: a single
 * record read is the hot path of the API, and its query (head, version, own wrap and patient
 * address, the ciphertext on overflow pages) costs more than the rest of the store's part of a
 * read. Kept exact: every write to those tables goes through RecordStore, which drops the rows it
 * changes before it writes (so a rolled-back write leaves nothing stale); nothing is kept or
 * answered while a transaction is open on the connection (it may see writes not yet committed);
 * and a commit by any other connection to the file (another process, SQLite's `data_version`)
 * empties it: checked on every `get`; a `peek` is checked later, by `confirm`, one check for every
 * peek before it. Shared by every RecordStore on the connection.
 */
class HeadCache {
  private readonly rows = new Map<string, { own: string | null; row: VersionRow }>();
  private readonly dataVersion: Database.Statement;
  private seen: unknown;
  /** Checks of `data_version` made so far, and the number of the last one that found a change. */
  private checks = 0;
  private changedAt = 0;

  constructor(private readonly db: Db) {
    this.dataVersion = db.prepare('PRAGMA data_version').pluck();
  }

  /** Ask the file whether another connection committed since the last check; if so, empty. */
  private check(): unknown {
    const v = this.dataVersion.get();
    this.checks++;
    if (v !== this.seen) {
      this.seen = v;
      this.rows.clear();
      this.changedAt = this.checks;
    }
    return v;
  }

  /**
   * The row kept for `key` and `own`, and a mark to {@link put} a row read after this call with
   * (undefined: nothing may be kept now). Empties itself first if another connection committed.
   */
  get(key: string, own: string | null): { row: VersionRow | undefined; mark: unknown } {
    if (this.db.inTransaction) return { row: undefined, mark: undefined };
    const changes = this.changedAt;
    const v = this.check();
    if (this.changedAt !== changes) return { row: undefined, mark: v };
    return { row: this.take(key, own), mark: v };
  }

  /**
   * The row kept for `key` and `own` WITHOUT asking the file now, with a ticket: the row is exact
   * only once {@link confirm} of the ticket says so (undefined: nothing kept, or a transaction is open).
   */
  peek(key: string, own: string | null): { row: VersionRow; ticket: number } | undefined {
    if (this.db.inTransaction) return undefined;
    const row = this.take(key, own);
    return row && { row, ticket: this.checks };
  }

  /**
   * Whether no other connection committed between the peek that gave `ticket` and now (then the
   * row peeked at was current at that peek). One check of the file answers for every peek made
   * before it: the reads of one log batch confirm with one query, not one each.
   */
  confirm(ticket: number): boolean {
    if (this.checks === ticket) this.check();
    return this.changedAt <= ticket;
  }

  private take(key: string, own: string | null): VersionRow | undefined {
    const hit = this.rows.get(key);
    if (!hit || hit.own !== own) return undefined;
    this.rows.delete(key);
    this.rows.set(key, hit); // most recently used last
    return hit.row;
  }

  /** Keep `row`, read after the get that gave `mark`, unless something changed since. */
  put(key: string, own: string | null, row: VersionRow, mark: unknown): void {
    if (mark === undefined || mark !== this.seen || this.db.inTransaction) return;
    this.rows.delete(key); // most recently used last, and no eviction for a key already held
    if (this.rows.size >= CACHED_HEADS) this.rows.delete(this.rows.keys().next().value as string);
    this.rows.set(key, { own, row });
  }

  drop(key: string): void {
    this.rows.delete(key);
  }

  clear(): void {
    this.rows.clear();
  }
}

const headCaches = new WeakMap<Db, HeadCache>();

function headCacheOf(db: Db): HeadCache {
  let c = headCaches.get(db);
  if (!c) {
    c = new HeadCache(db);
    headCaches.set(db, c);
  }
  return c;
}

/**
 * The columns of a search page, in the order `fromSearchRow` reads them: a version's, then those of
 * OWN_WRAP_JOIN (its own wrap, its patient's address).
 */
const SEARCH_COLUMNS = `v.resource_type, v.id, v.version, v.last_updated, v.last_updated_ms, v.patient_ref,
       v.deleted, v.nonce, v.ciphertext, v.ciphertext_hash, v.category_mask,
       w.recipient, w.kind, w.enc, w.wrapped, pa.address`;

type SearchRow = [
  string,
  string,
  number,
  string,
  number,
  string,
  number,
  Buffer | null,
  Buffer | null,
  string,
  number | null,
  string | null,
  WrapKind,
  Buffer,
  Buffer,
  string | null,
];

const fromSearchRow = (r: SearchRow): VersionRow => {
  const row: VersionRow = {
    resourceType: r[0],
    id: r[1],
    version: r[2],
    lastUpdated: r[3],
    lastUpdatedMs: r[4],
    patientRef: r[5],
    deleted: r[6] === 1,
    nonce: r[7],
    ciphertext: r[8],
    ciphertextHash: r[9],
    categories: r[10],
  };
  if (r[11] !== null) row.ownWrap = { recipient: r[11], kind: r[12], enc: r[13], wrapped: r[14] };
  row.patientAddress = r[15];
  return row;
};

/** The (cached) statement of a search page, returning its rows as arrays of SEARCH_COLUMNS. */
function searchStatement(db: Db, sql: string): Database.Statement {
  const s = statement(db, sql);
  // Only search pages run this SQL, so the cached statement stays in raw mode.
  return s.raw(true);
}

export class RecordStore {
  constructor(private readonly db: Db) {}

  /** Chain addresses of live Patients with any of `tokens` under consortium key `kid` (src/store/discoveryStore.ts). */
  discoveryMatches(kid: string, tokens: readonly string[], limit: number): string[] {
    return addressesMatching(this.db, kid, tokens, limit);
  }

  /** Ids of live, address-linked Patients whose discovery tokens are not under `kid`. */
  patientsToIndex(kid: string, limit: number): string[] {
    return patientsToIndex(this.db, kid, limit);
  }

  /** Set one Patient's discovery tokens outside a record write (indexing stored Patients). */
  setDiscoveryTokens(patientRef: string, entry: DiscoveryEntry | undefined): void {
    this.db.transaction(() => replaceDiscoveryTokens(this.db, patientRef, entry))();
  }

  head(type: string, id: string): { version: number; deleted: boolean; patientRef: string } | undefined {
    const r = statement(
      this.db,
      'SELECT version, deleted, patient_ref FROM resource_heads WHERE resource_type = ? AND id = ?',
    ).get(type, id) as { version: number; deleted: number; patient_ref: string } | undefined;
    return r && { version: r.version, deleted: r.deleted === 1, patientRef: r.patient_ref };
  }

  /**
   * The current version of a record in one query (a deleted record's current version is its
   * deletion), with the wrap for recipient `own` when there is one (`ownWrap`) and its patient's
   * chain address, so that a read needs no second query for its key or its log entry.
   */
  current(type: string, id: string, own?: string): VersionRow | undefined {
    const cache = headCacheOf(this.db);
    const key = `${type}\u0000${id}`;
    const { row: hit, mark } = cache.get(key, own ?? null);
    if (hit) return hit;
    const r = statement(
      this.db,
      `SELECT v.*, ${OWN_WRAP_JOIN}
         FROM resource_heads h
         JOIN resource_versions v ON v.resource_type = h.resource_type AND v.id = h.id AND v.version = h.version
       ${joinsOf('@own')}
        WHERE h.resource_type = @type AND h.id = @id`,
    ).get({ own: own ?? null, type, id }) as (RawVersion & JoinedColumns) | undefined;
    if (!r) return undefined;
    const row = withJoined(r);
    cache.put(key, own ?? null, row, mark);
    return row;
  }

  /**
   * `current` as kept in memory, without asking the file whether another connection changed it:
   * exact only once {@link confirmKept} of its ticket says so (undefined: nothing kept).
   */
  currentKept(type: string, id: string, own?: string): { row: VersionRow; ticket: number } | undefined {
    return headCacheOf(this.db).peek(`${type}\u0000${id}`, own ?? null);
  }

  /** Whether a row from {@link currentKept} was current when it was taken (no other connection had committed). */
  confirmKept(ticket: number): boolean {
    return headCacheOf(this.db).confirm(ticket);
  }

  version(type: string, id: string, version: number): VersionRow | undefined {
    const r = statement(
      this.db,
      'SELECT * FROM resource_versions WHERE resource_type = ? AND id = ? AND version = ?',
    ).get(type, id, version) as RawVersion | undefined;
    return r && toVersion(r);
  }

  history(type: string, id: string): VersionRow[] {
    return (
      statement(
        this.db,
        'SELECT * FROM resource_versions WHERE resource_type = ? AND id = ? ORDER BY version DESC',
      ).all(type, id) as RawVersion[]
    ).map(toVersion);
  }

  wrap(type: string, id: string, version: number, recipient: string): WrapRow | undefined {
    const r = statement(
      this.db,
      'SELECT recipient, kind, enc, wrapped FROM key_wraps WHERE resource_type = ? AND id = ? AND version = ? AND recipient = ?',
    ).get(type, id, version, recipient) as WrapRow | undefined;
    return r;
  }

  patientKey(patientRef: string): Uint8Array | undefined {
    const r = statement(this.db, 'SELECT encryption_key FROM patient_keys WHERE patient_ref = ?').get(
      patientRef,
    ) as { encryption_key: Buffer } | undefined;
    return r?.encryption_key;
  }

  /**
   * Write every prepared version in one transaction (all or nothing). A deleted version
   * crypto-shreds the record: every wrap, nonce and ciphertext of every version and its index
   * rows are destroyed (secure_delete zeroes the freed pages); hashes stay.
   */
  commit(versions: readonly PreparedVersion[]): void {
    const db = this.db;
    const insertVersion = statement(
      db,
      `INSERT INTO resource_versions (resource_type, id, version, last_updated, last_updated_ms, patient_ref, deleted, nonce, ciphertext, ciphertext_hash, category_mask)
       VALUES (@resourceType, @id, @version, @lastUpdated, @lastUpdatedMs, @patientRef, @deleted, @nonce, @ciphertext, @ciphertextHash, @categories)`,
    );
    const upsertHead = statement(
      db,
      `INSERT INTO resource_heads (resource_type, id, version, deleted, patient_ref, last_updated_ms, category_mask)
       VALUES (@resourceType, @id, @version, @deleted, @patientRef, @lastUpdatedMs, @categories)
       ON CONFLICT (resource_type, id) DO UPDATE SET version = excluded.version, deleted = excluded.deleted,
         patient_ref = excluded.patient_ref, last_updated_ms = excluded.last_updated_ms,
         category_mask = excluded.category_mask`,
    );
    const insertWrap = statement(
      db,
      'INSERT INTO key_wraps (resource_type, id, version, recipient, kind, enc, wrapped) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const insertPatientKey = statement(
      db,
      `INSERT OR IGNORE INTO patient_record_keys (patient_ref, kid, kek_id, wrapped, recipient, enc, sealed, created_ms)
       VALUES (@patientRef, @kid, @kekId, @wrapped, @recipient, @enc, @sealed, @createdMs)`,
    );
    const upsertKey = statement(
      db,
      'INSERT INTO patient_keys (patient_ref, encryption_key) VALUES (?, ?) ON CONFLICT (patient_ref) DO UPDATE SET encryption_key = excluded.encryption_key',
    );
    const upsertAddress = statement(
      db,
      'INSERT INTO patient_addresses (patient_ref, address) VALUES (?, ?) ON CONFLICT (patient_ref) DO UPDATE SET address = excluded.address',
    );
    const shredWraps = statement(db, 'DELETE FROM key_wraps WHERE resource_type = ? AND id = ?');
    const shredContent = statement(
      db,
      'UPDATE resource_versions SET nonce = NULL, ciphertext = NULL WHERE resource_type = ? AND id = ?',
    );
    const cache = headCacheOf(db);
    for (const p of versions) {
      // A Patient's address is joined into every row of its records: any Patient write drops all.
      if (p.row.resourceType === 'Patient' || p.patientAddress) cache.clear();
      else cache.drop(`${p.row.resourceType}\u0000${p.row.id}`);
    }
    db.transaction(() => {
      for (const p of versions) {
        const { row } = p;
        const current = this.head(row.resourceType, row.id)?.version ?? 0;
        if (current !== p.expectedPrevious) {
          throw new VersionConflictError(row.resourceType, row.id, p.expectedPrevious, current);
        }
        insertVersion.run({ ...row, deleted: row.deleted ? 1 : 0 });
        upsertHead.run({ ...row, deleted: row.deleted ? 1 : 0 });
        replaceIndex(
          db,
          row.resourceType,
          row.id,
          row.deleted ? [] : p.tokens,
          row.deleted ? [] : p.dates,
          current === 0,
        );
        if (row.resourceType === 'Patient')
          replaceDiscoveryTokens(
            db,
            `Patient/${row.id}`,
            row.deleted || !p.patientAddress ? undefined : p.discovery,
          );
        if (row.deleted) {
          shredWraps.run(row.resourceType, row.id);
          shredContent.run(row.resourceType, row.id);
          if (row.resourceType === 'Patient')
            statement(db, 'DELETE FROM patient_keys WHERE patient_ref = ?').run(`Patient/${row.id}`);
          continue;
        }
        if (p.patientRecordKey) insertPatientKey.run(p.patientRecordKey);
        for (const w of p.wraps)
          insertWrap.run(row.resourceType, row.id, row.version, w.recipient, w.kind, w.enc, w.wrapped);
        if (p.patientKey) upsertKey.run(row.patientRef, p.patientKey);
        if (p.patientAddress) upsertAddress.run(row.patientRef, p.patientAddress.toLowerCase());
        else if (row.resourceType === 'Patient')
          statement(db, 'DELETE FROM patient_addresses WHERE patient_ref = ?').run(row.patientRef);
      }
    })();
  }

  /** The current, live version row of every record of a patient. */
  currentRowsForPatient(patientRef: string): VersionRow[] {
    return (
      statement(
        this.db,
        `SELECT v.* FROM resource_heads h JOIN resource_versions v
             ON v.resource_type = h.resource_type AND v.id = h.id AND v.version = h.version
           WHERE h.patient_ref = ? AND h.deleted = 0`,
      ).all(patientRef) as RawVersion[]
    ).map(toVersion);
  }

  /** Patient references linked to a chain address. */
  patientRefsForAddress(address: string): string[] {
    return (
      statement(this.db, 'SELECT patient_ref FROM patient_addresses WHERE address = ?').all(
        address.toLowerCase(),
      ) as { patient_ref: string }[]
    ).map((r) => r.patient_ref);
  }

  /** The stored wrap for a recipient key (hex), if any. */
  wrapOf(row: Pick<VersionRow, 'resourceType' | 'id' | 'version'>, recipient: string): WrapRow | undefined {
    return this.wrap(row.resourceType, row.id, row.version, recipient);
  }

  /** The chain address linked to a patient reference, if any. */
  patientAddress(patientRef: string): string | undefined {
    const r = statement(this.db, 'SELECT address FROM patient_addresses WHERE patient_ref = ?').get(
      patientRef,
    ) as { address: string } | undefined;
    return r?.address;
  }

  /** The first of `recipients` (in that order of preference) that holds a wrap of this version. */
  firstWrap(
    row: Pick<VersionRow, 'resourceType' | 'id' | 'version'>,
    recipients: readonly string[],
  ): WrapRow | undefined {
    for (const r of recipients) {
      const w = this.wrap(row.resourceType, row.id, row.version, r);
      if (w) return w;
    }
    return undefined;
  }

  /** The wraps of one kind of a version (e.g. the patient's copy). */
  wrapsOfKind(row: Pick<VersionRow, 'resourceType' | 'id' | 'version'>, kind: WrapKind): WrapRow[] {
    return statement(
      this.db,
      'SELECT recipient, kind, enc, wrapped FROM key_wraps WHERE resource_type = ? AND id = ? AND version = ? AND kind = ?',
    ).all(row.resourceType, row.id, row.version, kind) as WrapRow[];
  }

  /** Up to `limit` wraps held by `recipient` (to rewrap them under another key), with their versions. */
  wrapsOf(
    recipient: string,
    limit: number,
  ): { resourceType: string; id: string; version: number; patientRef: string; wrap: WrapRow }[] {
    return (
      statement(
        this.db,
        `SELECT w.resource_type, w.id, w.version, v.patient_ref, w.recipient, w.kind, w.enc, w.wrapped
             FROM key_wraps w JOIN resource_versions v
               ON v.resource_type = w.resource_type AND v.id = w.id AND v.version = w.version
            WHERE w.recipient = ? LIMIT ?`,
      ).all(recipient, limit) as {
        resource_type: string;
        id: string;
        version: number;
        patient_ref: string;
        recipient: string;
        kind: WrapKind;
        enc: Buffer;
        wrapped: Buffer;
      }[]
    ).map((r) => ({
      resourceType: r.resource_type,
      id: r.id,
      version: r.version,
      patientRef: r.patient_ref,
      wrap: { recipient: r.recipient, kind: r.kind, enc: r.enc, wrapped: r.wrapped },
    }));
  }

  /** Replace wraps of versions (one old recipient each) by new ones, in one transaction. */
  replaceWraps(
    items: readonly { resourceType: string; id: string; version: number; from: string; to: WrapRow }[],
  ): void {
    const del = statement(
      this.db,
      'DELETE FROM key_wraps WHERE resource_type = ? AND id = ? AND version = ? AND recipient = ?',
    );
    const ins = statement(
      this.db,
      'INSERT OR REPLACE INTO key_wraps (resource_type, id, version, recipient, kind, enc, wrapped) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const cache = headCacheOf(this.db);
    for (const i of items) cache.drop(`${i.resourceType}\u0000${i.id}`);
    this.db.transaction(() => {
      for (const i of items) {
        del.run(i.resourceType, i.id, i.version, i.from);
        ins.run(i.resourceType, i.id, i.version, i.to.recipient, i.to.kind, i.to.enc, i.to.wrapped);
      }
    })();
  }

  /** The record keys of a patient (newest last). */
  patientRecordKeys(patientRef: string): PatientRecordKeyRow[] {
    return (
      statement(
        this.db,
        'SELECT * FROM patient_record_keys WHERE patient_ref = ? ORDER BY created_ms, kid',
      ).all(patientRef) as {
        patient_ref: string;
        kid: string;
        kek_id: string;
        wrapped: Buffer;
        recipient: string;
        enc: Buffer;
        sealed: Buffer;
        created_ms: number;
      }[]
    ).map((r) => ({
      patientRef: r.patient_ref,
      kid: r.kid,
      kekId: r.kek_id,
      wrapped: r.wrapped,
      recipient: r.recipient,
      enc: r.enc,
      sealed: r.sealed,
      createdMs: r.created_ms,
    }));
  }

  /** Patient record keys held under a KEK other than `kekId` (to rewrap on rotation). */
  patientRecordKeysNotUnder(kekId: string, limit: number): PatientRecordKeyRow[] {
    const refs = statement(
      this.db,
      'SELECT DISTINCT patient_ref FROM patient_record_keys WHERE kek_id != ? LIMIT ?',
    ).all(kekId, limit) as { patient_ref: string }[];
    return refs.flatMap((r) => this.patientRecordKeys(r.patient_ref)).filter((k) => k.kekId !== kekId);
  }

  /** Store a patient record key rewrapped under another KEK. */
  rewrapPatientRecordKey(patientRef: string, kid: string, kekId: string, wrapped: Uint8Array): void {
    statement(
      this.db,
      'UPDATE patient_record_keys SET kek_id = ?, wrapped = ? WHERE patient_ref = ? AND kid = ?',
    ).run(kekId, wrapped, patientRef, kid);
  }

  /** Up to `limit` live versions written before categories were stored (migration 5). */
  unclassified(limit: number): VersionRow[] {
    return (
      statement(
        this.db,
        'SELECT * FROM resource_versions WHERE category_mask IS NULL AND deleted = 0 AND ciphertext IS NOT NULL LIMIT ?',
      ).all(limit) as RawVersion[]
    ).map(toVersion);
  }

  /** Record the categories of versions classified after the fact (and of their heads). */
  setCategories(
    rows: readonly { resourceType: string; id: string; version: number; categories: number }[],
  ): void {
    const v = statement(
      this.db,
      'UPDATE resource_versions SET category_mask = ? WHERE resource_type = ? AND id = ? AND version = ?',
    );
    const h = statement(
      this.db,
      'UPDATE resource_heads SET category_mask = ? WHERE resource_type = ? AND id = ? AND version = ?',
    );
    const cache = headCacheOf(this.db);
    for (const r of rows) cache.drop(`${r.resourceType}\u0000${r.id}`);
    this.db.transaction(() => {
      for (const r of rows) {
        v.run(r.categories, r.resourceType, r.id, r.version);
        h.run(r.categories, r.resourceType, r.id, r.version);
      }
    })();
  }

  /** Up to `limit` records waiting to be indexed again (schema migration 8). */
  reindexQueue(limit: number): { resourceType: string; id: string }[] {
    return (
      statement(this.db, 'SELECT resource_type, id FROM reindex_queue LIMIT ?').all(limit) as {
        resource_type: string;
        id: string;
      }[]
    ).map((r) => ({ resourceType: r.resource_type, id: r.id }));
  }

  /**
   * Replace the index rows of records indexed again and take `done` off the queue, in one
   * transaction. An item whose record moved on since it was read (a newer version was written and
   * indexed by then) keeps its current rows.
   */
  reindex(
    items: readonly {
      resourceType: string;
      id: string;
      version: number;
      tokens: readonly { param: string; token: string }[];
      dates: readonly { param: string; lo: number; hi: number }[];
    }[],
    done: readonly { resourceType: string; id: string }[],
  ): void {
    const db = this.db;
    const dequeue = statement(db, 'DELETE FROM reindex_queue WHERE resource_type = ? AND id = ?');
    db.transaction(() => {
      for (const i of items) {
        const head = this.head(i.resourceType, i.id);
        if (!head || head.deleted || head.version !== i.version) continue;
        replaceIndex(db, i.resourceType, i.id, i.tokens, i.dates);
      }
      for (const d of done) dequeue.run(d.resourceType, d.id);
    })();
  }

  /**
   * Move WAL content into the database file and truncate the WAL (after shredding). While another
   * connection holds a read snapshot (a verification running), the pages it may still read cannot
   * go: this then copies what it can without waiting (the default busy wait would stall the node
   * for seconds) and returns false; the verifier truncates the WAL when it lets go of its snapshot.
   */
  checkpoint(): boolean {
    return truncateWal(this.db);
  }

  /**
   * Ids of live records of `type` matching every clause, newest first, with the total count.
   * `allowed` (a category mask) restricts the search, before anything is matched or counted, to
   * records whose every category bit it covers; an unclassified record counts as every category.
   */
  search(
    type: string,
    clauses: readonly BlindClause[],
    count: number,
    offset: number,
    allowed: number = ALL_CATEGORY_BITS,
    /** A recipient whose wrap of each found version comes with it (one query for the whole page). */
    own?: string,
  ): { rows: VersionRow[]; total: number } {
    if (
      clauses.some(
        (c) => (c.kind === 'tokens' && c.tokens.length === 0) || (c.kind === 'ids' && c.ids.length === 0),
      )
    ) {
      return { rows: [], total: 0 };
    }
    // With a token clause, SQLite must start from the matching ids (the heads' primary key, one
    // lookup per id): the unary + keeps it from walking every head of the type through the
    // (resource_type, deleted, last_updated_ms) index instead, which it otherwise prefers.
    const byToken = clauses.some((c) => c.kind === 'tokens' || c.kind === 'ids');
    const where = ['h.resource_type = @type', byToken ? '+h.deleted = 0' : 'h.deleted = 0'];
    const params: Record<string, unknown> = { type };
    if ((allowed & ALL_CATEGORY_BITS) !== ALL_CATEGORY_BITS) {
      params.allowed = allowed & ALL_CATEGORY_BITS;
      where.push(`(coalesce(h.category_mask, ${ALL_CATEGORY_BITS}) | @allowed) = @allowed`);
    }
    clauses.forEach((c, i) => {
      const p = (name: string) => `@c${i}_${name}`;
      if (c.kind === 'tokens') {
        const list = c.tokens.map((t, j) => {
          params[`c${i}_t${j}`] = t;
          return p(`t${j}`);
        });
        params[`c${i}_param`] = c.param;
        // An IN over the token index lets SQLite start from the matching ids (and look up their
        // heads by primary key) instead of scanning every record of the type.
        where.push(
          `h.id IN (SELECT t.id FROM search_tokens t WHERE t.resource_type = @type AND t.param = ${p('param')} AND t.token IN (${list.join(', ')}))`,
        );
      } else if (c.kind === 'ids') {
        const list = c.ids.map((id, j) => {
          params[`c${i}_i${j}`] = id;
          return p(`i${j}`);
        });
        where.push(`h.id IN (${list.join(', ')})`);
      } else if (c.kind === 'date') {
        params[`c${i}_param`] = c.param;
        params[`c${i}_lo`] = c.lo;
        params[`c${i}_hi`] = c.hi;
        const cond = dateSql(c.op, 'd.lo', 'd.hi').replaceAll('@lo', p('lo')).replaceAll('@hi', p('hi'));
        where.push(
          `EXISTS (SELECT 1 FROM search_dates d WHERE d.resource_type = h.resource_type AND d.id = h.id AND d.param = ${p('param')} AND ${cond})`,
        );
      } else {
        params[`c${i}_lo`] = c.lo;
        params[`c${i}_hi`] = c.hi;
        const cond = dateSql(c.op, 'h.last_updated_ms', '(h.last_updated_ms + 1)')
          .replaceAll('@lo', p('lo'))
          .replaceAll('@hi', p('hi'));
        where.push(`(${cond})`);
      }
    });
    const sqlWhere = where.join(' AND ');
    if (!Number.isSafeInteger(count) || count < 0) throw new Error(`internal: search count ${count}`);
    // The page size is written into the SQL, not bound: SQLite (3.53) reads a bound LIMIT into the
    // plan when it compiles it, so binding one expires the statement and every search would be
    // compiled again (counts are few: the default, the member release limit, a client's _count).
    // Rows as arrays of SEARCH_COLUMNS (better-sqlite3's raw mode): building an object per row
    // cost about as much as running the query (0.1 ms of a 20-row page).
    const rows = (
      searchStatement(
        this.db,
        `SELECT ${SEARCH_COLUMNS}
           FROM resource_heads h
           JOIN resource_versions v ON v.resource_type = h.resource_type AND v.id = h.id AND v.version = h.version
         ${joinsOf('@own')}
          WHERE ${sqlWhere} ORDER BY h.last_updated_ms DESC, h.id LIMIT ${count} OFFSET @offset`,
      ).all({ ...params, own: own ?? null, offset }) as SearchRow[]
    ).map(fromSearchRow);
    // A page that is not full (and not past the end) ends the matches: its rows are the rest, so
    // the total needs no second query.
    if (rows.length < count && (rows.length > 0 || offset === 0))
      return { rows, total: offset + rows.length };
    const total = (
      statement(this.db, `SELECT count(*) AS n FROM resource_heads h WHERE ${sqlWhere}`).get(params) as {
        n: number;
      }
    ).n;
    return { rows, total };
  }
}
