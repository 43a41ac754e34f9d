/**
 * Opening a node's SQLite store (better-sqlite3): WAL journal, synchronous=FULL (a committed
 * transaction survives power loss), secure_delete, foreign keys on, and numbered schema migrations.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MedchainError } from '../errors.js';

export type Db = Database.Database;

/** A storage failure: the database could not be opened, migrated, or written. */
export class StoreError extends MedchainError {}

/**
 * Open (creating if needed) the database at `file` and bring its schema up to date.
 * `migrations[i]` moves the schema from version i to i+1; PRAGMA user_version records the version.
 */
export function openDatabase(file: string, migrations: readonly string[]): Db {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
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
