/**
 * Durability of committed transactions without blocking the event loop: a transaction committed
 * with synchronous=NORMAL is written to the WAL (it survives a crash of the process) but not yet
 * synced; `syncWal` then runs fdatasync on the WAL file on libuv's thread pool, and every
 * transaction committed before it was called is durable (survives power loss) once it resolves,
 * exactly as a synchronous=FULL commit (write the WAL, sync it) would have left it.
 *
 * The file is opened read-only for each sync and closed after it, so a WAL that SQLite truncated
 * or replaced is never synced through a stale descriptor, and no descriptor outlives the store.
 * The open and the close run on the main thread (like SQLite's own writes to this file, they touch
 * no disk: an open of a file just written and the close of a read-only descriptor); only the
 * fdatasync goes to the thread pool, so a sync is one round trip there, not three (each cost the
 * main thread about 0.03-0.06 ms of CPU in a custodian's answer). SQLite takes no POSIX lock on
 * the WAL file (its WAL locks are on the -shm file), so closing a descriptor of it releases none
 * of SQLite's.
 */
import { closeSync, fdatasync, openSync } from 'node:fs';
import type { Db } from './database.js';

/** Whether commits of `db` can be synced by `syncWal` (a file-backed database in WAL mode). */
export function canSyncWal(db: Db): boolean {
  return !db.memory && db.pragma('journal_mode', { simple: true }) === 'wal';
}

/** fdatasync the WAL of `db` off the main thread; rejects with the file system's error. */
export function syncWal(db: Db): Promise<void> {
  return new Promise((resolve, reject) => {
    let fd: number;
    try {
      fd = openSync(`${db.name}-wal`, 'r');
    } catch (err) {
      reject(err);
      return;
    }
    fdatasync(fd, (err) => {
      try {
        closeSync(fd);
      } catch (closeErr) {
        err ??= closeErr as NodeJS.ErrnoException;
      }
      if (err) reject(err);
      else resolve();
    });
  });
}
