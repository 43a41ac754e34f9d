import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createPublicClient, getAddress, http, parseEther } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { startTestChain, type TestChain } from '../../test/support/testChain.js';
import { connectChain, walletFor } from '../chain/clients.js';
import { consortiumContracts } from '../chain/contracts.js';
import { deployContracts } from '../chain/deploy.js';
import { registryAbi } from '../chain/generated/index.js';
import type { DeploymentManifest } from '../chain/manifest.js';
import { createIdentity, type MemberIdentity } from '../node/memberIdentity.js';
import {
  keyFileOf,
  type MemberNode,
  openMemberNode,
  type RunningNode,
  serveMemberNode,
} from '../node/memberNode.js';

const PASS = 'rpc proxy test passphrase';
let t: TestChain;
let manifest: DeploymentManifest;
let identity: MemberIdentity;
let node: MemberNode;
let running: RunningNode;
let rpc: string;

before(async () => {
  t = await startTestChain({ memberCount: 1 });
  const dir = path.join(t.dir, 'member');
  identity = createIdentity(keyFileOf(dir), PASS);
  manifest = (
    await deployContracts(t.conn, walletFor(t.conn, identity.chainKey), {
      genesis: [
        {
          account: identity.address,
          roles: 1,
          encryptionKey: identity.encryptionPublicKey,
          name: 'Proxy Hospital',
          endpoint: 'http://127.0.0.1',
        },
      ],
      manifestFile: path.join(t.dir, 'consortium.json'),
    })
  ).manifest;
  node = openMemberNode(dir, PASS, { manifest });
  running = await serveMemberNode(node, {
    rpcUrl: t.chain.rpcUrl,
    anchor: { intervalMs: 60_000 },
    replicate: false,
  });
  rpc = `${running.url}/rpc`;
});
after(async () => {
  await running.close();
  node.close();
  await t.close();
});

describe("the node's /rpc in front of a real chain", () => {
  test('the portal config names the node’s /rpc, never the chain’s own URL', async () => {
    const r = await fetch(`${running.url}/portal/config`);
    const config = (await r.json()) as { chain: { rpcUrl: string; chainId: number } };
    assert.equal(config.chain.rpcUrl, '/rpc', 'a path on this node, which the portal resolves');
    assert.equal(new URL(config.chain.rpcUrl, running.url).href, rpc);
    assert.equal(config.chain.chainId, manifest.chainId);
    assert.equal(
      JSON.stringify(config).includes(`:${new URL(t.chain.rpcUrl).port}`),
      false,
      'the anvil URL appears nowhere',
    );
  });

  test('viem’s http transport reads contracts and blocks through it, with the same answers as the chain', async () => {
    const client = createPublicClient({ transport: http(rpc) });
    assert.equal(await client.getChainId(), manifest.chainId);
    const accounts = await client.readContract({
      address: manifest.contracts.Registry,
      abi: registryAbi,
      functionName: 'memberAccounts',
    });
    assert.deepEqual(accounts, [identity.address]);
    assert.equal((await client.getBlock()).hash, (await t.conn.publicClient.getBlock()).hash);
    // A batching client (one HTTP request, several calls) works too.
    const batching = createPublicClient({ transport: http(rpc, { batch: true }) });
    const [n, code] = await Promise.all([
      batching.getBlockNumber(),
      batching.getCode({ address: manifest.contracts.Registry }),
    ]);
    assert.equal(n, await t.conn.publicClient.getBlockNumber());
    assert.ok(code && code.length > 2);
  });

  test('a transaction signed by its sender is broadcast through it (eth_sendRawTransaction)', async () => {
    const conn = await connectChain(rpc, { expectedChainId: manifest.chainId });
    const wallet = walletFor(conn, generatePrivateKey());
    // Legacy gas price, as the node's own transactions use (zero on the embedded chain, as on Besu).
    const gasPrice = await conn.publicClient.getGasPrice();
    const hash = await wallet.sendTransaction({ to: wallet.account.address, value: 0n, gasPrice });
    const receipt = await conn.publicClient.waitForTransactionReceipt({ hash });
    assert.equal(receipt.status, 'success');
    assert.equal(
      getAddress((await t.conn.publicClient.getTransaction({ hash })).from),
      wallet.account.address,
    );
  });

  test('anvil’s state-changing methods are refused through it and change nothing on the chain', async () => {
    const victim = privateKeyToAccount(generatePrivateKey()).address;
    const client = createPublicClient({ transport: http(rpc, { retryCount: 0 }) });
    const attempts: [string, unknown[]][] = [
      ['anvil_setBalance', [victim, `0x${parseEther('1000').toString(16)}`]],
      ['hardhat_setBalance', [victim, '0x1']],
      ['anvil_setCode', [manifest.contracts.Registry, '0x00']],
      ['anvil_impersonateAccount', [identity.address]],
      ['evm_mine', []],
    ];
    const before = await t.conn.publicClient.getBlockNumber();
    for (const [method, params] of attempts) {
      await assert.rejects(
        client.request({ method: method as 'eth_chainId', params: params as never }),
        (e: { code?: number }) => e.code === -32601,
        method,
      );
    }
    assert.equal(await t.conn.publicClient.getBalance({ address: victim }), 0n);
    // evm_mine would add an empty block; blocks this node's own anchorer may have mined meanwhile
    // (a loaded machine delays its rounds) carry its transaction.
    for (let n = before + 1n; n <= (await t.conn.publicClient.getBlockNumber()); n++) {
      const b = await t.conn.publicClient.getBlock({ blockNumber: n });
      assert.ok(b.transactions.length > 0, `block ${n} was mined empty: evm_mine got through`);
    }
    const registry = consortiumContracts(t.conn, manifest).registry;
    assert.equal(await registry.read.isActiveMember([identity.address]), true, 'the Registry code is intact');
  });
});
