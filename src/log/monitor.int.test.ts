import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { privateKeyToAccount } from 'viem/accounts';
import { startTestChain, type TestChain } from '../../test/support/testChain.js';
import { runCliCaptured } from '../../test/support/testNetwork.js';
import type { Actor } from '../access/gatekeeper.js';
import { memberAuthHeader } from '../access/memberAuth.js';
import { walletFor } from '../chain/clients.js';
import { deployContracts } from '../chain/deploy.js';
import type { DeploymentManifest } from '../chain/manifest.js';
import { createIdentity, type MemberIdentity } from '../node/memberIdentity.js';
import {
  keyFileOf,
  type MemberNode,
  openMemberNode,
  type RunningNode,
  serveMemberNode,
} from '../node/memberNode.js';
import { decodeEntry, encodeEntry } from './entry.js';
import { leafHash } from './merkle.js';

const PASS = 'monitor test passphrase';
const ACTOR: Actor = { id: 'u-1', role: 'clinician', purpose: 'treatment' };
let t: TestChain;
let manifest: DeploymentManifest;
let manifestFile: string;
const dirs = { a: '', b: '' };
const ids: Record<'a' | 'b', MemberIdentity> = {} as never;
let b: { node: MemberNode; running: RunningNode };

const cli = runCliCaptured;

async function startB() {
  const node = openMemberNode(dirs.b, PASS, { manifest });
  const running = await serveMemberNode(node, { rpcUrl: t.chain.rpcUrl, anchor: { intervalMs: 60_000 } });
  return { node, running };
}

before(async () => {
  process.env.MEDCHAIN_PASSPHRASE = PASS;
  t = await startTestChain({ memberCount: 1 });
  for (const k of ['a', 'b'] as const) {
    dirs[k] = path.join(t.dir, k);
    ids[k] = createIdentity(keyFileOf(dirs[k]), PASS);
  }
  manifestFile = path.join(t.dir, 'consortium.json');
  manifest = (
    await deployContracts(t.conn, walletFor(t.conn, ids.a.chainKey), {
      genesis: (['a', 'b'] as const).map((k) => ({
        account: ids[k].address,
        roles: 1,
        encryptionKey: ids[k].encryptionPublicKey,
        name: `Member ${k}`,
        endpoint: 'http://127.0.0.1',
      })),
      manifestFile,
    })
  ).manifest;
  b = await startB();
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 5; i++)
      await b.node.gate.create(ACTOR, 'Patient', { resourceType: 'Patient', gender: 'unknown' });
    await b.running.anchorer?.tick(true);
  }
  await b.node.gate.create(ACTOR, 'Patient', { resourceType: 'Patient', gender: 'unknown' }); // not yet anchored
});
after(async () => {
  await b.running.close();
  b.node.close();
  await t.close();
});

const monitor = () =>
  cli(
    'monitor',
    '--dir',
    dirs.a,
    '--peer',
    b.running.url,
    '--member',
    ids.b.address,
    '--rpc-url',
    t.chain.rpcUrl,
    '--manifest',
    manifestFile,
  );

describe('monitoring another member', () => {
  test('an honest log is consistent with every head it anchored and with its current head', async () => {
    const r = await monitor();
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /^ok: 3 anchored heads, current head size 16, 3 consistency proofs checked$/m);
  });

  test('log routes accept only signatures of active members', async () => {
    const outsider = privateKeyToAccount(`0x${'42'.repeat(32)}`);
    const r = await fetch(`${b.running.url}/log/head`, {
      headers: { authorization: await memberAuthHeader(outsider, ids.b.address, 'GET', '/log/head') },
    });
    assert.equal(r.status, 401);
    const a = privateKeyToAccount(ids.a.chainKey);
    const wrongPath = await fetch(`${b.running.url}/log/head`, {
      headers: { authorization: await memberAuthHeader(a, ids.b.address, 'GET', '/log/entries') },
    });
    assert.equal(wrongPath.status, 401, 'a signature for another path does not work');
    const ok = await fetch(`${b.running.url}/log/head`, {
      headers: { authorization: await memberAuthHeader(a, ids.b.address, 'GET', '/log/head') },
    });
    assert.equal(ok.status, 200);
    const header = await memberAuthHeader(a, ids.b.address, 'GET', '/log/head');
    assert.equal(
      (await fetch(`${b.running.url}/log/head`, { headers: { authorization: header } })).status,
      200,
    );
    assert.equal(
      (await fetch(`${b.running.url}/log/head`, { headers: { authorization: header } })).status,
      401,
      'a captured header cannot be replayed',
    );
    const q = '/log/proof/consistency?first=1&second=2';
    const forOther = await memberAuthHeader(
      a,
      ids.b.address,
      'GET',
      '/log/proof/consistency?first=1&second=3',
    );
    assert.equal(
      (await fetch(`${b.running.url}${q}`, { headers: { authorization: forOther } })).status,
      401,
      'the query is signed too',
    );
    const body = JSON.stringify({
      patient: ids.a.address,
      resourceType: 'Observation',
      params: {},
      purpose: 'treatment',
      breakGlass: null,
    });
    const signed = await memberAuthHeader(a, ids.b.address, 'POST', '/federation/search', body);
    const swapped = await fetch(`${b.running.url}/federation/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: signed },
      body: body.replace('treatment', 'research'),
    });
    assert.equal(swapped.status, 401, 'the body is signed too');
  });

  test('another member reads the signed head and the proofs, but not the entries', async () => {
    const a = privateKeyToAccount(ids.a.chainKey);
    const signedGet = async (p: string) =>
      fetch(`${b.running.url}${p}`, {
        headers: { authorization: await memberAuthHeader(a, ids.b.address, 'GET', p) },
      });
    const head = await signedGet('/log/head');
    assert.equal(head.status, 200);
    const n = ((await head.json()) as { treeSize: number }).treeSize;
    assert.ok(n > 2);
    assert.equal((await signedGet(`/log/proof/consistency?first=1&second=${n}`)).status, 200);
    assert.equal((await signedGet(`/log/proof/inclusion?index=0&treeSize=${n}`)).status, 200);
    const from = b.node.log.size;
    const entries = await signedGet(`/log/entries?start=0&end=${n - 1}`);
    assert.equal(entries.status, 403);
    const body = (await entries.json()) as { resourceType: string; issue: { details: { text: string } }[] };
    assert.equal(body.resourceType, 'OperationOutcome');
    assert.match(body.issue[0]?.details.text ?? '', /monitor this log with \/log\/head/);
    const logged = b.node.log.entries(from, b.node.log.size).map((e) => decodeEntry(e.leaf));
    assert.deepEqual(
      logged.map((e) => `${e.actor}:${e.action}:${e.outcome}`),
      [`member:${a.address}:audit-read:deny`],
      'the refused attempt is logged against the asking member',
    );
  });

  test('a log rewritten after anchoring is caught as a split view', async () => {
    // Member b rewrites entry 2 (bytes and leaf hash, as an insider would) and restarts its node.
    await b.running.close();
    b.node.close();
    const db = openMemberNode(dirs.b, PASS, { manifest }).db;
    const row = db.prepare('SELECT entry FROM log_entries WHERE idx = 2').get() as { entry: Buffer };
    const forged = encodeEntry({ ...decodeEntry(row.entry), actor: 'covered-up' });
    db.prepare('UPDATE log_entries SET entry = ?, leaf_hash = ? WHERE idx = 2').run(forged, leafHash(forged));
    db.close();
    b = await startB();
    const r = await monitor();
    assert.equal(r.code, 1);
    assert.match(
      r.out,
      /^problem: split view: the member cannot prove its log of 10 entries extends the one anchored at 5/m,
    );
    assert.match(r.out, /^FAILED: /m);
  });
});
