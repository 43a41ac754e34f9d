import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { getAddress } from 'viem';
import { openDatabase } from '../store/database.js';
import { NODE_MIGRATIONS } from '../store/nodeSchema.js';
import { decodeEntry, encodeEntry } from './entry.js';
import { leafHash, MerkleTree, verifyConsistency, verifyInclusion } from './merkle.js';
import { type LogInput, type LogRecord, LogUnavailableError, TransparencyLog } from './transparencyLog.js';
import { CHUNK_NODES, TreeStore } from './treeStore.js';

const MEMBER = '0x4D1Ad100619f59d961c0CFD53D3cAcF34B1892cD';
const input = (i: number): LogInput => ({
  actor: `user-${i}`,
  patient: null,
  action: 'read',
  target: { resourceType: 'Observation', id: `o${i}`, version: 1, ciphertextHash: null },
  purpose: 'treatment',
  outcome: 'permit',
  reason: 'ok',
  queryHash: null,
});

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function freshDb() {
  const dir = mkdtempSync(path.join(tmpdir(), 'tlog-'));
  dirs.push(dir);
  const file = path.join(dir, 'node.db');
  return { file, db: openDatabase(file, NODE_MIGRATIONS) };
}

describe('transparency log', () => {
  test('concurrent appends share one SQLite transaction (group commit) and get contiguous indexes', async () => {
    const { db } = freshDb();
    const log = new TransparencyLog(db, MEMBER);
    const records = await Promise.all(Array.from({ length: 200 }, (_, i) => log.append(input(i))));
    assert.deepEqual(
      records.map((r) => r.index),
      Array.from({ length: 200 }, (_, i) => i),
    );
    assert.equal(log.stats.commits, 1, 'one commit for 200 concurrent appends');
    await log.append(input(200));
    assert.equal(log.stats.commits, 2);
    assert.equal(log.size, 201);
    const stored = log.entries(5, 6)[0];
    assert.equal(decodeEntry(stored?.leaf as Uint8Array).actor, 'user-5');
    assert.deepEqual(leafHash(stored?.leaf as Uint8Array), log.leafHash(5));
  });

  test('appendAll: its entries are queued as one, in order, with single appends in the same commit; an invalid one fails them all', async () => {
    const { db } = freshDb();
    const log = new TransparencyLog(db, MEMBER);
    const sizes = [21, 1, 5, 16, 3];
    const [a, single, b, c, d] = await Promise.all([
      log.appendAll(Array.from({ length: 21 }, (_, i) => input(i))),
      log.append(input(21)),
      log.appendAll(Array.from({ length: 5 }, (_, i) => input(22 + i))),
      log.appendAll(Array.from({ length: 16 }, (_, i) => input(27 + i))),
      log.appendAll(Array.from({ length: 3 }, (_, i) => input(43 + i))),
    ]);
    assert.equal(log.stats.commits, 1);
    assert.deepEqual(
      [a, [single], b, c, d].map((rs) => rs?.length),
      sizes,
    );
    const all = [...(a ?? []), single as LogRecord, ...(b ?? []), ...(c ?? []), ...(d ?? [])];
    assert.deepEqual(
      all.map((r) => r.index),
      Array.from({ length: 46 }, (_, i) => i),
    );
    // Every row written (16/4/2/1-row INSERTs included), each with its own bytes.
    for (const [i, stored] of log.entries(0, 46).entries()) {
      assert.equal(decodeEntry(stored.leaf).actor, `user-${i}`);
      assert.deepEqual(leafHash(stored.leaf), log.leafHash(i));
    }
    assert.deepEqual(await log.appendAll([]), []);
    const bad = { ...input(99), actor: 'not a token!' };
    await assert.rejects(log.appendAll([input(46), bad]), LogUnavailableError);
    assert.equal(log.size, 46, 'nothing of the failed batch is kept');
    assert.equal((await log.append(input(46))).index, 46);
  });

  test('every entry of a group commit is stored as its own canonical bytes (no bytes shared between entries)', async () => {
    const { db } = freshDb();
    const log = new TransparencyLog(db, MEMBER);
    // Entries of different lengths, some alone and some with work, all in one commit: each must
    // be stored and hashed as exactly its own encoding.
    const varied = (i: number): LogInput => ({
      ...input(i),
      actor: `user-${'x'.repeat(i % 40)}-${i}`,
      patient: i % 3 === 0 ? MEMBER : null,
      target:
        i % 4 === 0
          ? null
          : {
              resourceType: 'Observation',
              id: `o${i}`,
              version: i,
              ciphertextHash: i % 2 ? `0x${'ab'.repeat(32)}` : null,
            },
      queryHash: i % 5 === 0 ? `0x${'cd'.repeat(32)}` : null,
    });
    const [alone, worked] = await Promise.all([
      Promise.all(Array.from({ length: 60 }, (_, i) => log.append(varied(i)))),
      log.commitQueued([varied(61), varied(62), varied(63)], () => 'done'),
    ]);
    assert.equal(log.stats.commits, 1);
    const records = [...alone, ...worked.records];
    assert.equal(records.length, 63);
    for (const r of records) {
      const stored = log.entries(r.index, r.index + 1)[0]?.leaf as Uint8Array;
      assert.deepEqual(stored, encodeEntry(r.entry), `entry ${r.index} as stored`);
      assert.deepEqual(decodeEntry(stored), r.entry);
      assert.deepEqual(leafHash(stored), log.leafHash(r.index));
      assert.deepEqual(r.leafHash, log.leafHash(r.index));
    }
  });

  test('the tree survives a restart, and proofs verify', async () => {
    const { file, db } = freshDb();
    const log = new TransparencyLog(db, MEMBER);
    await Promise.all(Array.from({ length: 37 }, (_, i) => log.append(input(i))));
    const root20 = log.root(20);
    db.close();
    const reopened = new TransparencyLog(openDatabase(file, NODE_MIGRATIONS), MEMBER);
    assert.equal(reopened.size, 37);
    assert.deepEqual(reopened.root(20), root20);
    assert.ok(verifyInclusion(reopened.leafHash(11), 11, 37, reopened.inclusionProof(11), reopened.root()));
    assert.ok(verifyConsistency(20, 37, root20, reopened.root(), reopened.consistencyProof(20)));
  });

  test('when the store refuses writes, appends fail with LogUnavailableError and nothing changes', async () => {
    const { db } = freshDb();
    const log = new TransparencyLog(db, MEMBER);
    await log.append(input(0));
    const root = log.root();
    db.pragma('query_only = ON');
    await assert.rejects(Promise.all([log.append(input(1)), log.append(input(2))]), LogUnavailableError);
    assert.equal(log.size, 1);
    assert.deepEqual(log.root(), root);
    db.pragma('query_only = OFF');
    assert.equal((await log.append(input(3))).index, 1, 'the next entry takes the next index');
  });

  test('commitWith writes work and entries atomically', () => {
    const { db } = freshDb();
    db.exec('CREATE TABLE side (x INTEGER)');
    const log = new TransparencyLog(db, MEMBER);
    assert.throws(
      () =>
        log.commitWith([input(0)], () => {
          db.prepare('INSERT INTO side VALUES (1)').run();
          throw new Error('the record write failed');
        }),
      /the record write failed/,
    );
    assert.equal(log.size, 0);
    assert.deepEqual(db.prepare('SELECT count(*) AS n FROM side').get(), { n: 0 });
    log.commitWith([input(0), input(1)], () => db.prepare('INSERT INTO side VALUES (1)').run());
    assert.equal(log.size, 2);
  });

  test('commitQueued: concurrent writes share one commit; one that fails takes back only itself', async () => {
    const { db } = freshDb();
    db.exec('CREATE TABLE side (x INTEGER)');
    const log = new TransparencyLog(db, MEMBER);
    const commits = log.stats.commits;
    const write = (x: number) => () => {
      db.prepare('INSERT INTO side VALUES (?)').run(x);
      if (x === 2) throw new Error('version conflict');
      return x;
    };
    const results = await Promise.allSettled([
      log.commitQueued([input(0), input(1)], write(1)),
      log.commitQueued([input(2)], write(2)),
      log.append(input(3)),
      log.commitQueued([input(4)], write(4)),
    ]);
    assert.equal(log.stats.commits, commits + 1, 'one transaction (one fsync) for all of them');
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
    );
    assert.match(String((results[1] as PromiseRejectedResult).reason), /version conflict/);
    assert.deepEqual(
      db.prepare('SELECT x FROM side ORDER BY x').all(),
      [{ x: 1 }, { x: 4 }],
      'the failed write left nothing',
    );
    assert.equal(log.size, 4, 'its entry neither');
    const first = (results[0] as PromiseFulfilledResult<{ result: number; records: { index: number }[] }>)
      .value;
    assert.equal(first.result, 1);
    assert.deepEqual(
      first.records.map((r) => r.index),
      [0, 1],
    );
    assert.equal(
      (results[2] as PromiseFulfilledResult<{ index: number }>).value.index,
      2,
      'indices stay contiguous',
    );
    const reopened = new TransparencyLog(db, MEMBER);
    assert.deepEqual(reopened.root(), log.root());
  });

  test('break-glass entries are found by their own index, also in a store migrated from before it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tlog-'));
    dirs.push(dir);
    const file = path.join(dir, 'node.db');
    // A store of schema 15 (an index of every entry's action) with entries, then migrated.
    const old = openDatabase(file, NODE_MIGRATIONS.slice(0, 15));
    const glass = (i: number): LogInput => ({ ...input(i), action: 'break-glass', purpose: 'emergency' });
    const before = new TransparencyLog(old, MEMBER);
    await Promise.all([0, 1, 2, 3].map((i) => before.append(i === 1 ? glass(i) : input(i))));
    old.close();
    const db = openDatabase(file, NODE_MIGRATIONS);
    const indexes = db.prepare(
      `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'log_entries'`,
    );
    assert.deepEqual((indexes.all() as { name: string }[]).map((r) => r.name).sort(), [
      'log_entries_break_glass',
      'log_entries_by_patient',
    ]);
    const log = new TransparencyLog(db, MEMBER);
    await Promise.all([4, 5, 6, 7].map((i) => log.append(i % 2 === 0 ? glass(i) : input(i))));
    const idx = (xs: { index: number }[]) => xs.map((x) => x.index);
    assert.deepEqual(idx(log.entriesWithAction('break-glass', 10)), [6, 4, 1], 'newest first');
    assert.deepEqual(idx(log.entriesWithAction('break-glass', 2)), [6, 4]);
    assert.deepEqual(idx(log.entriesWithAction('read', 3)), [7, 5, 3]);
    assert.equal(decodeEntry(log.entriesWithAction('break-glass', 1)[0]?.leaf as Uint8Array).index, 6);
    const plan = db
      .prepare(
        `EXPLAIN QUERY PLAN SELECT idx, entry FROM log_entries WHERE action = 'break-glass' ORDER BY idx DESC LIMIT 5`,
      )
      .all() as { detail: string }[];
    assert.match(plan.map((p) => p.detail).join('; '), /USING INDEX log_entries_break_glass/);
  });

  test("a patient's entries are found by the index of address prefixes, and only theirs", async () => {
    const { db } = freshDb();
    const log = new TransparencyLog(db, MEMBER);
    // Two patients whose addresses share the 8 hex digits the index keeps, and one who does not.
    const a = '0xAbCd1234000000000000000000000000000000A1';
    const b = '0xABcd1234000000000000000000000000000000b2';
    const c = '0x1111111100000000000000000000000000000003';
    const of = (i: number, patient: string | null): LogInput => ({ ...input(i), patient: patient as never });
    await Promise.all(
      [a, b, null, c, a, b, a].map((p, i) =>
        log.append(of(i, p === null ? null : (getAddress(p) as string))),
      ),
    );
    const idx = (xs: { index: number }[]) => xs.map((x) => x.index);
    assert.deepEqual(idx(log.entriesForPatient(getAddress(a))), [0, 4, 6]);
    assert.deepEqual(idx(log.entriesForPatient(getAddress(b))), [1, 5]);
    assert.deepEqual(idx(log.entriesForPatient(getAddress(c))), [3]);
    assert.deepEqual(idx(log.entriesForPatient(getAddress(a), 5)), [0, 4], 'below the size asked');
    assert.equal(decodeEntry(log.entriesForPatient(getAddress(b))[1]?.leaf as Uint8Array).index, 5);
    const plan = db
      .prepare(
        'EXPLAIN QUERY PLAN SELECT idx, entry FROM log_entries WHERE substr(patient, 3, 8) = substr(@patient, 3, 8) AND patient = @patient AND idx < @size ORDER BY idx',
      )
      .all({ patient: a.toLowerCase(), size: 7 }) as { detail: string }[];
    assert.match(plan.map((p) => p.detail).join('; '), /USING INDEX log_entries_by_patient/);
    assert.doesNotMatch(plan.map((p) => p.detail).join('; '), /TEMP B-TREE/);
  });

  test('a failed commit leaves neither leaves nor persisted chunks behind', async () => {
    const { file, db } = freshDb();
    const log = new TransparencyLog(db, MEMBER);
    log.commitWith(
      Array.from({ length: CHUNK_NODES - 1 }, (_, i) => input(i)),
      () => undefined,
    );
    // This commit would complete the first chunk; the store refuses it.
    db.pragma('query_only = ON');
    await assert.rejects(log.appendAll([input(0), input(1)]), LogUnavailableError);
    db.pragma('query_only = OFF');
    assert.equal(log.size, CHUNK_NODES - 1);
    assert.deepEqual(db.prepare('SELECT count(*) AS n FROM log_tree_chunks').get(), { n: 0 });
    await log.appendAll([input(2), input(3)]);
    const root = log.root();
    db.close();
    const reopened = new TransparencyLog(openDatabase(file, NODE_MIGRATIONS), MEMBER, Date.now, {
      warn: (m) => assert.fail(m),
    });
    assert.deepEqual(reopened.root(), root);
    assert.equal(reopened.rebuilt, null);
  });
});

/** The tree of a stored log computed from its entry bytes, as a verifier would. */
function referenceTree(db: ReturnType<typeof openDatabase>): MerkleTree {
  const t = new MerkleTree();
  for (const r of db.prepare('SELECT entry FROM log_entries ORDER BY idx').iterate() as Iterable<{
    entry: Buffer;
  }>)
    t.append(leafHash(r.entry));
  return t;
}

describe('the persisted tree', () => {
  test('property: random appends and restarts give the roots and proofs of a tree built from scratch', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 700 }), fc.boolean()), { minLength: 1, maxLength: 6 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat()), { minLength: 5, maxLength: 5 }),
        (steps, picks) => {
          const { file, db: first } = freshDb();
          let db = first;
          let log = new TransparencyLog(db, MEMBER, Date.now, { warn: (m) => assert.fail(m) });
          for (const [count, restart] of steps) {
            log.commitWith(
              Array.from({ length: count }, (_, i) => input(log.size + i)),
              () => undefined,
            );
            if (restart) {
              db.close();
              db = openDatabase(file, NODE_MIGRATIONS);
              log = new TransparencyLog(db, MEMBER, Date.now, { warn: (m) => assert.fail(m) });
            }
          }
          const ref = referenceTree(db);
          const n = log.size;
          assert.equal(ref.size, n);
          for (const [a, b, c] of picks) {
            const size = 1 + (a % n);
            const index = b % size;
            const m = 1 + (c % size);
            assert.deepEqual(log.root(size), ref.root(size));
            const path = log.inclusionProof(index, size);
            assert.deepEqual(path, ref.inclusionProof(index, size));
            assert.ok(verifyInclusion(ref.leaf(index), index, size, path, ref.root(size)));
            const proof = log.consistencyProof(m, size);
            assert.deepEqual(proof, ref.consistencyProof(m, size));
            assert.ok(verifyConsistency(m, size, ref.root(m), ref.root(size), proof));
          }
          db.close();
        },
      ),
      { numRuns: 25 },
    );
  });

  /** A closed log of `n` entries; returns its file, root and the warnings of the next open. */
  async function storedLog(n: number) {
    const { file, db } = freshDb();
    const log = new TransparencyLog(db, MEMBER);
    for (let i = 0; i < n; i += 500)
      log.commitWith(
        Array.from({ length: Math.min(500, n - i) }, (_, k) => input(i + k)),
        () => undefined,
      );
    const root = log.root();
    const warnings: string[] = [];
    const reopen = () => {
      const d = openDatabase(file, NODE_MIGRATIONS);
      return { db: d, log: new TransparencyLog(d, MEMBER, Date.now, { warn: (m) => warnings.push(m) }) };
    };
    return { db, root, warnings, reopen };
  }

  /** Change one stored chunk in place (`edit` gets its bytes). */
  const editChunk = (
    db: ReturnType<typeof openDatabase>,
    level: number,
    chunk: number,
    edit: (b: Buffer) => void,
  ) => {
    const b = db
      .prepare('SELECT hashes FROM log_tree_chunks WHERE level = ? AND chunk = ?')
      .pluck()
      .get(level, chunk) as Buffer;
    edit(b);
    db.prepare('UPDATE log_tree_chunks SET hashes = ? WHERE level = ? AND chunk = ?').run(b, level, chunk);
  };

  // A log of 3000 entries has leaf chunks 0-10 and level-1 chunks 0-4.
  const cases: [string, (db: ReturnType<typeof openDatabase>) => void, RegExp][] = [
    [
      'a bit of the newest level-1 chunk flipped',
      (db) =>
        editChunk(db, 1, 4, (b) => {
          b[100] = (b[100] as number) ^ 1;
        }),
      /node 1027 of level 1 does not hash from the level below/,
    ],
    [
      'a node in the middle of level 1 changed (caught where level 2 uses it)',
      (db) => editChunk(db, 1, 2, (b) => b.fill(7, 0, 32)),
      /node 256 of level 2 does not hash from the level below/,
    ],
    [
      'the newest leaf chunk not matching the entries',
      (db) => editChunk(db, 0, 10, (b) => b.fill(0)),
      /leaf 2560 is not the stored leaf hash/,
    ],
    [
      'the first leaf chunk not matching the entries',
      (db) => editChunk(db, 0, 0, (b) => b.fill(0, 32 * 17, 32 * 18)),
      /leaf 17 is not the stored leaf hash/,
    ],
    [
      'a leaf changed with every node above it recomputed, caught by the anchored root',
      (db) => {
        const ref = referenceTree(db);
        db.prepare('INSERT INTO log_anchors (tree_size, root_hash, timestamp) VALUES (2000, ?, 0)').run(
          `0x${Buffer.from(ref.root(2000)).toString('hex')}`,
        );
        const forged = new MerkleTree();
        for (let i = 0; i < ref.size; i++) forged.append(i === 1001 ? new Uint8Array(32) : ref.leaf(i));
        db.prepare('DELETE FROM log_tree_chunks').run();
        new TreeStore(db, () => {}).persist(forged, 0);
      },
      /the root at size 2000 is not the anchored root/,
    ],
    [
      'the end of the log cut off (chunks beyond the entries)',
      (db) => db.prepare('DELETE FROM log_entries WHERE idx >= 1500').run(),
      /beyond a log of 1500 entries/,
    ],
    [
      'a chunk missing in the middle of a level',
      (db) => db.prepare('DELETE FROM log_tree_chunks WHERE level = 0 AND chunk = 3').run(),
      /level 0 lacks chunk 3/,
    ],
  ];

  for (const [name, tamper, reason] of cases) {
    test(`rebuilt from the entries, and said so, when: ${name}`, async () => {
      const { db, warnings, reopen } = await storedLog(3000);
      tamper(db);
      const expected = referenceTree(db);
      db.close();
      const { db: d, log } = reopen();
      assert.match(log.rebuilt ?? '', reason);
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.match(warnings[0] as string, /rebuilding it from the \d+ entries/);
      assert.deepEqual(log.root(), expected.root());
      assert.deepEqual(log.inclusionProof(1234 % log.size), expected.inclusionProof(1234 % log.size));
      d.close();
      // The rebuilt tree was saved: the next open trusts it.
      const again = reopen();
      assert.equal(again.log.rebuilt, null);
      assert.equal(warnings.length, 1);
      assert.deepEqual(again.log.root(), expected.root());
      again.db.close();
    });
  }

  test('entries from before the persisted tree (or written around the log) get their chunks on open', async () => {
    const { db, root, warnings, reopen } = await storedLog(2100);
    db.prepare('DELETE FROM log_tree_chunks').run();
    db.close();
    const { db: d, log } = reopen();
    assert.equal(log.rebuilt, null);
    assert.deepEqual(log.root(), root);
    assert.match(warnings.join('\n'), /saved 15 chunks/);
    assert.deepEqual(d.prepare('SELECT count(*) AS n FROM log_tree_chunks').get(), { n: 15 });
    d.close();
  });

  test('an anchored root the entries themselves no longer give is reported after the rebuild', async () => {
    const { db, root, warnings, reopen } = await storedLog(600);
    db.prepare('INSERT INTO log_anchors (tree_size, root_hash, timestamp) VALUES (600, ?, 0)').run(
      `0x${'11'.repeat(32)}`,
    );
    db.close();
    const { db: d, log } = reopen();
    assert.match(log.rebuilt ?? '', /not the anchored root/);
    assert.deepEqual(log.root(), root, "the tree is still the entries' tree");
    assert.match(warnings.join('\n'), /even in the tree rebuilt from the entries; run medchain verify/);
    d.close();
  });
});

/** Wait (up to 10 s, turning the event loop) until `cond` holds; `what` says what was awaited. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

describe('durability: group commits synced apart', () => {
  test('an append resolves, and counts in size, only after the WAL sync that follows its commit; the next batch gathers meanwhile', async () => {
    const { db } = freshDb();
    const syncs: (() => void)[] = [];
    const log = new TransparencyLog(db, MEMBER, Date.now, {
      syncWal: () => new Promise<void>((resolve) => syncs.push(resolve)),
    });
    let settled = false;
    const first = log.append(input(0)).then((r) => {
      settled = true;
      return r;
    });
    await until(() => syncs.length === 1, 'the first sync');
    assert.equal(log.stats.commits, 1);
    assert.deepEqual(
      db.prepare('SELECT count(*) AS n FROM log_entries').get(),
      { n: 1 },
      'committed (a crash of the process keeps it)',
    );
    assert.equal(settled, false, 'not acknowledged before its sync');
    assert.equal(log.size, 0, 'nor counted: no head is signed over it yet');
    const later = [log.append(input(1)), log.append(input(2))];
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    assert.equal(log.stats.commits, 1, 'the next batch waits for the sync under way');
    (syncs[0] as () => void)();
    assert.equal((await first).index, 0);
    assert.equal(log.size, 1);
    await until(() => syncs.length === 2, 'the second sync');
    assert.equal(log.stats.commits, 2, 'both appends that gathered in one commit');
    assert.equal(log.size, 1);
    (syncs[1] as () => void)();
    assert.deepEqual(
      (await Promise.all(later)).map((r) => r.index),
      [1, 2],
    );
    assert.equal(log.size, 3);
    assert.ok(verifyInclusion(log.leafHash(2), 2, 3, log.inclusionProof(2), log.root()));
  });

  test('a failed sync refuses its batch and every later append until the node restarts', async () => {
    const { db } = freshDb();
    const log = new TransparencyLog(db, MEMBER, Date.now, {
      syncWal: () => Promise.reject(new Error('EIO: i/o error (simulated)')),
    });
    const failed = await log.append(input(0)).then(
      () => assert.fail('acknowledged without a sync'),
      (e: unknown) => e,
    );
    assert.ok(failed instanceof LogUnavailableError);
    assert.match(String((failed.cause as Error).message), /EIO.*restart the node/);
    await assert.rejects(log.append(input(1)), LogUnavailableError);
    await assert.rejects(
      log.commitQueued([input(2)], () => 1),
      LogUnavailableError,
    );
    assert.throws(() => log.commitWith([input(3)], () => undefined), LogUnavailableError);
    assert.equal(log.size, 0);
    // Restarted: the entry whose sync failed is in the store (never acknowledged), and appends go on.
    const reopened = new TransparencyLog(db, MEMBER);
    assert.equal(reopened.size, 1);
    assert.equal((await reopened.append(input(4))).index, 1);
  });
});
