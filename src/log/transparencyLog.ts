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
 * The promise of `append` resolves only after the entry is committed; callers serve data after it.
 */
import type { Address } from 'viem';
import { getAddress } from 'viem';
import { UnavailableError } from '../errors.js';
import type { Db } from '../store/database.js';
import { encodeEntry, encodeEntryTransient, type LogEntry } from './entry.js';
import { type Hash, leafHash, type MerkleTree } from './merkle.js';
import { TreeStore } from './treeStore.js';

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
}

export class TransparencyLog {
  private readonly tree: MerkleTree;
  private readonly treeStore: TreeStore;
  private readonly insert;
  private queue: Queued[] = [];
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
    return new Promise((resolve, reject) => this.enqueue({ kind: 'entry', input, resolve, reject }));
  }

  /** Append several entries in one commit. */
  appendAll(inputs: readonly LogInput[]): Promise<LogRecord[]> {
    return Promise.all(inputs.map((i) => this.append(i)));
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
    this.queue.push(q);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /**
   * Inside the open transaction: encode the entry at the end of the tree, insert it and grow the
   * tree. Its bytes are transient (a buffer reused for the next entry): SQLite copies them, and
   * only the leaf hash is kept.
   */
  private insertNext(input: LogInput, time: number): LogRecord {
    const index = this.tree.size;
    const entry: LogEntry = { ...input, index, time, member: this.member };
    const bytes = encodeEntryTransient(entry);
    const h = leafHash(bytes);
    this.insert.run(
      index,
      bytes,
      h,
      entry.patient?.toLowerCase() ?? null,
      entry.action,
      entry.outcome,
      entry.time,
    );
    this.tree.append(h);
    return { index, entry, leafHash: h };
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const start = this.size;
    const time = this.now();
    const outcomes: ({ records: LogRecord[]; result?: unknown } | { error: unknown })[] = [];
    try {
      this.db.transaction(() => {
        for (const q of batch) {
          if (q.kind === 'entry') {
            outcomes.push({ records: [this.insertNext(q.input, time)] });
            continue;
          }
          const before = this.tree.size;
          let workFailed = false;
          try {
            // A savepoint: a conflict in this piece of work takes back only it.
            const result = this.db.transaction(() => {
              let r: unknown;
              try {
                r = q.work();
              } catch (err) {
                workFailed = true;
                throw err;
              }
              const recs = q.inputs.map((input) => this.insertNext(input, time));
              outcomes.push({ records: recs, result: r });
              return r;
            })();
            void result;
          } catch (err) {
            if (this.tree.size > before) this.tree.truncate(before);
            if (!workFailed) throw err; // the store itself failed: the whole batch goes
            outcomes.push({ error: err });
          }
        }
        this.treeStore.persist(this.tree, start);
      })();
    } catch (err) {
      if (this.tree.size > start) this.tree.truncate(start);
      const e = err instanceof LogUnavailableError ? err : new LogUnavailableError(err);
      for (const q of batch) q.reject(e);
      return;
    }
    this.stats.commits++;
    for (const [i, q] of batch.entries()) {
      const o = outcomes[i] as (typeof outcomes)[number];
      if ('error' in o) {
        q.reject(o.error);
        continue;
      }
      this.stats.entries += o.records.length;
      if (q.kind === 'entry') q.resolve(o.records[0] as LogRecord);
      else q.resolve({ result: o.result, records: o.records });
    }
  }

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
