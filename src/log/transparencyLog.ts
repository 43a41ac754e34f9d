/**
 * A member's transparency log: entries stored durably in the node's SQLite store (WAL,
 * synchronous=FULL), their leaf hashes in an in-memory RFC 9162 tree for roots and proofs (64
 * bytes a leaf), the tree's complete subtrees persisted beside them (src/log/treeStore.ts) so
 * that opening a long log reads its tree back instead of rehashing it.
 *
 * Two ways in:
 *  - `append` (group commit): appends queued in the same turn of the event loop share one SQLite
 *    transaction, so durability costs one fsync per batch, not per entry.
 *  - `commitWith`: entries written in the same transaction as other work (a record write and its
 *    log entry are one atomic change).
 * The promise of `append` resolves only after the entry is committed; callers serve data after it.
 */
import type { Address } from 'viem';
import { getAddress } from 'viem';
import { UnavailableError } from '../errors.js';
import type { Db } from '../store/database.js';
import { encodeEntry, type LogEntry } from './entry.js';
import { type Hash, leafHash, type MerkleTree } from './merkle.js';
import { TreeStore } from './treeStore.js';

export type LogInput = Omit<LogEntry, 'index' | 'time' | 'member'>;

export interface LogRecord {
  index: number;
  entry: LogEntry;
  leafHash: Hash;
}

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
}

export class TransparencyLog {
  private readonly tree: MerkleTree;
  private readonly treeStore: TreeStore;
  private readonly insert;
  private queue: { input: LogInput; resolve: (r: LogRecord) => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;
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
    this.insert = db.prepare(
      'INSERT INTO log_entries (idx, entry, leaf_hash, patient, action, outcome, time_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.treeStore = new TreeStore(db, opts.warn ?? ((m) => process.stderr.write(`${m}\n`)));
    const opened = this.treeStore.open();
    this.tree = opened.tree;
    this.rebuilt = opened.rebuilt;
  }

  get size(): number {
    return this.tree.size;
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
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Append several entries in one commit. */
  appendAll(inputs: readonly LogInput[]): Promise<LogRecord[]> {
    return Promise.all(inputs.map((i) => this.append(i)));
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    try {
      const { records } = this.commitWith(
        batch.map((b) => b.input),
        () => undefined,
      );
      for (const [i, b] of batch.entries()) b.resolve(records[i] as LogRecord);
    } catch (err) {
      const e = err instanceof LogUnavailableError ? err : new LogUnavailableError(err);
      for (const b of batch) b.reject(e);
    }
  }

  /**
   * Run `work` and write `inputs` in one SQLite transaction; if either fails nothing is written
   * and the error is thrown (a storage failure as LogUnavailableError).
   */
  commitWith<T>(inputs: readonly LogInput[], work: () => T): { result: T; records: LogRecord[] } {
    const start = this.size;
    const time = this.now();
    const records: LogRecord[] = inputs.map((input, i) => {
      const entry: LogEntry = { ...input, index: start + i, time, member: this.member };
      const bytes = encodeEntry(entry);
      return { index: start + i, entry, leafHash: leafHash(bytes), bytes } as LogRecord & {
        bytes: Uint8Array;
      };
    });
    const insert = this.insert;
    let result: T;
    let workFailed = false;
    try {
      result = this.db.transaction(() => {
        let r: T;
        try {
          r = work();
        } catch (err) {
          workFailed = true;
          throw err;
        }
        for (const rec of records as (LogRecord & { bytes: Uint8Array })[]) {
          insert.run(
            rec.index,
            rec.bytes,
            rec.leafHash,
            rec.entry.patient?.toLowerCase() ?? null,
            rec.entry.action,
            rec.entry.outcome,
            rec.entry.time,
          );
        }
        // The tree grows inside the transaction, so the chunks these leaves complete are written
        // with them; if the commit fails, the tree is cut back below.
        for (const rec of records) this.tree.append(rec.leafHash);
        this.treeStore.persist(this.tree, start);
        return r;
      })();
    } catch (err) {
      if (this.tree.size > start) this.tree.truncate(start);
      if (workFailed) throw err;
      throw new LogUnavailableError(err);
    }
    this.stats.commits++;
    this.stats.entries += records.length;
    return {
      result,
      records: records.map(({ index, entry, leafHash: h }) => ({ index, entry, leafHash: h })),
    };
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
    return (
      this.db
        .prepare('SELECT idx, entry FROM log_entries WHERE patient = ? AND idx < ? ORDER BY idx')
        .all(patient.toLowerCase(), size) as { idx: number; entry: Buffer }[]
    ).map((r) => ({ index: r.idx, leaf: new Uint8Array(r.entry) }));
  }

  /** The newest `limit` entries of one action (e.g. break-glass, for the admin alert feed), newest first. */
  entriesWithAction(action: string, limit: number): { index: number; leaf: Uint8Array }[] {
    return (
      this.db
        .prepare('SELECT idx, entry FROM log_entries WHERE action = ? ORDER BY idx DESC LIMIT ?')
        .all(action, limit) as { idx: number; entry: Buffer }[]
    ).map((r) => ({ index: r.idx, leaf: new Uint8Array(r.entry) }));
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
