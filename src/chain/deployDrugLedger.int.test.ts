/** DrugLedger is part of a new deployment, and is added beside the Registry of an older one. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startTestChain, type TestChain, type TestMember } from '../../test/support/testChain.js';
import { drugLedgerContract } from './contracts.js';
import { ensureDrugLedger } from './deploy.js';
import { readManifest, writeManifest } from './manifest.js';

let t: TestChain;
before(async () => {
  t = await startTestChain({ memberCount: 1 });
});
after(() => t?.close());

test('deployContracts deploys DrugLedger on the same Registry and names it in the manifest', async () => {
  const ledger = drugLedgerContract(t.conn, t.manifest);
  assert.ok(ledger, 'the manifest names DrugLedger');
  assert.equal((await ledger.read.registry()).toLowerCase(), t.manifest.contracts.Registry.toLowerCase());
  const again = await ensureDrugLedger(
    t.conn,
    (t.members[0] as TestMember).wallet,
    t.manifest,
    path.join(t.dir, 'x.json'),
  );
  assert.equal(again.deployed, false);
});

test('an older manifest without DrugLedger gets one, written back to its file', async () => {
  const { DrugLedger: _, ...core } = t.manifest.contracts;
  const old = { ...t.manifest, contracts: core };
  const file = path.join(t.dir, 'old-deployment.json');
  writeManifest(file, old);
  assert.equal(drugLedgerContract(t.conn, old), undefined);
  const { manifest, deployed } = await ensureDrugLedger(
    t.conn,
    (t.members[0] as TestMember).wallet,
    old,
    file,
  );
  assert.equal(deployed, true);
  assert.ok(manifest.contracts.DrugLedger);
  assert.notEqual(manifest.contracts.DrugLedger, t.manifest.contracts.DrugLedger);
  assert.deepEqual(readManifest(file), manifest);
});
