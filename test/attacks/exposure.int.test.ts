/**
 * Attack family: what a node exposes besides records (issue 11). The rules: a member's log entries
 * are read by its own administrators only (other members get signed heads and proofs); a node's
 * store and keys are readable by its own user only; the chain URL handed to browsers reads the
 * chain and cannot administer it.
 */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encodeFunctionData } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { registryAbi } from '../../src/chain/generated/index.js';
import { AttackNetwork, request, rpc } from '../support/attackNetwork.js';

let net: AttackNetwork;
before(async () => {
  net = await AttackNetwork.start();
});
after(async () => {
  await net?.close();
});

describe('attack: what a node exposes', { timeout: 600_000 }, () => {
  test('10. log entries: refused to another member and to a clinician, served to the admin; heads and proofs still served to members', async () => {
    const entries = '/log/entries?start=0&end=0';
    const refused: string[] = [];
    const byMember = await net.memberRequest('clinic', 'lab', 'GET', entries);
    if (![401, 403].includes(byMember.status)) refused.push(`another member (signed): ${byMember.status}`);
    const byClinician = await net.asUser('lab', 'clinician', entries);
    if (byClinician.status !== 403) refused.push(`the lab's clinician: ${byClinician.status}`);

    const byAdmin = await net.asUser('lab', 'admin', entries);
    assert.equal(
      byAdmin.status,
      200,
      `the lab's admin reads its log (${JSON.stringify(byAdmin.body).slice(0, 200)})`,
    );
    const head = await net.memberRequest('clinic', 'lab', 'GET', '/log/head');
    assert.equal(head.status, 200, 'another member reads the signed head');
    const proof = await net.memberRequest('clinic', 'lab', 'GET', '/log/proof/consistency?first=1&second=2');
    assert.equal(
      proof.status,
      200,
      `another member reads a consistency proof (${JSON.stringify(proof.body).slice(0, 200)})`,
    );
    assert.equal(refused.length, 0, `log entries were served to:\n${refused.join('\n')}`);
  });

  test('11a. a running member’s node.db, -wal, -shm and keys.json are mode 0600 and its folder 0700', async () => {
    const lab = net.members.lab;
    // The node has run: seeded records, sign-ins and reads are in its store.
    assert.ok(lab.node.log.size > 0 && lab.running, 'the lab node has run');
    const mode = (p: string) => statSync(p).mode & 0o777;
    const wrong: string[] = [];
    for (const f of ['node.db', 'node.db-wal', 'node.db-shm', 'keys.json']) {
      const p = path.join(lab.dir, f);
      if (!existsSync(p)) {
        if (f === 'node.db' || f === 'keys.json') wrong.push(`${f} is missing`);
        continue; // -wal/-shm exist only while SQLite has them open in WAL mode
      }
      if (mode(p) !== 0o600) wrong.push(`${f} is ${mode(p).toString(8)}, not 600`);
    }
    if (mode(lab.dir) !== 0o700) wrong.push(`the member folder is ${mode(lab.dir).toString(8)}, not 700`);
    assert.equal(wrong.length, 0, wrong.join('\n'));
  });

  test('11b. the chain URL the portal config publishes reads the chain but refuses anvil/admin methods', async () => {
    const config = await request(`${net.url('hospital')}/portal/config`);
    assert.equal(config.status, 200);
    const published = (config.body as { chain?: { rpcUrl?: string } | null }).chain?.rpcUrl;
    assert.ok(
      typeof published === 'string' && published.length > 0,
      'the portal config publishes a chain URL for browsers',
    );
    // A path is resolved against the portal's own origin, as a browser does.
    const url = new URL(published, `${net.url('hospital')}/`).toString();

    // What a browser needs works.
    const chainId = await rpc(url, 'eth_chainId');
    assert.equal(Number(chainId.result), net.manifest.chainId, `eth_chainId (${JSON.stringify(chainId)})`);
    const block = await rpc(url, 'eth_blockNumber');
    assert.match(String(block.result), /^0x[0-9a-f]+$/, `eth_blockNumber (${JSON.stringify(block)})`);
    const call = await rpc(url, 'eth_call', [
      {
        to: net.manifest.contracts.Registry,
        data: encodeFunctionData({ abi: registryAbi, functionName: 'memberAccounts' }),
      },
      'latest',
    ]);
    assert.match(String(call.result), /^0x[0-9a-f]{64,}$/, `eth_call (${JSON.stringify(call)})`);

    // What administers the chain is refused.
    const victim = privateKeyToAccount(generatePrivateKey()).address;
    const admin: [string, unknown[]][] = [
      ['anvil_impersonateAccount', [victim]],
      ['anvil_setBalance', [victim, '0x3635c9adc5dea00000']],
      ['evm_mine', []],
      ['anvil_mine', ['0x1']],
      ['anvil_setCode', [victim, '0x6000']],
    ];
    const served: string[] = [];
    for (const [method, params] of admin) {
      const r = await rpc(url, method, params);
      const refused = r.status >= 400 || (r.error !== undefined && r.result === undefined);
      if (!refused) served.push(`${method}: ${JSON.stringify(r).slice(0, 120)}`);
    }
    const balance = await net.t.conn.publicClient.getBalance({ address: victim });
    if (balance !== 0n) served.push(`anvil_setBalance took effect: balance ${balance}`);
    const code = await net.t.conn.publicClient.getCode({ address: victim });
    if (code && code !== '0x') served.push(`anvil_setCode took effect: code ${code}`);
    assert.equal(served.length, 0, `the published chain URL administers the chain:\n${served.join('\n')}`);
  });
});
