/**
 * A member's transparency log: entries stored durably in the node's SQLite store (WAL,
 * synchronous=FULL), their leaf hashes in an in-memory RFC 9162 tree for roots and proofs (64
 * bytes a leaf), the tree's complete subtrees persisted beside them (src/log/treeStore.ts) so
 * that opening a long log reads its tree back instead of rehashing it.
 *
 * Two ways in:
 *  - `append` (group commit): appends queued in the same turn of the event loop share one SQLite
 *    transaction, so durability costs one fsync per batch, not per entry.
 *  - `commitQueued` (group commit of writes): other work (a record write) and its entries, queued
 *    like appends; each piece of work runs in a savepoint of the shared transaction, so one that
 *    fails (a version conflict) takes back only itself, and concurrent writes share one fsync.
 *  - `commitWith`: entries written in the same transaction as other work, at once (tools, bulk).
 * The promise of `append` resolves only after the entry is durable; callers serve data after it.
 *
 * Durability without blocking: a group commit is committed with synchronous=NORMAL (in the WAL,
 * safe from a crash of the process) and then made durable by an fdatasync of the WAL on the thread
 * pool (src/store/walSync.ts), while the event loop goes on serving and queueing the next batch,
 * which is committed meanwhile and synced next. Only then do its promises resolve, and only then
 * does `size` (what heads are signed over, replicated and proved at) cover its entries. A failed
 * sync leaves the log refusing every append until the node restarts: after a failed fdatasync the
 * kernel may have dropped the pages, and a later sync that succeeds proves nothing about them.
 */

import type Database from 'better-sqlite3';
import type { Address } from 'viem';
import { getAddress } from 'viem';
import { UnavailableError } from '../errors.js';
import { type Db, statement } from '../store/database.js';
import { canSyncWal, syncWal } from '../store/walSync.js';
import { encodeEntryInto, type LogAction, type LogEntry } from './entry.js';
import { type Hash, leafHashPrefixed, type MerkleTree } from './merkle.js';
import { TreeStore } from './treeStore.js';

/** Columns of a log_entries row. */
const COLUMNS = 7;
/**
 * Rows per multi-row INSERT, largest first: a batch of n is written with at most one statement
 * per power of two below 32 (21, one custodian answer's entries, as 16 + 4 + 1: three runs, not 7).
 */
const INSERT_ROWS = [32, 16, 8, 4, 2, 1] as const;

export type LogInput = Omit<LogEntry, 'index' | 'time' | 'member'>;

export interface LogRecord {
  index: number;
  entry: LogEntry;
  leafHash: Hash;
}

/** What waits for the next group commit: one entry, or work with the entries it writes. */
type Queued =
  | { kind: 'entry'; input: LogInput; resolve: (r: LogRecord) => void; reject: (e: unknown) => void }
  | {
      kind: 'entries';
      inputs: readonly LogInput[];
      resolve: (r: LogRecord[]) => void;
      reject: (e: unknown) => void;
    }
  | {
      kind: 'work';
      inputs: readonly LogInput[];
      work: () => unknown;
      resolve: (r: { result: unknown; records: LogRecord[] }) => void;
      reject: (e: unknown) => void;
    };

/** The log could not be written: nothing may be served (503). */
export class LogUnavailableError extends UnavailableError {
  constructor(cause: unknown) {
    super(
      'log-unavailable',
      'the access log cannot be written right now, so nothing is served; try again shortly',
      { cause },
    );
  }
}

export interface TransparencyLogOptions {
  /** Where to say that the persisted tree had to be rebuilt (default: stderr). */
  warn?: (message: string) => void;
  /** How a group commit is made durable (default: src/store/walSync.ts; tests hold it back or fail it). */
  syncWal?: (db: Db) => Promise<void>;
}

export class TransparencyLog {
  private readonly tree: MerkleTree;
  private readonly treeStore: TreeStore;
  /** Multi-row INSERTs by their number of rows. */
  private readonly insertOf = new Map<number, Database.Statement>();
  /** Parameters of the rows staged in the open transaction, COLUMNS per row. */
  private readonly staged: unknown[] = [];
  /** The buffer the staged entries' bytes are laid out in, and how much of it they use. */
  private slab = Buffer.allocUnsafeSlow(64 * 1024);
  private used = 0;
  private queue: Queued[] = [];
  private scheduled = false;
  /** Settings of the group commit: synchronous=NORMAL for it and back, when the WAL is synced apart. */
  private readonly syncApart: { normal: Database.Statement; restore: Database.Statement } | undefined;
  /** Batches committed and waiting for the next sync of the WAL, and whether one is under way. */
  private unsynced: ((failure?: LogUnavailableError) => void)[] = [];
  private syncing = false;
  /** Entries [0, durable) are durable: what `size` says. */
  private durable = 0;
  /** Why the log refuses appends (a failed sync), if it does. */
  private broken: LogUnavailableError | undefined;
  private readonly syncWal: (db: Db) => Promise<void>;
  /**
   * Run a function in a transaction, or in a savepoint when one is open: made once (better-sqlite3
   * builds four wrapper functions for every db.transaction, which each group commit paid).
   */
  private readonly atomically: (fn: () => unknown) => unknown;
  readonly member: Address;
  /** Counters for tests and benchmarks: SQLite transactions committed, entries written. */
  readonly stats = { commits: 0, entries: 0 };
  /** Why opening had to rebuild the tree from the entries, or null when the persisted tree held. */
  readonly rebuilt: string | null;

  constructor(
    private readonly db: Db,
    member: Address,
    private readonly now: () => number = Date.now,
    opts: TransparencyLogOptions = {},
  ) {
    this.member = getAddress(member);
    this.treeStore = new TreeStore(db, opts.warn ?? ((m) => process.stderr.write(`${m}\n`)));
    const opened = this.treeStore.open();
    this.tree = opened.tree;
    this.rebuilt = opened.rebuilt;
    this.durable = this.tree.size;
    this.syncWal = opts.syncWal ?? syncWal;
    this.atomically = db.transaction((fn: () => unknown) => fn());
    if (canSyncWal(db)) {
      const mode = db.pragma('synchronous', { simple: true }) as number;
      this.syncApart = {
        normal: db.prepare('PRAGMA synchronous = NORMAL'),
        restore: db.prepare(`PRAGMA synchronous = ${mode}`),
      };
    }
  }

  /** Entries in the log that are durable (appends still waiting for their sync are not counted). */
  get size(): number {
    return this.durable;
  }

  root(size = this.size): Hash {
    return this.tree.root(size);
  }

  inclusionProof(index: number, size = this.size): Hash[] {
    return this.tree.inclusionProof(index, size);
  }

  consistencyProof(first: number, second = this.size): Hash[] {
    return this.tree.consistencyProof(first, second);
  }

  leafHash(index: number): Hash {
    return this.tree.leaf(index);
  }

  /** Append one entry; resolves once it is durably committed (group commit). */
  append(input: LogInput): Promise<LogRecord> {
    return new Promise((resolve, reject) => this.enqueue({ kind: 'entry', input, resolve, reject }));
  }

  /** Append several entries in one commit (queued as one: one promise, not one per entry). */
  appendAll(inputs: readonly LogInput[]): Promise<LogRecord[]> {
    if (inputs.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => this.enqueue({ kind: 'entries', inputs, resolve, reject }));
  }

  /**
   * Run `work` and write `inputs` atomically, in the next group commit: `work` runs in a savepoint
   * of the shared transaction, so if it throws only it (and its entries) is taken back, and the
   * promise rejects with its error; if the store fails, everything is (LogUnavailableError).
   */
  commitQueued<T>(inputs: readonly LogInput[], work: () => T): Promise<{ result: T; records: LogRecord[] }> {
    return new Promise((resolve, reject) =>
      this.enqueue({
        kind: 'work',
        inputs,
        work,
        resolve: resolve as (r: { result: unknown; records: LogRecord[] }) => void,
        reject,
      }),
    );
  }

  private enqueue(q: Queued): void {
    if (this.broken) {
      q.reject(this.broken);
      return;
    }
    this.queue.push(q);
    // While a batch waits for its sync the next one gathers: it is committed when that sync is
    // done, so a batch is as large as the sync is long (one commit per sync, as when the commit
    // itself waited for the disk), and the event loop serves meanwhile.
    if (!this.syncing) this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /**
   * Inside the open transaction: encode the entry at the end of the tree and grow the tree; its
   * row waits in `staged` for `insertStaged`, which writes the rows of a whole batch with a few
   * multi-row INSERTs. The bytes sit in this log's batch buffer until then (SQLite copies them);
   * only the leaf hash is kept.
   */
  private stage(input: LogInput, time: number): LogRecord {
    const index = this.tree.size;
    // Field by field: an object spread here costs more than encoding the entry.
    const entry: LogEntry = {
      index,
      time,
      member: this.member,
      actor: input.actor,
      patient: input.patient,
      action: input.action,
      target: input.target,
      purpose: input.purpose,
      outcome: input.outcome,
      reason: input.reason,
      queryHash: input.queryHash,
    };
    const bytes = encodeEntryInto(entry, this.take);
    // `take` left a zero byte before the entry: 0x00 || entry is hashed where it lies.
    const h = leafHashPrefixed(new Uint8Array(bytes.buffer, bytes.byteOffset - 1, bytes.byteLength + 1));
    this.staged.push(
      index,
      bytes,
      h,
      entry.patient?.toLowerCase() ?? null,
      entry.action,
      entry.outcome,
      time,
    );
    this.tree.append(h);
    return { index, entry, leafHash: h };
  }

  /**
   * Room for `size` bytes of the batch being staged (a view into the batch buffer), behind a zero
   * byte of its own: the leaf hash's prefix.
   */
  private readonly take = (size: number): Buffer => {
    if (this.used + 1 + size > this.slab.length) {
      // Views already given out keep the old buffer alive until their rows are inserted.
      this.slab = Buffer.allocUnsafeSlow(Math.max(2 * this.slab.length, 1 + size));
      this.used = 0;
    }
    this.slab[this.used] = 0;
    const b = this.slab.subarray(this.used + 1, this.used + 1 + size);
    this.used += 1 + size;
    return b;
  };

  /** Insert the staged rows (inside the open transaction), largest statements first. */
  private insertStaged(): void {
    const params = this.staged;
    let at = 0;
    for (let rows = (params.length - at) / COLUMNS; rows > 0; rows = (params.length - at) / COLUMNS) {
      const n = INSERT_ROWS.find((k) => k <= rows) as number;
      this.inserts(n).run(n === rows && at === 0 ? params : params.slice(at, at + n * COLUMNS));
      at += n * COLUMNS;
    }
    this.clearStaged();
  }

  private clearStaged(): void {
    this.staged.length = 0;
    this.used = 0;
  }

  /** The INSERT of `n` rows, prepared once. */
  private inserts(n: number): Database.Statement {
    let s = this.insertOf.get(n);
    if (!s) {
      s = this.db.prepare(
        `INSERT INTO log_entries (idx, entry, leaf_hash, patient, action, outcome, time_ms) VALUES ${Array.from({ length: n }, () => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
      );
      this.insertOf.set(n, s);
    }
    return s;
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    if (this.broken) {
      for (const q of batch) q.reject(this.broken);
      return;
    }
    const start = this.tree.size;
    const time = this.now();
    // What each queued item gets, by its position in the batch: an entry its record, the others theirs.
    const outcomes: (LogRecord | { records: LogRecord[]; result?: unknown } | { error: unknown })[] = [];
    try {
      this.syncApart?.normal.run();
      this.atomically(() => {
        for (const q of batch) {
          if (q.kind === 'entry') {
            outcomes.push(this.stage(q.input, time));
            continue;
          }
          if (q.kind === 'entries') {
            outcomes.push({ records: q.inputs.map((input) => this.stage(input, time)) });
            continue;
          }
          let workFailed = false;
          let result: unknown;
          try {
            // A savepoint: a conflict in this piece of work takes back only it. Its entries are
            // staged once it has succeeded, and written with the batch's.
            result = this.atomically(() => {
              try {
                return q.work();
              } catch (err) {
                workFailed = true;
                throw err;
              }
            });
          } catch (err) {
            if (!workFailed) throw err; // the store itself failed: the whole batch goes
            outcomes.push({ error: err });
            continue;
          }
          outcomes.push({ records: q.inputs.map((input) => this.stage(input, time)), result });
        }
        this.insertStaged();
        this.treeStore.persist(this.tree, start);
      });
    } catch (err) {
      this.clearStaged();
      if (this.tree.size > start) this.tree.truncate(start);
      const e = err instanceof LogUnavailableError ? err : new LogUnavailableError(err);
      for (const q of batch) q.reject(e);
      return;
    } finally {
      this.syncApart?.restore.run();
    }
    this.stats.commits++;
    const end = this.tree.size;
    const settle = (failure?: LogUnavailableError) => {
      if (!failure) {
        // Before any promise resolves: what runs on its resolution may read `size`.
        if (end > this.durable) this.durable = end;
        this.stats.entries += end - start;
      }
      for (let i = 0; i < batch.length; i++) {
        const q = batch[i] as Queued;
        const o = outcomes[i] as (typeof outcomes)[number];
        if (failure) q.reject(failure);
        else if (q.kind === 'entry') q.resolve(o as LogRecord);
        else if ('error' in o) q.reject(o.error);
        else if (q.kind === 'entries') q.resolve((o as { records: LogRecord[] }).records);
        else
          q.resolve({
            result: (o as { result?: unknown }).result,
            records: (o as { records: LogRecord[] }).records,
          });
      }
    };
    if (!this.syncApart) settle();
    else this.afterSync(settle);
    // The subtrees this batch completed are hashed now, while the disk syncs it (the commit did
    // not need them unless it wrote a chunk of them); otherwise the first root or proof would.
    this.tree.hashPending();
  }

  /** Run `settle` once the WAL is synced after this point (one sync at a time, for every batch waiting). */
  private afterSync(settle: (failure?: LogUnavailableError) => void): void {
    this.unsynced.push(settle);
    if (!this.syncing) this.sync();
  }

  /** Sync the WAL for every batch waiting, then for those committed meanwhile. */
  private sync(): void {
    this.syncing = true;
    const waiting = this.unsynced;
    this.unsynced = [];
    this.syncWal(this.db).then(
      () => {
        this.syncing = false;
        for (const s of waiting) s();
        if (this.unsynced.length > 0) this.sync();
        else if (this.queue.length > 0) this.schedule();
      },
      (err: unknown) => {
        this.syncing = false;
        this.broken = new LogUnavailableError(
          new Error(`the store's WAL could not be synced (${(err as Error).message}); restart the node`, {
            cause: err,
          }),
        );
        for (const s of [...waiting, ...this.unsynced]) s(this.broken);
        this.unsynced = [];
        if (this.queue.length > 0) this.schedule(); // refused there
      },
    );
  }

  /** Write work and its entries in one synchronous, durable transaction (synchronous=FULL), now. */
  commitWith<T>(inputs: readonly LogInput[], work: () => T): { result: T; records: LogRecord[] } {
    if (this.broken) throw this.broken;
    const start = this.tree.size;
    const time = this.now();
    const undo = () => {
      this.clearStaged();
      if (this.tree.size > start) this.tree.truncate(start);
    };
    let records: LogRecord[];
    try {
      // Encoded (and checked) before the work runs. The tree grows inside the transaction, so the
      // chunks these leaves complete are written with them; if the commit fails, it is cut back.
      records = inputs.map((input) => this.stage(input, time));
    } catch (err) {
      undo();
      throw err;
    }
    let result: T;
    let workFailed = false;
    try {
      result = this.atomically(() => {
        let r: T;
        try {
          r = work();
        } catch (err) {
          workFailed = true;
          throw err;
        }
        this.insertStaged();
        this.treeStore.persist(this.tree, start);
        return r;
      }) as T;
    } catch (err) {
      undo();
      if (workFailed) throw err;
      throw new LogUnavailableError(err);
    }
    this.stats.commits++;
    this.stats.entries += records.length;
    // The commit synced the WAL: everything before it is durable too.
    this.durable = this.tree.size;
    return { result, records };
  }

  /** Stored entry bytes for [start, end). */
  entries(start: number, end: number): { index: number; leaf: Uint8Array }[] {
    return (
      this.db
        .prepare('SELECT idx, entry FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx')
        .all(start, end) as {
        idx: number;
        entry: Buffer;
      }[]
    ).map((r) => ({ index: r.idx, leaf: new Uint8Array(r.entry) }));
  }

  /** Entries naming `patient` with index < `size`, oldest first. */
  entriesForPatient(patient: Address, size = this.size): { index: number; leaf: Uint8Array }[] {
    // By the index of address prefixes (migration 16), then the whole address.
    return (
      statement(
        this.db,
        'SELECT idx, entry FROM log_entries WHERE substr(patient, 3, 8) = substr(@patient, 3, 8) AND patient = @patient AND idx < @size ORDER BY idx',
      ).all({ patient: patient.toLowerCase(), size }) as { idx: number; entry: Buffer }[]
    ).map((r) => ({ index: r.idx, leaf: new Uint8Array(r.entry) }));
  }

  /**
   * The newest `limit` entries of one action, newest first. Break-glass entries (the admin alert
   * feed) are read by their own index (migration 16); any other action by walking the log back from
   * its end, which is quick for a frequent action and reads the whole log for one that is not.
   */
  entriesWithAction(action: LogAction, limit: number): { index: number; leaf: Uint8Array }[] {
    // The literal matches the partial index's WHERE when the statement is prepared, whatever is bound.
    const sql =
      action === 'break-glass'
        ? `SELECT idx, entry FROM log_entries WHERE action = 'break-glass' ORDER BY idx DESC LIMIT ?`
        : 'SELECT idx, entry FROM log_entries WHERE action = ? ORDER BY idx DESC LIMIT ?';
    const args = action === 'break-glass' ? [limit] : [action, limit];
    return (statement(this.db, sql).all(...args) as { idx: number; entry: Buffer }[]).map((r) => ({
      index: r.idx,
      leaf: new Uint8Array(r.entry),
    }));
  }

  /** Number of entries per action and outcome (e.g. break-glass use). */
  counts(): { action: string; outcome: string; n: number }[] {
    return this.db
      .prepare('SELECT action, outcome, count(*) AS n FROM log_entries GROUP BY action, outcome')
      .all() as {
      action: string;
      outcome: string;
      n: number;
    }[];
  }
}
