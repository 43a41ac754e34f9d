/**
 * Opening a node's SQLite store (better-sqlite3): WAL journal, synchronous=FULL (a committed
 * transaction survives power loss; the log's group commits sync apart, off the event loop, before
 * they are acknowledged: src/store/walSync.ts), secure_delete, foreign keys on, and numbered
 * schema migrations.
 * The database file and its -wal/-shm sidecars are owner-only (0600).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MedchainError } from '../errors.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, tightenPrivateFile } from '../util/privateFiles.js';

export type Db = Database.Database;

/** A storage failure: the database could not be opened, migrated, or written. */
export class StoreError extends MedchainError {}

/**
 * Open (creating if needed) the database at `file` and bring its schema up to date.
 * `migrations[i]` moves the schema from version i to i+1; PRAGMA user_version records the version.
 */
export function openDatabase(file: string, migrations: readonly string[]): Db {
  if (file !== ':memory:') {
    mkdirSync(path.dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
    // SQLite creates -wal and -shm with the main file's mode: make that 0600 before it opens. An
    // empty file is a valid empty database.
    if (!existsSync(file)) writeFileSync(file, '', { mode: PRIVATE_FILE_MODE, flag: 'wx' });
    else tightenPrivateFile(file);
  }
  let db: Db;
  try {
    db = new Database(file);
  } catch (cause) {
    throw new StoreError(
      'store-open-failed',
      `cannot open the database ${file}: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  // Deleted content is overwritten with zeros, so crypto-shredded wraps leave no trace in the file.
  db.pragma('secure_delete = ON');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db, migrations);
  // Sidecars left by an older medchain (or another tool) with a wider mode.
  if (file !== ':memory:') for (const side of ['-wal', '-shm']) tightenPrivateFile(`${file}${side}`);
  return db;
}

/** Apply the migrations this database has not seen yet, each in its own transaction. */
export function migrate(db: Db, migrations: readonly string[]): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > migrations.length) {
    throw new StoreError(
      'store-too-new',
      `the database schema is version ${current} but this medchain knows only ${migrations.length}; upgrade medchain`,
    );
  }
  for (let v = current; v < migrations.length; v++) {
    const sql = migrations[v] as string;
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

const statements = new WeakMap<Db, Map<string, Database.Statement>>();
const MAX_CACHED = 512;

/**
 * A prepared statement for `sql`, compiled once per database and reused (compiling costs more than
 * running most of our queries). The cache is bounded: search SQL varies with the number of values.
 */
export function statement(db: Db, sql: string): Database.Statement {
  let m = statements.get(db);
  if (!m) {
    m = new Map();
    statements.set(db, m);
  }
  let s = m.get(sql);
  if (!s) {
    if (m.size >= MAX_CACHED) m.clear();
    s = db.prepare(sql);
    m.set(sql, s);
  }
  return s;
}

/**
 * Checkpoint the WAL into the database file and truncate it, without waiting for readers: true
 * when it is empty afterwards, false when a reader's snapshot still needs some of it.
 */
export function truncateWal(db: Db): boolean {
  if (db.memory || db.inTransaction) return false;
  const wait = db.pragma('busy_timeout', { simple: true }) as number;
  db.pragma('busy_timeout = 0');
  try {
    const [r] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    return r?.busy === 0;
  } finally {
    db.pragma(`busy_timeout = ${wait}`);
  }
}
