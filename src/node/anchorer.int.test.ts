import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestChain, type TestChain } from '../../test/support/testChain.js';
import { waitFor } from '../../test/support/waitFor.js';
import { walletFor } from '../chain/clients.js';
import { consortiumContracts } from '../chain/contracts.js';
import { deployContracts } from '../chain/deploy.js';
import type { LogInput } from '../log/transparencyLog.js';
import { createIdentity } from './memberIdentity.js';
import {
  keyFileOf,
  type MemberNode,
  openMemberNode,
  type RunningNode,
  serveMemberNode,
} from './memberNode.js';

const PASS = 'anchorer test passphrase';
let t: TestChain;
let dir: string;
let manifest: Awaited<ReturnType<typeof deployContracts>>['manifest'];
let node: MemberNode;
let running: RunningNode;

const entry = (i: number): LogInput => ({
  actor: 'u-1',
  patient: '0x4D1Ad100619f59d961c0CFD53D3cAcF34B1892cD',
  action: 'read',
  target: { resourceType: 'Observation', id: `obs-${i}`, version: 1, ciphertextHash: `0x${'ab'.repeat(32)}` },
  purpose: 'treatment',
  outcome: 'permit',
  reason: 'ok',
  queryHash: null,
});

const serve = async () => {
  node = openMemberNode(dir, PASS, { manifest });
  running = await serveMemberNode(node, {
    rpcUrl: t.chain.rpcUrl,
    anchor: { intervalMs: 200 },
    replicate: false,
  });
};
const shutdown = async () => {
  await running.close();
  node.close();
};

interface AnchorRow {
  key: string;
  status: string;
  nonce: number | null;
  error: string | null;
}
const anchorRows = () =>
  node.db
    .prepare(`SELECT key, status, nonce, error FROM outbox WHERE key LIKE 'anchor:%' ORDER BY id`)
    .all() as AnchorRow[];
const unconfirmed = () => anchorRows().filter((r) => r.status === 'signed').length;
const anchorContract = () => consortiumContracts(t.conn, manifest).auditAnchor;
const chainSizes = async () => {
  const read = anchorContract().read;
  const member = node.identity.address;
  const n = Number(await read.headCount([member]));
  const sizes: number[] = [];
  for (let i = 0; i < n; i++) sizes.push(Number((await read.headAt([member, BigInt(i)])).treeSize));
  return sizes;
};

/** Append an entry every 50 ms for `ms`, sampling how many anchors are unconfirmed; returns the most seen. */
async function appendFor(ms: number, from: number): Promise<number> {
  let most = 0;
  const end = Date.now() + ms;
  for (let i = from; Date.now() < end; i++) {
    await node.log.append(entry(i));
    most = Math.max(most, unconfirmed());
    await sleep(50);
  }
  return most;
}

/** Wait until the chain's latest anchored head covers the whole log, with nothing unconfirmed. */
async function waitAllAnchored(): Promise<void> {
  await waitFor(
    'the anchored head to reach the log size with nothing unconfirmed',
    async () =>
      Number((await anchorContract().read.latestHead([node.identity.address])).treeSize) === node.log.size &&
      unconfirmed() === 0,
  );
}

before(async () => {
  t = await startTestChain({ memberCount: 1, blockTimeSeconds: 1 });
  dir = path.join(t.dir, 'member');
  const identity = createIdentity(keyFileOf(dir), PASS);
  ({ manifest } = await deployContracts(t.conn, walletFor(t.conn, identity.chainKey), {
    genesis: [
      {
        account: identity.address,
        roles: 1,
        encryptionKey: identity.encryptionPublicKey,
        name: 'City Hospital',
        endpoint: 'http://127.0.0.1',
      },
    ],
    manifestFile: path.join(t.dir, 'consortium.json'),
  }));
  await serve();
});
after(async () => {
  if (node.db.open) await shutdown();
  await t.close();
});

describe('Anchorer on a chain with 1 s blocks', () => {
  test('rounds go on while earlier anchors are unconfirmed; all end up anchored in order, none reverted or stuck, across a restart', async () => {
    const most = await appendFor(3000, 0);
    assert.ok(most >= 2, `at most ${most} anchor(s) were unconfirmed at once: rounds waited for receipts`);
    // Stop while anchors are in flight, as a restart would; the next process settles them.
    await appendFor(300, 1000);
    const inFlightAtStop = unconfirmed();
    await shutdown();
    await serve();
    await appendFor(1000, 2000);
    await waitAllAnchored();

    const rows = anchorRows();
    assert.deepEqual(
      rows.filter((r) => r.status !== 'confirmed'),
      [],
      `every anchor transaction confirmed (${inFlightAtStop} were in flight at the restart)`,
    );
    const sizes = rows.map((r) => Number(r.key.slice('anchor:'.length)));
    assert.deepEqual(await chainSizes(), sizes, 'the chain holds every head queued, in queueing order');
    assert.ok(
      sizes.every((s, i) => i === 0 || s > (sizes[i - 1] as number)),
      'sizes grow strictly',
    );
    const nonces = rows.map((r) => r.nonce as number);
    assert.ok(
      nonces.every((n, i) => i === 0 || n === (nonces[i - 1] as number) + 1),
      `consecutive nonces: ${nonces}`,
    );
    const chainNonce = await t.conn.publicClient.getTransactionCount({ address: node.identity.address });
    assert.equal(chainNonce, (nonces.at(-1) as number) + 1, 'no nonce used twice or left pending');
    assert.equal(
      node.publisher.latestAnchored()?.treeSize,
      node.log.size,
      'the node recorded the last anchor',
    );
  });

  test('idle rounds make no chain request and send nothing', async () => {
    await waitAllAnchored();
    const stats = running.anchorer?.stats as { rounds: number; queued: number; observed: number };
    const before = { ...stats, rows: anchorRows().length };
    const nonce = await t.conn.publicClient.getTransactionCount({ address: node.identity.address });
    await waitFor('ten anchor rounds', () => stats.rounds >= before.rounds + 10, undefined, 50);
    assert.equal(stats.queued, before.queued, 'no head queued');
    assert.equal(stats.observed, before.observed, 'no look at the chain');
    assert.equal(anchorRows().length, before.rows);
    assert.equal(await t.conn.publicClient.getTransactionCount({ address: node.identity.address }), nonce);
  });
});
