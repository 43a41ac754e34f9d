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

  test('a nonce another sender used: the entry is signed again with a fresh nonce, not re-broadcast forever', async () => {
    let clock = 1_000_000;
    const db = openDatabase(dbFile, NODE_MIGRATIONS);
    open.push(db);
    const outbox = new Outbox(db, t.conn, member.wallet, {
      receiptTimeoutMs: 3000,
      rebroadcastMs: 1000,
      now: () => clock,
    });
    outbox.enqueue(anchorReq(9));
    await outbox.signQueued();
    const signed = outbox.get('anchor:9');
    assert.equal(signed?.status, 'signed');
    // Another process holding the same key takes that nonce first (a plain transfer to itself).
    const pc = t.conn.publicClient;
    const taken = await member.wallet.sendTransaction({
      account: member.wallet.account,
      chain: t.conn.chain,
      to: member.wallet.account.address,
      value: 0n,
      nonce: signed?.nonce as number,
      gasPrice: await pc.getGasPrice(),
      type: 'legacy',
    });
    await pc.waitForTransactionReceipt({ hash: taken });
    await outbox.sendSigned(); // "nonce too low": the stored bytes can never be mined now
    await outbox.settle();
    assert.equal(outbox.get('anchor:9')?.status, 'signed', 'one look is not enough: the node may lag');
    clock += 1000;
    await outbox.settle();
    const requeued = outbox.get('anchor:9');
    assert.equal(requeued?.status, 'queued');
    assert.match(requeued?.error ?? '', /nonce \d+ was used by another transaction/);
    const [done] = await outbox.flush();
    assert.equal(done?.status, 'confirmed');
    assert.notEqual(done?.txHash, signed?.txHash);
    assert.ok((done?.nonce as number) > (signed?.nonce as number));
    assert.equal(await anchoredCount(), 4n);
    db.close();
  });
});

describe('Outbox on a chain with 1 s blocks (transactions in flight)', () => {
  let slow: TestChain;
  let slowMember: TestMember;
  let slowDb: string;
  before(async () => {
    slow = await startTestChain({ memberCount: 1, blockTimeSeconds: 1 });
    slowMember = slow.members[0] as TestMember;
    slowDb = path.join(slow.dir, 'node.db');
  });
  after(() => slow.close());

  const bootSlow = () => {
    const db = openDatabase(slowDb, NODE_MIGRATIONS);
    open.push(db);
    return { db, outbox: new Outbox(db, slow.conn, slowMember.wallet, { receiptTimeoutMs: 15_000 }) };
  };
  const req = (size: number) => ({ ...anchorReq(size), address: slow.manifest.contracts.AuditAnchor });
  const heads = async () => {
    const c = slow.contracts.auditAnchor.read;
    const n = Number(await c.headCount([slowMember.input.account]));
    const sizes: number[] = [];
    for (let i = 0; i < n; i++)
      sizes.push(Number((await c.headAt([slowMember.input.account, BigInt(i)])).treeSize));
    return sizes;
  };

  test('submit does not wait for a block: three heads in flight with consecutive nonces, applied in order', async () => {
    const { db, outbox } = bootSlow();
    const sent = [];
    for (const size of [10, 20, 30]) {
      outbox.enqueue(req(size));
      assert.deepEqual(await outbox.submit(), [], 'the contract accepts each head in its dry run');
      sent.push(outbox.get(`anchor:${size}`));
    }
    assert.deepEqual(
      sent.map((e) => e?.status),
      ['signed', 'signed', 'signed'],
    );
    const nonces = sent.map((e) => e?.nonce as number);
    assert.deepEqual(nonces, [nonces[0], (nonces[0] as number) + 1, (nonces[0] as number) + 2]);
    const done = await outbox.flush();
    assert.deepEqual(
      done.map((e) => [e.key, e.status, e.error]),
      [10, 20, 30].map((s) => [`anchor:${s}`, 'confirmed', null]),
      'none reverted',
    );
    // Sent within milliseconds of each other, at least two were mined in one block: they were in
    // flight together rather than each waiting for the one before.
    assert.ok(new Set(done.map((e) => e.block)).size < 3, `blocks ${done.map((e) => e.block)}`);
    assert.deepEqual(await heads(), [10, 20, 30]);
    assert.equal(outbox.pending().length, 0);
    db.close();
  });

  test('a crash after sending, while the transaction waits in the pool: applied exactly once', async () => {
    const first = bootSlow();
    first.outbox.enqueue(req(40));
    await first.outbox.submit();
    const sent = first.outbox.get('anchor:40');
    assert.equal(sent?.status, 'signed');
    first.db.close(); // crash before any receipt is recorded (the block has most likely not come yet)

    const second = bootSlow();
    const [done] = await second.outbox.flush();
    assert.equal(done?.key, 'anchor:40');
    assert.equal(done?.status, 'confirmed');
    assert.equal(done?.txHash, sent?.txHash, 'the very same signed bytes');
    await second.outbox.flush();
    assert.deepEqual(await heads(), [10, 20, 30, 40]);
    second.db.close();
  });

  test('a crash between signing and sending the second of two heads in flight: each applied once, in order', async () => {
    const first = bootSlow();
    first.outbox.enqueue(req(50));
    await first.outbox.submit(); // broadcast
    first.outbox.enqueue(req(60));
    await first.outbox.signQueued(); // signed with the next nonce, never sent
    const [a, b] = [first.outbox.get('anchor:50'), first.outbox.get('anchor:60')];
    assert.equal(b?.nonce, (a?.nonce as number) + 1);
    first.db.close(); // crash

    const second = bootSlow();
    const done = await second.outbox.flush();
    assert.deepEqual(
      done.map((e) => [e.key, e.status, e.txHash]),
      [
        ['anchor:50', 'confirmed', a?.txHash],
        ['anchor:60', 'confirmed', b?.txHash],
      ],
    );
    await second.outbox.flush();
    assert.deepEqual(await heads(), [10, 20, 30, 40, 50, 60]);
    const nonce = await slow.conn.publicClient.getTransactionCount({ address: slowMember.input.account });
    assert.equal(nonce, (b?.nonce as number) + 1, 'no nonce skipped or used twice');
    second.db.close();
  });
});
