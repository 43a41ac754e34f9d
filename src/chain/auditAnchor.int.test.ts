import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Hex } from 'viem';
import { startTestChain, type TestChain, type TestMember } from '../../test/support/testChain.js';
import type { ChainError } from './chainError.js';
import { auditAnchorAbi } from './generated/index.js';
import { writeAndWait } from './transact.js';

let t: TestChain;
before(async () => {
  t = await startTestChain({ memberCount: 2 });
});
after(() => t.close());

const root = (b: number): Hex => `0x${b.toString(16).padStart(2, '0').repeat(32)}`;
const anchor = (by: TestMember, size: bigint, r: Hex, ts = 1_700_000_000_000n) =>
  writeAndWait(t.conn, by.wallet, {
    address: t.manifest.contracts.AuditAnchor,
    abi: auditAnchorAbi,
    functionName: 'anchor',
    args: [size, r, ts],
  });
async function rejects(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (e: ChainError) => {
    assert.equal(e.code, code, e.message);
    return true;
  });
}

describe('AuditAnchor', () => {
  test('members anchor growing heads; latest and history are readable', async () => {
    const a = t.members[0] as TestMember;
    const r1 = await anchor(a, 10n, root(1));
    assert.equal(r1.result, true);
    await anchor(a, 25n, root(2), 1_700_000_001_000n);
    const addr = a.input.account;
    assert.equal(await t.contracts.auditAnchor.read.headCount([addr]), 2n);
    const latest = await t.contracts.auditAnchor.read.latestHead([addr]);
    assert.equal(latest.treeSize, 25n);
    assert.equal(latest.rootHash, root(2));
    assert.equal(latest.timestamp, 1_700_000_001_000n);
    const first = await t.contracts.auditAnchor.read.headAt([addr, 0n]);
    assert.equal(first.treeSize, 10n);
    assert.equal(first.blockNumber, r1.receipt.blockNumber);
    const logs = await t.conn.publicClient.getContractEvents({
      address: t.manifest.contracts.AuditAnchor,
      abi: auditAnchorAbi,
      eventName: 'HeadAnchored',
      args: { member: addr },
      fromBlock: 0n,
    });
    assert.deepEqual(
      logs.map((l) => l.args.treeSize),
      [10n, 25n],
    );
  });

  test('resubmitting the latest head is a no-op; a smaller or equal size with another root reverts', async () => {
    const b = t.members[1] as TestMember;
    await anchor(b, 5n, root(3));
    const again = await anchor(b, 5n, root(3));
    assert.equal(again.result, false);
    assert.equal(again.receipt.logs.length, 0);
    await rejects(anchor(b, 5n, root(4)), 'AuditAnchorTreeSizeNotIncreasing');
    await rejects(anchor(b, 4n, root(4)), 'AuditAnchorTreeSizeNotIncreasing');
    assert.equal(await t.contracts.auditAnchor.read.headCount([b.input.account]), 1n);
  });

  test('non-members, empty roots, size 0 and out-of-range history reads are refused', async () => {
    await rejects(anchor(t.outsider(), 1n, root(1)), 'AuditAnchorNotMember');
    const a = t.members[0] as TestMember;
    await rejects(anchor(a, 100n, `0x${'00'.repeat(32)}`), 'AuditAnchorEmptyRoot');
    const fresh = t.outsider();
    await assert.rejects(
      t.contracts.auditAnchor.read.headAt([fresh.input.account, 0n]),
      /AuditAnchorIndexOutOfRange/,
    );
    const none = await t.contracts.auditAnchor.read.latestHead([fresh.input.account]);
    assert.equal(none.treeSize, 0n);
  });
});
