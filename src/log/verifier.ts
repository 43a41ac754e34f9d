/**
 * Verification of a member's store against its log and the heads anchored on chain:
 *  1. every log entry decodes, sits at the index it claims, and its stored leaf hash is right;
 *     gaps, duplicates and misplaced entries are reported as deleted, inserted or reordered;
 *  2. the tree rebuilt from the entries has, at every anchored size, the anchored root, and
 *     consecutive anchored heads are consistent (RFC 9162 consistency proofs);
 *  3. every stored ciphertext hashes to its recorded hash and to the hash in its create/update
 *     entry; versions without an entry, and entries without a version, are reported.
 * Needs no keys: it reads ciphertext, hashes and entries only.
 */
import { createHash } from 'node:crypto';
import type { Hex } from 'viem';
import type { Db } from '../store/database.js';
import { decodeEntry, type LogEntry } from './entry.js';
import { leafHash, MerkleTree, verifyConsistency } from './merkle.js';

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

export interface ChainHead {
  treeSize: number;
  rootHash: Hex;
}

export type VerifyProgress = (phase: string, done: number, total: number) => void;

const hex = (b: Uint8Array): Hex => `0x${Buffer.from(b).toString('hex')}`;
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

/** The check, as steps: yields after every 1000 entries or record versions. */
function* verifySteps(
  db: Db,
  anchored: readonly ChainHead[],
  progress: VerifyProgress,
): Generator<void, VerifyReport> {
  const problems: Problem[] = [];
  const add = (kind: ProblemKind, where: string, detail: string) => problems.push({ kind, where, detail });

  // 1. Entries.
  // One read transaction: the log and the records as of the same moment, so records written while
  // the check runs (it yields between chunks) are not mistaken for unlogged ones.
  const { rows, versions } = db.transaction(() => ({
    rows: db.prepare('SELECT idx, entry, leaf_hash FROM log_entries ORDER BY idx').all() as {
      idx: number;
      entry: Buffer;
      leaf_hash: Buffer;
    }[],
    versions: db
      .prepare(
        'SELECT resource_type, id, version, deleted, ciphertext, ciphertext_hash FROM resource_versions ORDER BY resource_type, id, version',
      )
      .all() as {
      resource_type: string;
      id: string;
      version: number;
      deleted: number;
      ciphertext: Buffer | null;
      ciphertext_hash: string;
    }[],
  }))();
  const tree = new MerkleTree();
  const entries: (LogEntry | undefined)[] = [];
  const claimed: number[] = [];
  const gaps = new Set<number>();
  for (const [position, r] of rows.entries()) {
    if (position % 1000 === 0) {
      progress('log entries', position, rows.length);
      if (position > 0) yield;
    }
    const leaf = leafHash(r.entry);
    tree.append(leaf);
    if (!Buffer.from(leaf).equals(r.leaf_hash))
      add(
        'log-entry-modified',
        `log entry at position ${position}`,
        'its bytes do not hash to the stored leaf hash',
      );
    let e: LogEntry | undefined;
    try {
      e = decodeEntry(r.entry);
    } catch (err) {
      add(
        'log-entry-modified',
        `log entry at position ${position}`,
        `it does not decode: ${(err as Error).message}`,
      );
    }
    entries.push(e);
    claimed.push(e?.index ?? -1);
    const expected = position === 0 ? 0 : (rows[position - 1]?.idx ?? 0) + 1;
    if (r.idx !== expected) {
      add(
        'log-entry-deleted',
        `log entry ${expected}`,
        `entries ${expected} to ${r.idx - 1} are missing from the stored sequence`,
      );
      for (let k = expected; k < r.idx; k++) gaps.add(k);
    }
  }
  progress('log entries', rows.length, rows.length);
  const seen = new Map<number, number>();
  claimed.forEach((c, position) => {
    if (c < 0) return;
    const first = seen.get(c);
    if (first !== undefined)
      add(
        'log-entry-inserted',
        `log entry at position ${position}`,
        `it claims index ${c}, already held by position ${first}`,
      );
    else seen.set(c, position);
  });
  const max = Math.max(-1, ...claimed);
  for (let i = 0; i <= max; i++) {
    if (!seen.has(i) && claimed[i] !== -1)
      add('log-entry-deleted', `log entry ${i}`, 'no stored entry claims this index');
  }
  const misplaced = claimed
    .map((c, p) => [c, p] as const)
    .filter(([c, p]) => c >= 0 && c !== p && seen.get(c) === p);
  if (
    misplaced.length > 0 &&
    problems.every((p) => p.kind !== 'log-entry-deleted' && p.kind !== 'log-entry-inserted')
  ) {
    add(
      'log-entries-reordered',
      `log positions ${misplaced.map(([, p]) => p).join(', ')}`,
      'entries are stored out of order',
    );
  }

  // 2. Anchored heads.
  const heads = [...anchored].sort((a, b) => a.treeSize - b.treeSize);
  let previous: ChainHead | undefined;
  for (const h of heads) {
    if (h.treeSize > tree.size) {
      add(
        'log-truncated',
        `anchored head size ${h.treeSize}`,
        `the local log has only ${tree.size} entries: entries anchored on chain are gone`,
      );
    } else if (hex(tree.root(h.treeSize)) !== h.rootHash) {
      add(
        'log-rewritten',
        `anchored head size ${h.treeSize}`,
        `the log no longer has the root anchored on chain; an entry between index ${previous?.treeSize ?? 0} and ${h.treeSize - 1} was changed, removed or inserted`,
      );
    }
    if (previous && h.treeSize <= tree.size) {
      const ok = verifyConsistency(
        previous.treeSize,
        h.treeSize,
        Buffer.from(previous.rootHash.slice(2), 'hex'),
        Buffer.from(h.rootHash.slice(2), 'hex'),
        tree.consistencyProof(previous.treeSize, h.treeSize),
      );
      if (!ok) {
        add(
          'anchors-inconsistent',
          `anchored heads ${previous.treeSize} -> ${h.treeSize}`,
          'the local log does not prove that the later anchored head extends the earlier one',
        );
      }
    }
    previous = h;
  }

  // 3. Records against their entries.
  const logged = new Map<string, { hash: Hex | null; index: number }>();
  const erased = new Set<string>();
  entries.forEach((e) => {
    if (!e?.target || e.outcome !== 'permit') return;
    const key = `${e.target.resourceType}/${e.target.id}/_history/${e.target.version}`;
    if (e.action === 'create' || e.action === 'update')
      logged.set(key, { hash: e.target.ciphertextHash, index: e.index });
    if (e.action === 'delete') {
      erased.add(`${e.target.resourceType}/${e.target.id}`);
      logged.set(key, { hash: null, index: e.index });
    }
  });
  const present = new Set<string>();
  for (const [i, v] of versions.entries()) {
    if (i % 1000 === 0) {
      progress('records', i, versions.length);
      if (i > 0) yield;
    }
    const key = `${v.resource_type}/${v.id}/_history/${v.version}`;
    present.add(key);
    const entry = logged.get(key);
    if (!entry) {
      add(
        'record-unlogged',
        key,
        'this version is in the store but no log entry records it (written around the API)',
      );
      continue;
    }
    if (v.deleted === 1) continue;
    if (v.ciphertext === null) {
      if (!erased.has(`${v.resource_type}/${v.id}`))
        add('record-deleted', key, 'its content was removed without a logged delete');
      continue;
    }
    const actual = sha256(v.ciphertext);
    if (actual !== v.ciphertext_hash || `0x${actual}` !== entry.hash) {
      add('record-modified', key, `its ciphertext does not match the hash in log entry ${entry.index}`);
    }
  }
  progress('records', versions.length, versions.length);
  for (const [key, e] of logged) {
    if (!present.has(key))
      add('record-deleted', key, `log entry ${e.index} records it but the store has no such version`);
  }
  return {
    ok: problems.length === 0,
    checked: { entries: rows.length, recordVersions: versions.length, anchoredHeads: heads.length },
    problems,
  };
}
