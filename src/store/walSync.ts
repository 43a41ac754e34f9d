/**
 * Durability of committed transactions without blocking the event loop: a transaction committed
 * with synchronous=NORMAL is written to the WAL (it survives a crash of the process) but not yet
 * synced; `syncWal` then runs fdatasync on the WAL file on libuv's thread pool, and every
 * transaction committed before it was called is durable (survives power loss) once it resolves,
 * exactly as a synchronous=FULL commit (write the WAL, sync it) would have left it.
 *
 * The file is opened read-only for each sync and closed after it (three thread-pool calls, none on
 * the main thread), so a WAL that SQLite truncated or replaced is never synced through a stale
 * descriptor, and no descriptor outlives the store. SQLite takes no POSIX lock on the WAL file
 * (its WAL locks are on the -shm file), so closing a descriptor of it releases none of SQLite's.
 */
import { open } from 'node:fs/promises';
import type { Db } from './database.js';

/** Whether commits of `db` can be synced by `syncWal` (a file-backed database in WAL mode). */
export function canSyncWal(db: Db): boolean {
  return !db.memory && db.pragma('journal_mode', { simple: true }) === 'wal';
}

/** fdatasync the WAL of `db` off the main thread; rejects with the file system's error. */
export async function syncWal(db: Db): Promise<void> {
  const file = await open(`${db.name}-wal`, 'r');
  try {
    await file.datasync();
  } finally {
    await file.close();
  }
}
