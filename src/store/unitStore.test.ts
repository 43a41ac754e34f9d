import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { buildCommissioningRun, commissionedRun, storedUnits } from '../supply/commissioningRun.js';
import { withCheckDigit } from '../supply/gs1CheckDigit.js';
import { openDatabase } from './database.js';
import { NODE_MIGRATIONS } from './nodeSchema.js';
import { type StoredUnit, UnitStore } from './unitStore.js';

const key = new Uint8Array(32).fill(3);
const GTIN = withCheckDigit('0952123400029');
const run = (lot: string, count: number) =>
  buildCommissioningRun(
    key,
    { gtin: GTIN, lot, expiry: '301231', count },
    { time: new Date('2026-12-01T18:00:00Z'), location: '9521234000006' },
  );
const store = () => new UnitStore(openDatabase(':memory:', NODE_MIGRATIONS));

describe('UnitStore: commissioned runs', () => {
  test('each unit reads back with the proof of its leaf in the batch tree, no proof stored per unit', () => {
    const units = store();
    const r = run('L1', 300);
    units.putCommissionedRun(commissionedRun(r, 7));
    const expected = new Map(storedUnits(r, 7).map((u) => [u.serial, u]));
    const lot = units.unitsOfLot(GTIN, 'L1');
    assert.equal(lot.length, 300);
    for (const u of lot) assert.deepEqual(u, expected.get(u.serial));
    const one = r.units[123] as StoredUnit;
    assert.deepEqual(units.unit(GTIN, one.serial), expected.get(one.serial));
    assert.equal(units.count(), 300);
  });

  test('more batches than the tree cache holds: every proof still right after a reopen', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'medchain-units-'));
    try {
      const file = path.join(dir, 'node.db');
      let db = openDatabase(file, NODE_MIGRATIONS);
      const runs = Array.from({ length: 20 }, (_, b) => run(`B${b}`, 1 + b * 3));
      runs.forEach((r, b) => {
        new UnitStore(db).putCommissionedRun(commissionedRun(r, b));
      });
      db.close();
      db = openDatabase(file, NODE_MIGRATIONS);
      const units = new UnitStore(db);
      for (let pass = 0; pass < 2; pass++)
        runs.forEach((r, b) => {
          for (const u of storedUnits(r, b)) assert.deepEqual(units.unit(u.gtin, u.serial), u);
        });
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a received unit keeps the proof it came with; a unit held is kept as it was', () => {
    const units = store();
    const r = run('L2', 5);
    const received = storedUnits(r, 4);
    units.putUnits(received);
    assert.deepEqual(
      units.unitsOfLot(GTIN, 'L2'),
      [...received].sort((a, b) => (a.serial < b.serial ? -1 : 1)),
    );
    units.putUnits([{ ...(received[0] as StoredUnit), batch: 9, proof: [] }]);
    assert.deepEqual(units.unit(GTIN, (received[0] as StoredUnit).serial), received[0]);
  });

  test('a pending run: counts as its lot, listed until stored or dropped', () => {
    const units = store();
    const r = run('L3', 4);
    const pending = {
      root: r.tree.root,
      gtin: GTIN,
      lot: 'L3',
      count: 4,
      run: { serials: ['x'] },
      createdMs: 5,
    };
    assert.equal(units.hasLot(GTIN, 'L3'), false);
    units.putPendingRun(pending);
    assert.equal(units.hasLot(GTIN, 'L3'), true);
    assert.equal(units.unitsOfLot(GTIN, 'L3').length, 0, 'no unit before the chain confirmed');
    assert.deepEqual(units.pendingRuns(), [pending]);
    assert.throws(() => units.putPendingRun(pending), /UNIQUE/, 'a root is recorded once');
    units.putCommissionedRun(commissionedRun(r, 2));
    assert.deepEqual(units.pendingRuns(), []);
    units.dropPendingRun(r.tree.root);
    assert.equal(units.unitsOfLot(GTIN, 'L3').length, 4, 'a stored run is not dropped');
    const other = run('L4', 2);
    units.putPendingRun({ ...pending, root: other.tree.root, lot: 'L4' });
    units.dropPendingRun(other.tree.root);
    assert.deepEqual(units.pendingRuns(), []);
    assert.equal(units.hasLot(GTIN, 'L4'), false);
  });

  test('a tree that is not the run’s is refused, and nothing is stored', () => {
    const units = store();
    const a = run('L5', 6);
    const b = run('L5', 6);
    assert.throws(
      () => units.putCommissionedRun({ ...commissionedRun(a, 1), levels: b.tree.levels }),
      /not the one of run/,
    );
    assert.throws(
      () =>
        units.putCommissionedRun({ ...commissionedRun(a, 1), units: commissionedRun(a, 1).units.slice(1) }),
      /not the one of run/,
    );
    assert.equal(units.count(), 0);
  });
});

describe('migration 13', () => {
  test('units stored before it keep every column and their proofs', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'medchain-units-'));
    try {
      const file = path.join(dir, 'node.db');
      openDatabase(file, NODE_MIGRATIONS.slice(0, 12)).close();
      const old = new Database(file);
      const u = storedUnits(run('OLD', 3), 0);
      for (const x of u)
        old
          .prepare(
            'INSERT INTO supply_units (gtin, serial, lot, expiry, commitment, batch, proof, received_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
          )
          .run(x.gtin, x.serial, x.lot, x.expiry, x.commitment, x.batch, JSON.stringify(x.proof), 1);
      old.close();
      const db = openDatabase(file, NODE_MIGRATIONS);
      const units = new UnitStore(db);
      for (const x of u) assert.deepEqual(units.unit(x.gtin, x.serial), x);
      assert.equal(db.pragma('user_version', { simple: true }), NODE_MIGRATIONS.length);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('who asked about a unit', () => {
  const A = '0x00000000000000000000000000000000000000aa';
  const B = '0x00000000000000000000000000000000000000bb';

  test('each asker once, with their latest request, however often they asked', () => {
    const units = store();
    for (let t = 1; t <= 500; t++) units.recordScan(GTIN, 'S1', A, t);
    units.recordScan(GTIN, 'S1', B, 250);
    units.recordScan(GTIN, 'S1', A, 100); // late and older: the latest stays
    units.recordScan(GTIN, 'S2', B, 900);
    assert.deepEqual(units.recentScans(GTIN, 'S1', 0), [
      { by: B, at: 250 },
      { by: A, at: 500 },
    ]);
    assert.deepEqual(units.recentScans(GTIN, 'S1', 300), [{ by: A, at: 500 }]);
    assert.deepEqual(units.recentScans(GTIN, 'S3', 0), []);
  });

  test('what memory holds follows the table: written through, and forgotten when a transaction fails', () => {
    const db = openDatabase(':memory:', NODE_MIGRATIONS);
    const units = new UnitStore(db);
    assert.deepEqual(units.recentScans(GTIN, 'S1', 0), []); // now held in memory
    units.recordScan(GTIN, 'S1', A, 10);
    assert.deepEqual(units.recentScans(GTIN, 'S1', 0), [{ by: A, at: 10 }]);
    assert.throws(
      () =>
        db.transaction(() => {
          units.recordScan(GTIN, 'S1', B, 20);
          throw new Error('the commit failed');
        })(),
      /the commit failed/,
    );
    assert.deepEqual(units.recentScans(GTIN, 'S1', 0), [
      { by: A, at: 10 },
      { by: B, at: 20 },
    ]); // memory ahead of the table until told
    units.forgetScans(GTIN, 'S1');
    assert.deepEqual(units.recentScans(GTIN, 'S1', 0), [{ by: A, at: 10 }]);
    assert.deepEqual(new UnitStore(db).recentScans(GTIN, 'S1', 0), [{ by: A, at: 10 }]);
  });

  test('migration 15 keeps each asker’s latest request of the ones stored before it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'medchain-units-'));
    try {
      const file = path.join(dir, 'node.db');
      openDatabase(file, NODE_MIGRATIONS.slice(0, 14)).close();
      const old = new Database(file);
      const put = old.prepare(
        'INSERT INTO supply_scans (gtin, serial, requester, at_ms) VALUES (?, ?, ?, ?)',
      );
      for (const [by, at] of [
        [A, 10],
        [A, 30],
        [B, 20],
        [A, 5],
      ] as const)
        put.run(GTIN, 'S1', by, at);
      old.close();
      const db = openDatabase(file, NODE_MIGRATIONS);
      assert.deepEqual(new UnitStore(db).recentScans(GTIN, 'S1', 0), [
        { by: B, at: 20 },
        { by: A, at: 30 },
      ]);
      assert.equal(
        (
          db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'supply_scans'").get() as {
            n: number;
          }
        ).n,
        0,
      );
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('settings and units read again', () => {
  test('a setting written through another store on the same connection is seen at once', () => {
    const db = openDatabase(':memory:', NODE_MIGRATIONS);
    const node = new UnitStore(db);
    assert.equal(node.setting('gln'), undefined);
    new UnitStore(db).setSetting('gln', '9521234000006');
    assert.equal(node.setting('gln'), '9521234000006');
    new UnitStore(db).setSetting('gln', '9521234000013');
    assert.equal(node.setting('gln'), '9521234000013');
  });

  test('a setting written in a transaction that rolls back is not kept in memory either', () => {
    const db = openDatabase(':memory:', NODE_MIGRATIONS);
    const units = new UnitStore(db);
    units.setSetting('sscc-next:1', '5');
    assert.throws(() =>
      db.transaction(() => {
        units.setSetting('sscc-next:1', '9');
        assert.equal(units.setting('sscc-next:1'), '9'); // seen inside, not kept
        throw new Error('rolled back');
      })(),
    );
    assert.equal(units.setting('sscc-next:1'), '5');
    db.transaction(() => units.setSetting('sscc-next:1', '7'))();
    assert.equal(units.setting('sscc-next:1'), '7');
  });

  test('a unit read again is the same, and cannot be changed through what is returned', () => {
    const units = store();
    const r = run('L9', 5);
    const one = r.units[2] as StoredUnit;
    assert.equal(units.unit(GTIN, one.serial), undefined);
    units.putCommissionedRun(commissionedRun(r, 3));
    const first = units.unit(GTIN, one.serial);
    assert.ok(first);
    assert.throws(() => {
      (first as { lot: string }).lot = 'X';
    }, TypeError);
    assert.deepEqual(units.unit(GTIN, one.serial), storedUnits(r, 3)[2]);
  });
});
