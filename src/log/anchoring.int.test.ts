import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { startTestChain, type TestChain } from '../../test/support/testChain.js';
import { runCliCaptured } from '../../test/support/testNetwork.js';
import type { Actor } from '../access/gatekeeper.js';
import { patientAuthHeader } from '../access/patientAuth.js';
import { walletFor } from '../chain/clients.js';
import { deployContracts } from '../chain/deploy.js';
import { auditAnchorAbi } from '../chain/generated/index.js';
import { hashPassword } from '../crypto/password.js';
import { createIdentity } from '../node/memberIdentity.js';
import {
  keyFileOf,
  type MemberNode,
  openMemberNode,
  type RunningNode,
  serveMemberNode,
} from '../node/memberNode.js';
import { verifyTreeHead } from './treeHead.js';

const PASS = 'anchoring test passphrase';
const ACTOR: Actor = { id: 'u-1', role: 'clinician', purpose: 'treatment' };
const PATIENT = privateKeyToAccount(generatePrivateKey());
let t: TestChain;
let node: MemberNode;
let running: RunningNode;
let manifestFile: string;
let dir: string;

const cli = runCliCaptured;

before(async () => {
  t = await startTestChain({ memberCount: 1 });
  dir = path.join(t.dir, 'hospital');
  const identity = createIdentity(keyFileOf(dir), PASS);
  // A consortium whose genesis member is this node.
  manifestFile = path.join(t.dir, 'consortium.json');
  const { manifest } = await deployContracts(t.conn, walletFor(t.conn, identity.chainKey), {
    genesis: [
      {
        account: identity.address,
        roles: 1,
        encryptionKey: identity.encryptionPublicKey,
        name: 'City Hospital',
        endpoint: 'http://127.0.0.1',
      },
    ],
    manifestFile,
  });
  node = openMemberNode(dir, PASS, { manifest });
  node.users.add('admin', 'admin', await hashPassword('admin password 1'));
  running = await serveMemberNode(node, { rpcUrl: t.chain.rpcUrl, anchor: { intervalMs: 60_000 } });
  const p = await node.gate.create(ACTOR, 'Patient', {
    resourceType: 'Patient',
    identifier: [{ system: 'urn:medchain:patient', value: PATIENT.address }],
  });
  const o = await node.gate.create(ACTOR, 'Observation', {
    resourceType: 'Observation',
    status: 'final',
    code: { text: 'x' },
    subject: { reference: `Patient/${p.id}` },
  });
  await node.gate.read(ACTOR, 'Observation', o.id);
});
after(async () => {
  await running.close();
  node.close();
  await t.close();
});

describe('anchoring and offline verification', () => {
  test('a head is anchored through the outbox and reported by GET /log/head', async () => {
    await running.anchorer?.tick(true);
    const size = node.log.size;
    const head = (
      await running.app.inject({
        method: 'GET',
        url: '/log/head',
        headers: { authorization: `Bearer ${await token()}` },
      })
    ).json();
    assert.equal(head.anchored.treeSize, size);
    assert.equal(head.anchored.rootHash, `0x${Buffer.from(node.log.root(size)).toString('hex')}`);
    assert.match(head.anchored.txHash, /^0x[0-9a-f]{64}$/);
    assert.ok(head.anchored.blockNumber > 0);
    assert.ok(
      await verifyTreeHead(
        node.identity.address,
        { chainId: t.manifest.chainId, verifyingContract: node.manifest?.contracts.AuditAnchor },
        head,
      ),
    );
    const onChain = await t.conn.publicClient.readContract({
      address: node.manifest?.contracts.AuditAnchor as `0x${string}`,
      abi: auditAnchorAbi,
      functionName: 'latestHead',
      args: [node.identity.address],
    });
    assert.equal(Number(onChain.treeSize), size);
    // The sign-in above added an entry: the next round anchors it; a round with nothing new sends nothing.
    const headCount = () =>
      t.conn.publicClient.readContract({
        address: node.manifest?.contracts.AuditAnchor as `0x${string}`,
        abi: auditAnchorAbi,
        functionName: 'headCount',
        args: [node.identity.address],
      });
    await running.anchorer?.tick(true);
    assert.equal(await headCount(), 2n);
    await running.anchorer?.tick(true);
    assert.equal(await headCount(), 2n);
  });

  test('the patient downloads their disclosures and checks them offline against the chain', async () => {
    await running.anchorer?.tick(true);
    const url = `/patients/${PATIENT.address}/disclosures`;
    const r = await running.app.inject({
      method: 'GET',
      url,
      headers: { authorization: await patientAuthHeader(PATIENT, node.identity.address, 'GET', url) },
    });
    assert.equal(r.statusCode, 200, r.body);
    const doc = r.json();
    assert.ok(doc.entries.length >= 3, 'create patient, create observation, read observation');
    const file = path.join(t.dir, 'disclosures.json');
    writeFileSync(file, JSON.stringify(doc));
    const ok = await cli('verify-disclosures', file, '--rpc-url', t.chain.rpcUrl);
    assert.equal(ok.code, 0, ok.out + ok.err);
    assert.match(ok.out, /^ok head size \d+ is anchored on chain/m);
    assert.match(ok.out, /^verified: \d+ entries checked/m);

    const tampered = structuredClone(doc);
    tampered.entries[0].path[0] = `0x${'00'.repeat(32)}`;
    writeFileSync(file, JSON.stringify(tampered));
    const bad = await cli('verify-disclosures', file, '--rpc-url', t.chain.rpcUrl);
    assert.equal(bad.code, 1);
    assert.match(bad.out, /FAIL entry \d+ is not proven included/);

    const forgedRoot = structuredClone(doc);
    forgedRoot.anchored.rootHash = `0x${'ab'.repeat(32)}`;
    writeFileSync(file, JSON.stringify(forgedRoot));
    const bad2 = await cli('verify-disclosures', file, '--rpc-url', t.chain.rpcUrl);
    assert.equal(bad2.code, 1);
    assert.match(bad2.out, /FAIL the chain has a different root/);
    writeFileSync(file, '{"member": 1}');
    assert.match(
      (await cli('verify-disclosures', file, '--rpc-url', t.chain.rpcUrl)).err,
      /not a disclosures file/,
    );
  });

  test('medchain verify: exit 0 on a clean store; exit 1 naming the problem after tampering', async () => {
    await running.anchorer?.tick(true);
    const args = ['verify', '--dir', dir, '--rpc-url', t.chain.rpcUrl, '--manifest', manifestFile];
    const clean = await cli(...args);
    assert.equal(clean.code, 0, clean.out + clean.err);
    assert.match(
      clean.out,
      /^ok: \d+ log entries, 2 record versions, \d+ anchored heads checked; 0 problem\(s\)$/m,
    );
    assert.match(clean.err, /verifying log entries: \d+\/\d+/);
    node.db.prepare("UPDATE log_entries SET entry = entry || x'00' WHERE idx = 1").run();
    const broken = await cli(...args);
    assert.equal(broken.code, 1);
    assert.match(broken.out, /^problem log-entry-modified: log entry at position 1:/m);
    assert.match(broken.out, /^problem log-rewritten: anchored head size/m);
    assert.match(broken.out, /^FAILED: /m);
    const offline = await cli('verify', '--dir', dir);
    assert.match(offline.out, /no chain given/);
  });
});

let cachedToken: string | undefined;
async function token(): Promise<string> {
  cachedToken ??= (
    await running.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { username: 'admin', password: 'admin password 1' },
    })
  ).json().access_token as string;
  return cachedToken as string;
}
