/**
 * Verification of a member's store against its log and the heads anchored on chain:
 *  1. every log entry decodes, sits at the index it claims, and its stored leaf hash is right;
 *     gaps, duplicates and misplaced entries are reported as deleted, inserted or reordered;
 *  2. the tree rebuilt from the entries has, at every anchored size, the anchored root, and
 *     consecutive anchored heads are consistent (RFC 9162 consistency proofs);
 *  3. every stored ciphertext hashes to its recorded hash and to the hash in its create/update
 *     entry; versions without an entry, and entries without a version, are reported.
 * Needs no keys: it reads ciphertext, hashes and entries only.
 *
 * It streams: entries are read in pages and record versions with an iterator, in one read
 * transaction on a connection of its own (a WAL snapshot, so writes the node makes meanwhile are
 * neither seen nor blocked). What it keeps is bounded: the tree's right edge (O(log n)), 5 bytes
 * per entry for the index claims, and the logged record versions in a temporary table on disk.
 */
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { type Db, truncateWal } from '../store/database.js';
import { EntryClaims } from './_entryClaims.js';
import { type ChainHead, HeadChecks } from './_headChecks.js';
import { decodeEntry, type LogEntry } from './entry.js';
import { leafHash } from './merkle.js';

export type { ChainHead } from './_headChecks.js';

export type ProblemKind =
  | 'log-entry-modified'
  | 'log-entry-deleted'
  | 'log-entry-inserted'
  | 'log-entries-reordered'
  | 'log-rewritten'
  | 'log-truncated'
  | 'anchors-inconsistent'
  | 'record-modified'
  | 'record-unlogged'
  | 'record-deleted';

export interface Problem {
  kind: ProblemKind;
  /** What is affected: "log entry 12", "Observation/abc/_history/2", "anchored head size 40". */
  where: string;
  detail: string;
}

export interface VerifyReport {
  ok: boolean;
  checked: { entries: number; recordVersions: number; anchoredHeads: number };
  problems: Problem[];
}

export type VerifyProgress = (phase: string, done: number, total: number) => void;

/** Problems of one kind listed in a report; beyond that they are counted in one line. */
export const LISTED_PER_KIND = 1000;
/** Items (entries or record versions) between two progress reports and yields. */
const CHUNK = 1000;

const RECORD_ACTIONS: ReadonlySet<string> = new Set(['create', 'update', 'delete']);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Check the store synchronously (tests, CLI). */
export function verifyStore(
  db: Db,
  anchored: readonly ChainHead[],
  progress: VerifyProgress = () => {},
): VerifyReport {
  const steps = verifySteps(db, anchored, progress);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Check the store, letting the event loop run every 1000 items (a node keeps serving; progress can be read). */
export async function verifyStoreAsync(
  db: Db,
  anchored: readonly ChainHead[],
  progress: VerifyProgress = () => {},
): Promise<VerifyReport> {
  const steps = verifySteps(db, anchored, progress);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Problems in the order a reader wants them, at most LISTED_PER_KIND of each kind. */
class Problems {
  private readonly sections = {
    entries: [] as Problem[],
    anchors: [] as Problem[],
    records: [] as Problem[],
  };
  private readonly counts = new Map<ProblemKind, number>();

  add(section: 'entries' | 'anchors' | 'records', kind: ProblemKind, where: string, detail: string): void {
    const n = (this.counts.get(kind) ?? 0) + 1;
    this.counts.set(kind, n);
    if (n <= LISTED_PER_KIND) this.sections[section].push({ kind, where, detail });
  }

  list(): Problem[] {
    const out = [...this.sections.entries, ...this.sections.anchors, ...this.sections.records];
    for (const [kind, n] of this.counts) {
      if (n > LISTED_PER_KIND)
        out.push({
          kind,
          where: `${n - LISTED_PER_KIND} more`,
          detail: `${n} problems of this kind in all; only the first ${LISTED_PER_KIND} are listed`,
        });
    }
    return out;
  }
}

/**
 * A read-only connection of the verifier's own on the same file, so that its read transaction can
 * stay open across yields while the node goes on writing through its own connection. An in-memory
 * store has no second connection: it is checked on its own connection, without yielding.
 */
function snapshotConnection(db: Db): { conn: Db; own: boolean } {
  if (db.memory) return { conn: db, own: false };
  const conn = new Database(db.name, { readonly: true, fileMustExist: true });
  conn.pragma('busy_timeout = 5000');
  // The logged versions table goes to a temporary file, with a bounded cache.
  conn.pragma('temp_store = FILE');
  return { conn, own: true };
}

interface LogRow {
  idx: number;
  entry: Buffer;
  leaf_hash: Buffer;
}

interface LoggedRow {
  resource_type: string;
  id: string;
  version: number;
  hash: string | null;
  idx: number;
}

/** SQLite's order of (resource_type, id, version): TEXT compares as bytes (BINARY collation). */
function compareKeys(
  a: { resource_type: string; id: string; version: number },
  b: { resource_type: string; id: string; version: number },
): number {
  return compareText(a.resource_type, b.resource_type) || compareText(a.id, b.id) || a.version - b.version;
}

const NON_ASCII = /[\u0080-\uffff]/;
function compareText(a: string, b: string): number {
  if (a === b) return 0;
  // For ASCII, JavaScript's order is the byte order; otherwise compare the UTF-8 bytes.
  if (!NON_ASCII.test(a) && !NON_ASCII.test(b)) return a < b ? -1 : 1;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

interface VersionRow {
  resource_type: string;
  id: string;
  version: number;
  deleted: number;
  ciphertext: Buffer | null;
  ciphertext_hash: string;
}

/** The check, as steps: yields after every 1000 entries or record versions. */
function* verifySteps(
  db: Db,
  anchored: readonly ChainHead[],
  progress: VerifyProgress,
): Generator<void, VerifyReport> {
  const { conn, own } = snapshotConnection(db);
  // One read transaction: the log and the records as of the same moment, so records written while
  // the check runs (it yields between chunks) are not mistaken for unlogged ones.
  conn.exec('BEGIN');
  try {
    const report = yield* checkSnapshot(conn, anchored, progress, own);
    return report;
  } finally {
    if (conn.inTransaction) conn.exec('ROLLBACK');
    if (own) {
      conn.close();
      // An erasure while the snapshot was held could not truncate the WAL (the snapshot might
      // still read the shredded pages): now it can.
      truncateWal(db);
    } else conn.exec('DROP TABLE IF EXISTS temp.verify_logged; DROP TABLE IF EXISTS temp.verify_erased;');
  }
}

function* checkSnapshot(
  conn: Db,
  anchored: readonly ChainHead[],
  progress: VerifyProgress,
  mayYield: boolean,
): Generator<void, VerifyReport> {
  const problems = new Problems();
  // The first read fixes the snapshot.
  const entryCount = (conn.prepare('SELECT count(*) AS n FROM log_entries').get() as { n: number }).n;
  const versionCount = (conn.prepare('SELECT count(*) AS n FROM resource_versions').get() as { n: number }).n;

  // The versions the log records, appended as the log streams past (a heap: no random inserts
  // into a b-tree), then read back sorted by SQLite's external sorter and merged with the stored
  // versions, which come in the same order. Deletes also go to a small keyed table.
  conn.exec(`DROP TABLE IF EXISTS temp.verify_logged; DROP TABLE IF EXISTS temp.verify_erased;
    CREATE TEMP TABLE verify_logged (resource_type TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, hash TEXT, idx INTEGER NOT NULL);
    CREATE TEMP TABLE verify_erased (resource_type TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (resource_type, id)) WITHOUT ROWID;`);
  conn.pragma('temp.cache_size = -32768');

  // 1 and 2. Entries, and the anchored heads as the log passes their sizes.
  const heads = new HeadChecks(anchored, (kind, where, detail) =>
    problems.add('anchors', kind, where, detail),
  );
  const claims = new EntryClaims(entryCount, (kind, where, detail) =>
    problems.add('entries', kind, where, detail),
  );
  const firstPage = conn.prepare('SELECT idx, entry, leaf_hash FROM log_entries ORDER BY idx LIMIT ?');
  const nextPage = conn.prepare(
    'SELECT idx, entry, leaf_hash FROM log_entries WHERE idx > ? ORDER BY idx LIMIT ?',
  );
  // Writes to the temporary table cannot run while a read is stepping, so the log is read in
  // pages and each page's logged versions are written after it.
  const remember = conn.prepare(
    'INSERT INTO temp.verify_logged (resource_type, id, version, hash, idx) VALUES (?, ?, ?, ?, ?)',
  );
  const rememberErased = conn.prepare(
    'INSERT OR IGNORE INTO temp.verify_erased (resource_type, id) VALUES (?, ?)',
  );
  let position = 0;
  let previousIdx = -1;
  let sawGap = false;
  for (;;) {
    const rows = (position === 0 ? firstPage.all(CHUNK) : nextPage.all(previousIdx, CHUNK)) as LogRow[];
    if (rows.length === 0) break;
    if (position > 0) {
      progress('log entries', position, entryCount);
      if (mayYield) yield;
    } else progress('log entries', 0, entryCount);
    const logged: LogEntry[] = [];
    for (const r of rows) {
      const leaf = leafHash(r.entry);
      heads.append(leaf);
      if (!Buffer.from(leaf.buffer, leaf.byteOffset, leaf.length).equals(r.leaf_hash))
        problems.add(
          'entries',
          'log-entry-modified',
          `log entry at position ${position}`,
          'its bytes do not hash to the stored leaf hash',
        );
      let e: LogEntry | undefined;
      try {
        e = decodeEntry(r.entry, { lowercaseAddresses: true });
      } catch (err) {
        problems.add(
          'entries',
          'log-entry-modified',
          `log entry at position ${position}`,
          `it does not decode: ${(err as Error).message}`,
        );
      }
      claims.claim(position, e?.index);
      if (e?.target && e.outcome === 'permit' && RECORD_ACTIONS.has(e.action)) logged.push(e);
      const expected = position === 0 ? 0 : previousIdx + 1;
      if (r.idx !== expected) {
        sawGap = true;
        problems.add(
          'entries',
          'log-entry-deleted',
          `log entry ${expected}`,
          `entries ${expected} to ${r.idx - 1} are missing from the stored sequence`,
        );
      }
      previousIdx = r.idx;
      position++;
    }
    for (const e of logged) {
      const t = e.target as NonNullable<LogEntry['target']>;
      const erase = e.action === 'delete';
      remember.run(t.resourceType, t.id, t.version, erase ? null : t.ciphertextHash, e.index);
      if (erase) rememberErased.run(t.resourceType, t.id);
    }
    if (rows.length < CHUNK) break;
  }
  progress('log entries', position, entryCount);
  claims.finish(sawGap);
  heads.finish();

  // 3. Records against their entries: two streams in (resource_type, id, version) order.
  const erased = conn.prepare('SELECT 1 FROM temp.verify_erased WHERE resource_type = ? AND id = ?');
  const versions = conn
    .prepare(
      'SELECT resource_type, id, version, deleted, ciphertext, ciphertext_hash FROM resource_versions ORDER BY resource_type, id, version',
    )
    .iterate() as IterableIterator<VersionRow>;
  // For equal keys the later entry counts (as a replay of the log would have it): idx DESC first.
  const logged = conn
    .prepare(
      'SELECT resource_type, id, version, hash, idx FROM temp.verify_logged ORDER BY resource_type, id, version, idx DESC',
    )
    .iterate() as IterableIterator<LoggedRow>;
  const missing = (m: LoggedRow) =>
    problems.add(
      'records',
      'record-deleted',
      `${m.resource_type}/${m.id}/_history/${m.version}`,
      `log entry ${m.idx} records it but the store has no such version`,
    );
  let i = 0;
  try {
    let next = logged.next();
    /** Move past every logged row with the key of `row`. */
    const skipKey = (row: LoggedRow) => {
      do next = logged.next();
      while (!next.done && compareKeys(next.value, row) === 0);
    };
    /** The logged version with the key of `v`, after reporting every logged key before it. */
    const loggedFor = (v: VersionRow): LoggedRow | undefined => {
      while (!next.done) {
        const row = next.value;
        const c = compareKeys(row, v);
        if (c > 0) return undefined;
        skipKey(row);
        if (c === 0) return row;
        missing(row);
      }
      return undefined;
    };
    for (const v of versions) {
      if (i % CHUNK === 0) {
        progress('records', i, versionCount);
        if (i > 0 && mayYield) yield;
      }
      i++;
      const key = `${v.resource_type}/${v.id}/_history/${v.version}`;
      const entry = loggedFor(v);
      if (!entry) {
        problems.add(
          'records',
          'record-unlogged',
          key,
          'this version is in the store but no log entry records it (written around the API)',
        );
        continue;
      }
      if (v.deleted === 1) continue;
      if (v.ciphertext === null) {
        if (!erased.get(v.resource_type, v.id))
          problems.add('records', 'record-deleted', key, 'its content was removed without a logged delete');
        continue;
      }
      const actual = sha256(v.ciphertext);
      if (actual !== v.ciphertext_hash || `0x${actual}` !== entry.hash) {
        problems.add(
          'records',
          'record-modified',
          key,
          `its ciphertext does not match the hash in log entry ${entry.idx}`,
        );
      }
    }
    while (!next.done) {
      const row = next.value;
      missing(row);
      skipKey(row);
    }
  } finally {
    versions.return?.();
    logged.return?.();
  }
  progress('records', i, versionCount);
  const list = problems.list();
  return {
    ok: list.length === 0,
    checked: { entries: position, recordVersions: i, anchoredHeads: heads.count },
    problems: list,
  };
}
