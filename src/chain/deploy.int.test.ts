/**
 * deployContracts deploys Claims with the rest, adds it to a manifest written before Claims was
 * part of the deployment (keeping every other address), and stays idempotent afterwards.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startTestChain, type TestChain } from '../../test/support/testChain.js';
import type { ChainError } from './chainError.js';
import { claimsContract } from './contracts.js';
import { deployContracts } from './deploy.js';
import { readManifest, writeManifest } from './manifest.js';

let t: TestChain;
before(async () => {
  t = await startTestChain({ memberCount: 2, memberRoles: [1, 8] });
});
after(() => t.close());

const hasCode = async (address: `0x${string}`) => {
  const code = await t.conn.publicClient.getCode({ address });
  return code !== undefined && code !== '0x';
};

test('a fresh deployment names Claims, wired to the Registry', async () => {
  const claims = t.manifest.contracts.Claims;
  assert.ok(claims, 'manifest.contracts.Claims');
  assert.ok(await hasCode(claims));
  const c = claimsContract(t.conn, t.manifest);
  assert.equal((await c.read.registry()).toLowerCase(), t.manifest.contracts.Registry.toLowerCase());
});

test('an older manifest without Claims gets Claims added; nothing else changes; then idempotent', async () => {
  const file = path.join(t.dir, 'old-deployment.json');
  const { Claims: _dropped, ...core } = t.manifest.contracts;
  const old = { ...t.manifest, contracts: core };
  writeManifest(file, old);
  assert.throws(
    () => claimsContract(t.conn, old),
    (e: ChainError) => e.code === 'claims-not-deployed',
  );
  const deployer = t.members[0] as (typeof t.members)[0];
  const first = await deployContracts(t.conn, deployer.wallet, { genesis: [], manifestFile: file });
  assert.equal(first.deployed, false, 'the core contracts were reused');
  const added = first.manifest.contracts.Claims;
  assert.ok(added && (await hasCode(added)));
  assert.notEqual(added, t.manifest.contracts.Claims, 'a new Claims beside the old deployment');
  assert.deepEqual({ ...first.manifest.contracts, Claims: undefined }, { ...core, Claims: undefined });
  assert.deepEqual(readManifest(file), first.manifest, 'the manifest file was rewritten');
  const again = await deployContracts(t.conn, deployer.wallet, { genesis: [], manifestFile: file });
  assert.deepEqual(again.manifest, first.manifest);
});

test('the node view of Claims answers for a deployment with nothing claimed yet', async () => {
  const { chainClaims } = await import('./claimsView.js');
  const view = chainClaims(t.conn, t.manifest);
  const zero = `0x${'00'.repeat(31)}01` as const;
  const payer = (t.members[1] as (typeof t.members)[0]).input.account;
  assert.equal(await view.heldByOtherPayer(payer, zero, payer), false);
  assert.equal(await view.isCommitted(payer, zero), false);
  assert.equal(await view.claimOf(zero), undefined);
  assert.equal((await view.batchOf(zero)).claimCount, 0);
  assert.equal(await view.anchoredHead(payer, 1), undefined);
});
