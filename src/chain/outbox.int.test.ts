import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Hex } from 'viem';
import { startTestChain, type TestChain, type TestMember } from '../../test/support/testChain.js';
import { type Db, openDatabase } from '../store/database.js';
import { NODE_MIGRATIONS } from '../store/nodeSchema.js';
import { Outbox } from './outbox.js';

let t: TestChain;
let member: TestMember;
let dbFile: string;
const open: Db[] = [];

before(async () => {
  t = await startTestChain({ memberCount: 1 });
  member = t.members[0] as TestMember;
  dbFile = path.join(t.dir, 'node.db');
});
after(async () => {
  for (const db of open) if (db.open) db.close();
  await t.close();
});

/** A node "process": its own database handle and outbox, as after a restart. */
function boot(): { db: Db; outbox: Outbox } {
  const db = openDatabase(dbFile, NODE_MIGRATIONS);
  open.push(db);
  return { db, outbox: new Outbox(db, t.conn, member.wallet, { receiptTimeoutMs: 5000 }) };
}

const root = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}`;
const anchorReq = (size: number) => ({
  key: `anchor:${size}`,
  contract: 'AuditAnchor' as const,
  address: t.manifest.contracts.AuditAnchor,
  functionName: 'anchor',
  args: [BigInt(size), root(size), 1_700_000_000_000n + BigInt(size)],
  description: `anchor tree head size ${size}`,
});
const anchoredCount = () => t.contracts.auditAnchor.read.headCount([member.input.account]);

describe('Outbox', () => {
  test('a transaction is recorded once per key, then sent and confirmed', async () => {
    const { db, outbox } = boot();
    const a = outbox.enqueue(anchorReq(3));
    const b = outbox.enqueue(anchorReq(3));
    assert.equal(a.id, b.id);
    assert.equal(outbox.pending().length, 1);
    const [done] = await outbox.flush();
    assert.equal(done?.status, 'confirmed');
    assert.ok(done?.txHash && done.block);
    assert.equal(await anchoredCount(), 1n);
    assert.equal(outbox.pending().length, 0);
    db.close();
  });

  test('a crash after signing, before sending: the restarted node sends the same transaction once', async () => {
    const first = boot();
    first.outbox.enqueue(anchorReq(5));
    await first.outbox.signQueued();
    const signed = first.outbox.get('anchor:5');
    assert.equal(signed?.status, 'signed');
    first.db.close(); // crash

    const second = boot();
    const [done] = await second.outbox.flush();
    assert.equal(done?.status, 'confirmed');
    assert.equal(done?.txHash, signed?.txHash, 'the very same signed bytes were sent');
    assert.equal(await anchoredCount(), 2n);
    second.db.close();
  });

  test('a crash after sending, before recording the receipt: no double effect on restart', async () => {
    const first = boot();
    first.outbox.enqueue(anchorReq(7));
    await first.outbox.signQueued();
    await first.outbox.sendSigned();
    // Simulate a crash between broadcast and recording the receipt.
    first.db.prepare(`UPDATE outbox SET status = 'signed', block = NULL WHERE key = 'anchor:7'`).run();
    first.db.close();

    const second = boot();
    const [done] = await second.outbox.flush();
    assert.equal(done?.status, 'confirmed');
    assert.equal(await anchoredCount(), 3n);
    await second.outbox.flush();
    assert.equal(await anchoredCount(), 3n);
    second.db.close();
  });

  test('a call the contract refuses is marked failed with the contract error, and nothing is sent', async () => {
    const { db, outbox } = boot();
    outbox.enqueue(anchorReq(2)); // smaller than the anchored 7
    const [done] = await outbox.flush();
    assert.equal(done?.status, 'failed');
    assert.match(done?.error ?? '', /^AuditAnchorTreeSizeNotIncreasing\(7, 2\)$/);
    assert.equal(done?.txHash, null);
    assert.equal(await anchoredCount(), 3n);
    db.close();
  });
});
