import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Hex } from 'viem';
import { openDatabase } from '../store/database.js';
import { NODE_MIGRATIONS } from '../store/nodeSchema.js';
import { encodeEntry, type LogEntry } from './entry.js';
import { leafHash, MerkleTree } from './merkle.js';
import { type ChainHead, LISTED_PER_KIND, verifyStore, verifyStoreAsync } from './verifier.js';

// Above about 130,000 entries the verifier once spread every entry's index into Math.max and died
// with "Maximum call stack size exceeded"; it also held every row at once. This log is written
// straight into the table (entries with their real bytes, one transaction) to stay fast.
const ENTRIES = 140_000;
const MEMBER = '0x4D1Ad100619f59d961c0CFD53D3cAcF34B1892cD';
const hex = (b: Uint8Array): Hex => `0x${Buffer.from(b).toString('hex')}`;

const entry = (index: number): LogEntry => ({
  index,
  time: 1_764_000_000_000 + index,
  member: MEMBER,
  actor: 'u-1',
  patient: null,
  action: 'read',
  target: { resourceType: 'Observation', id: `o${index}`, version: 1, ciphertextHash: null },
  purpose: 'treatment',
  outcome: 'permit',
  reason: 'ok',
  queryHash: null,
});

const dir = mkdtempSync(path.join(tmpdir(), 'verify-scale-'));
const db = openDatabase(path.join(dir, 'node.db'), NODE_MIGRATIONS);
const heads: ChainHead[] = [];
const insert = db.prepare(
  "INSERT INTO log_entries (idx, entry, leaf_hash, patient, action, outcome, time_ms) VALUES (?, ?, ?, NULL, 'read', 'permit', 0)",
);

before(() => {
  const tree = new MerkleTree();
  db.transaction(() => {
    for (let i = 0; i < ENTRIES; i++) {
      const bytes = encodeEntry(entry(i));
      const leaf = leafHash(bytes);
      insert.run(i, bytes, leaf);
      tree.append(leaf);
    }
  })();
  for (const size of [1, 65_536, 100_001, 130_000, ENTRIES])
    heads.push({ treeSize: size, rootHash: hex(tree.root(size)) });
});
after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const kinds = (r: ReturnType<typeof verifyStore>) => [...new Set(r.problems.map((p) => p.kind))].sort();

describe(`verify a log of ${ENTRIES} entries`, () => {
  test('a clean log verifies against its anchored heads', async () => {
    const seen: number[] = [];
    const r = await verifyStoreAsync(db, heads, (phase, done) => {
      if (phase === 'log entries') seen.push(done);
    });
    assert.deepEqual(r.problems, []);
    assert.equal(r.ok, true);
    assert.deepEqual(r.checked, { entries: ENTRIES, recordVersions: 0, anchoredHeads: 5 });
    assert.equal(seen.at(-1), ENTRIES);
    assert.equal(seen.length, ENTRIES / 1000 + 1);
  });

  test('an entry deleted deep in the log is found, and the heads after it no longer hold', () => {
    const row = db.prepare('SELECT entry, leaf_hash FROM log_entries WHERE idx = 120000').get() as {
      entry: Buffer;
      leaf_hash: Buffer;
    };
    db.prepare('DELETE FROM log_entries WHERE idx = 120000').run();
    try {
      const r = verifyStore(db, heads);
      assert.deepEqual(kinds(r), [
        'anchors-inconsistent',
        'log-entry-deleted',
        'log-rewritten',
        'log-truncated',
      ]);
      assert.ok(r.problems.some((p) => p.where === 'log entry 120000'));
      assert.ok(
        r.problems.some((p) => p.kind === 'log-rewritten' && p.where === 'anchored head size 130000'),
      );
      assert.ok(
        r.problems.some((p) => p.kind === 'log-truncated' && p.where === `anchored head size ${ENTRIES}`),
      );
      assert.ok(!r.problems.some((p) => p.where === 'anchored head size 100001'));
    } finally {
      insert.run(120000, row.entry, row.leaf_hash);
    }
  });

  test('an entry claiming an index far past the end is one missing range, not a report per index', () => {
    const forged = encodeEntry(entry(1_000_000_000_000));
    insert.run(ENTRIES, forged, leafHash(forged));
    try {
      const r = verifyStore(db, heads);
      assert.deepEqual(kinds(r), ['log-entry-deleted']);
      assert.deepEqual(
        r.problems.map((p) => p.where),
        [`log entries ${ENTRIES} to ${1_000_000_000_000 - 1}`],
      );
    } finally {
      db.prepare('DELETE FROM log_entries WHERE idx = ?').run(ENTRIES);
    }
  });

  test('a problem in every entry is listed up to a limit, then counted', () => {
    // Committed (the verifier reads a snapshot of its own, so an open transaction would not show).
    db.exec('UPDATE log_entries SET leaf_hash = zeroblob(32)');
    try {
      const r = verifyStore(db, heads);
      assert.deepEqual(kinds(r), ['log-entry-modified']);
      assert.equal(r.problems.length, LISTED_PER_KIND + 1);
      assert.match(r.problems.at(-1)?.detail ?? '', new RegExp(`^${ENTRIES} problems of this kind in all`));
    } finally {
      db.function('leaf_hash', (bytes: unknown) => Buffer.from(leafHash(bytes as Buffer)));
      db.exec('UPDATE log_entries SET leaf_hash = leaf_hash(entry)');
    }
  });
});

describe('records against their entries, matched in key order', () => {
  test('vanished versions before, between and after stored ones; several entries for one version', () => {
    const d = mkdtempSync(path.join(tmpdir(), 'verify-merge-'));
    const store = openDatabase(path.join(d, 'node.db'), NODE_MIGRATIONS);
    const cipher = (s: string) => Buffer.from(`ciphertext of ${s}`);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    const addVersion = store.prepare(
      "INSERT INTO resource_versions (resource_type, id, version, last_updated, last_updated_ms, patient_ref, deleted, nonce, ciphertext, ciphertext_hash) VALUES ('Observation', ?, ?, '', 0, '', 0, x'00', ?, ?)",
    );
    let index = 0;
    const log = (id: string, version: number, hash: string) => {
      const bytes = encodeEntry({
        ...entry(index),
        action: 'create',
        target: { resourceType: 'Observation', id, version, ciphertextHash: `0x${hash}` },
      });
      store
        .prepare(
          "INSERT INTO log_entries (idx, entry, leaf_hash, action, outcome, time_ms) VALUES (?, ?, ?, 'create', 'permit', 0)",
        )
        .run(index++, bytes, leafHash(bytes));
    };
    for (const id of ['b', 'd']) addVersion.run(id, 1, cipher(id), sha(cipher(id)));
    log('a', 1, sha(cipher('a'))); // vanished, before every stored version
    log('b', 1, '00'.repeat(32)); // an older entry for b/1, superseded by the next
    log('b', 1, sha(cipher('b')));
    log('c', 1, sha(cipher('c'))); // vanished, between
    log('c', 1, sha(cipher('c'))); // twice: still one report
    log('d', 1, '11'.repeat(32)); // the later entry for d/1 has another hash
    log('e', 2, sha(cipher('e'))); // vanished, after
    try {
      const r = verifyStore(store, []);
      assert.deepEqual(
        r.problems.map((p) => `${p.kind} ${p.where}`),
        [
          'record-deleted Observation/a/_history/1',
          'record-deleted Observation/c/_history/1',
          'record-modified Observation/d/_history/1',
          'record-deleted Observation/e/_history/2',
        ],
      );
      assert.match(r.problems[2]?.detail ?? '', /log entry 5/);
    } finally {
      store.close();
      rmSync(d, { recursive: true, force: true });
    }
  });
});
