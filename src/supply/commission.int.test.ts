/**
 * Commissioning is durable both ways (src/supply/commission.ts): a run is recorded in the commit
 * that queues its transaction, its units stored only once the chain confirmed it. A crash after
 * the chain confirmed (before the units were stored) and one before anything was sent: in
 * neither is a unit known here without its batch on chain, and `resumeCommissioning` stores the
 * run once the chain has it, with proofs the chain accepts. One embedded chain, one member store.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Address } from 'viem';
import { startTestChain, type TestChain, type TestMember } from '../../test/support/testChain.js';
import type { Actor } from '../access/gatekeeper.js';
import { type DrugLedgerContract, drugLedgerContract } from '../chain/contracts.js';
import { drugLedgerAbi } from '../chain/generated/index.js';
import { Outbox } from '../chain/outbox.js';
import { writeAndWait } from '../chain/transact.js';
import { TransparencyLog } from '../log/transparencyLog.js';
import { CustodyStore } from '../store/custodyStore.js';
import { type Db, openDatabase } from '../store/database.js';
import { NODE_MIGRATIONS } from '../store/nodeSchema.js';
import { type PendingRun, type StoredUnit, UnitStore } from '../store/unitStore.js';
import {
  type CommissionDeps,
  commissionLot,
  finishInterruptedRuns,
  resumeCommissioning,
} from './commission.js';
import { withCheckDigit } from './gs1CheckDigit.js';

const MANUFACTURER = 1 << 5;
const PREFIX = '9521234';
const GTIN = withCheckDigit(`0${PREFIX}00029`);
const ACTIVE = 1;
const admin: Actor = { id: 'user-admin', role: 'admin', purpose: 'operations' };

let t: TestChain;
let m: TestMember;
let ledger: DrugLedgerContract;
let dir: string;
let db: Db;
let outbox: Outbox;

/** The member's collaborators, as a (re)started node wires them over the same store. */
const depsOver = (ob: Outbox): CommissionDeps => ({
  conn: t.conn,
  ledger,
  outbox: ob,
  log: new TransparencyLog(db, m.input.account),
  units: new UnitStore(db),
  custody: new CustodyStore(db),
  supplyKey: new Uint8Array(32).fill(9),
  self: m.input.account,
});
/** An outbox whose flush is cut short: `after` the real one ran (or instead of it). */
const crashingOutbox = (afterFlush: boolean): Outbox =>
  Object.assign(Object.create(outbox) as Outbox, {
    flushUntilSettled: async (key: string) => {
      if (afterFlush) await outbox.flushUntilSettled(key);
      throw new Error('the process died here');
    },
  });
const body = (lot: string, count = 40) => ({
  gtin: GTIN,
  lot,
  expiry: '301231',
  count,
  caseSize: Math.min(16, count),
});
const batchCount = async () => Number(await ledger.read.batchCount());
/** Every unit of `lot` here, on chain in its batch, Active, with the manufacturer as custodian. */
async function onChain(units: StoredUnit[], batch: number) {
  for (const u of units) {
    assert.equal(u.batch, batch);
    const [custodian, status] = (await ledger.read.stateOf([
      { id: u.commitment, batch: u.batch, proof: u.proof },
    ])) as readonly [Address, number];
    assert.deepEqual([custodian, status], [m.input.account, ACTIVE], `unit ${u.serial}`);
  }
}

before(async () => {
  t = await startTestChain({ memberCount: 1, memberRoles: [MANUFACTURER] });
  m = t.members[0] as TestMember;
  ledger = drugLedgerContract(t.conn, t.manifest) as DrugLedgerContract;
  assert.ok(ledger, 'the test deployment has a DrugLedger');
  await writeAndWait(t.conn, m.wallet, {
    address: ledger.address,
    abi: drugLedgerAbi,
    functionName: 'claimPrefix',
    args: [BigInt(PREFIX), PREFIX.length],
  });
  dir = mkdtempSync(path.join(tmpdir(), 'medchain-commission-'));
  db = openDatabase(path.join(dir, 'node.db'), NODE_MIGRATIONS);
  outbox = new Outbox(db, t.conn, m.wallet);
  new UnitStore(db).setSetting('gln', '9521234000006');
});
after(async () => {
  db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  await t?.close();
});

describe('commissioning survives a crash', () => {
  test('a run stores its units with proofs the chain accepts, and its tree once', async () => {
    const before = await batchCount();
    const r = await commissionLot(depsOver(outbox), admin, body('DUR-OK', 33));
    assert.equal(r.batch, before);
    const units = new UnitStore(db).unitsOfLot(GTIN, 'DUR-OK');
    assert.equal(units.length, 33);
    await onChain(units, r.batch);
    assert.deepEqual(
      db.prepare('SELECT batch, count, pending FROM supply_runs').all(),
      [{ batch: r.batch, count: 33, pending: null }],
      'one row for the batch, nothing left pending',
    );
    assert.equal(
      (db.prepare('SELECT count(*) AS n FROM supply_units WHERE proof IS NOT NULL').get() as { n: number }).n,
      0,
      'no proof stored per unit: each is read off the batch tree',
    );
    assert.equal(r.cases.length, 3);
  });

  test('confirmed on chain, then a crash before the units were stored: none here until resumed, then all', async () => {
    const before = await batchCount();
    await assert.rejects(commissionLot(depsOver(crashingOutbox(true)), admin, body('DUR-A')), /died here/);
    assert.equal(await batchCount(), before + 1, 'the chain has the batch');
    // Restarted over the same store: nothing recorded as units yet, the run waits as recorded.
    const deps = depsOver(outbox);
    assert.equal(deps.units.unitsOfLot(GTIN, 'DUR-A').length, 0);
    assert.equal(deps.units.pendingRuns().length, 1);
    assert.ok(deps.units.hasLot(GTIN, 'DUR-A'), 'the lot counts as being commissioned');
    const { ssccs } = (deps.units.pendingRuns()[0] as PendingRun).run as { ssccs: string[] };
    assert.equal(deps.custody.caseUnits(ssccs[0] as string), undefined, 'no case recorded yet');
    assert.deepEqual(await resumeCommissioning(deps), { stored: 1, dropped: 0, waiting: 0 });
    const units = deps.units.unitsOfLot(GTIN, 'DUR-A');
    assert.equal(units.length, 40);
    await onChain(units, before);
    assert.deepEqual(
      ssccs.map((c) => deps.custody.caseUnits(c)?.length),
      [16, 16, 8],
      'its cases, as packed before the crash',
    );
    assert.deepEqual(deps.units.pendingRuns(), []);
    assert.deepEqual(await resumeCommissioning(deps), { stored: 0, dropped: 0, waiting: 0 }, 'once');
    await assert.rejects(commissionLot(deps, admin, body('DUR-A')), /already commissioned here/);
    assert.equal(await batchCount(), before + 1, 'commissioning the lot again sent nothing');
  });

  test('a crash after the run was recorded, before it was sent: nothing on chain, nothing here; stored once sent', async () => {
    const before = await batchCount();
    await assert.rejects(
      commissionLot(depsOver(crashingOutbox(false)), admin, body('DUR-B', 5)),
      /died here/,
    );
    const deps = depsOver(outbox);
    assert.equal(await batchCount(), before, 'nothing sent');
    assert.equal(deps.units.unitsOfLot(GTIN, 'DUR-B').length, 0);
    assert.deepEqual(await resumeCommissioning(deps), { stored: 0, dropped: 0, waiting: 1 });
    assert.equal(outbox.pending().length, 1, 'its transaction is queued');
    // The node's outbox sends what it holds (on its next flush, by any flow).
    await outbox.flush();
    assert.equal(await batchCount(), before + 1);
    // The next commissioning stores it first.
    const next = await commissionLot(deps, admin, body('DUR-C', 3));
    assert.equal(next.batch, before + 1, 'the next batch after the one sent late');
    const units = deps.units.unitsOfLot(GTIN, 'DUR-B');
    assert.equal(units.length, 5);
    await onChain(units, before);
    await onChain(deps.units.unitsOfLot(GTIN, 'DUR-C'), next.batch);
  });

  test('at a node’s start, an interrupted run is sent and stored without another commissioning', async () => {
    const before = await batchCount();
    await assert.rejects(
      commissionLot(depsOver(crashingOutbox(false)), admin, body('DUR-D', 4)),
      /died here/,
    );
    // The restarted node's collaborators over the same store.
    const deps = depsOver(outbox);
    assert.equal(deps.units.unitsOfLot(GTIN, 'DUR-D').length, 0);
    assert.deepEqual(await finishInterruptedRuns(deps), { stored: 1, dropped: 0, waiting: 0 });
    const units = deps.units.unitsOfLot(GTIN, 'DUR-D');
    assert.equal(units.length, 4);
    await onChain(units, before);
    assert.equal(await finishInterruptedRuns(deps), undefined, 'nothing left to finish');
  });
});
