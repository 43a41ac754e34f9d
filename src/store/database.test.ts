import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { openDatabase, type StoreError } from './database.js';
import { NODE_MIGRATIONS } from './nodeSchema.js';

describe('openDatabase', () => {
  test('uses WAL with synchronous=FULL and applies migrations once', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'db-')), 'node.db');
    const db = openDatabase(file, NODE_MIGRATIONS);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('synchronous', { simple: true }), 2); // FULL
    assert.equal(db.pragma('user_version', { simple: true }), NODE_MIGRATIONS.length);
    db.close();
    const again = openDatabase(file, NODE_MIGRATIONS); // no "table exists" error: nothing re-applied
    again.close();
    const extended = openDatabase(file, [...NODE_MIGRATIONS, 'CREATE TABLE extra (x INTEGER);']);
    assert.equal(extended.pragma('user_version', { simple: true }), NODE_MIGRATIONS.length + 1);
    extended.close();
  });

  test('refuses a database newer than this code, and a failing migration changes nothing', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'db-')), 'node.db');
    openDatabase(file, ['CREATE TABLE a (x);', 'CREATE TABLE b (x);']).close();
    assert.throws(
      () => openDatabase(file, ['CREATE TABLE a (x);']),
      (e: StoreError) => e.code === 'store-too-new',
    );
    assert.throws(() =>
      openDatabase(file, ['CREATE TABLE a (x);', 'CREATE TABLE b (x);', 'CREATE TABLE c (x); BROKEN']),
    );
    const db = openDatabase(file, ['CREATE TABLE a (x);', 'CREATE TABLE b (x);']);
    assert.equal(db.pragma('user_version', { simple: true }), 2);
    assert.deepEqual(db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE name = 'c'`).get(), { n: 0 });
    db.close();
  });

  test('the database and its -wal/-shm are 0600 whatever the umask; a wider file is tightened on open', () => {
    const mode = (p: string) => statSync(p).mode & 0o777;
    const previous = process.umask(0); // SQLite's default would then be 0644
    try {
      const file = path.join(mkdtempSync(path.join(tmpdir(), 'db-')), 'node.db');
      const db = openDatabase(file, NODE_MIGRATIONS);
      db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1);');
      for (const f of [file, `${file}-wal`, `${file}-shm`]) assert.equal(mode(f), 0o600, f);
      db.close();
      chmodSync(file, 0o644);
      const again = openDatabase(file, NODE_MIGRATIONS);
      again.exec('INSERT INTO t VALUES (2);');
      for (const f of [file, `${file}-wal`, `${file}-shm`]) assert.equal(mode(f), 0o600, f);
      again.close();
    } finally {
      process.umask(previous);
    }
  });
});
