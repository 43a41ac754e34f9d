import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { newTestMember } from '../../test/support/testChain.js';
import { waitFor } from '../../test/support/waitFor.js';
import { connectChain } from './clients.js';
import { signGrant } from './consentSignatures.js';
import { consortiumContracts } from './contracts.js';
import { deployContracts } from './deploy.js';
import { launchEmbeddedChain } from './embeddedChain.js';
import { consentAbi } from './generated/index.js';
import { writeAndWait } from './transact.js';

const dir = mkdtempSync(path.join(tmpdir(), 'medchain-restart-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('kill -9 of the embedded chain keeps blocks, transactions, consent and events', async () => {
  const chainDir = path.join(dir, 'chain');
  const manifestFile = path.join(dir, 'deployment.json');
  const first = await launchEmbeddedChain({ dataDir: chainDir });
  const conn = await connectChain(first.rpcUrl);
  const member = newTestMember(conn, 'City Hospital');
  const { manifest, deployed } = await deployContracts(conn, member.wallet, {
    genesis: [member.input],
    manifestFile,
  });
  assert.equal(deployed, true);
  const patient = privateKeyToAccount(generatePrivateKey());
  const ts = (await conn.publicClient.getBlock()).timestamp;
  const g = {
    patient: patient.address,
    grantee: member.input.account,
    granteeAdmission: 1, // a genesis member's first admission
    categories: 2,
    purposes: 1,
    validFrom: ts,
    expiry: ts + 86_400n,
    nonce: 0n,
    deadline: ts + 600n,
  };
  const { hash, receipt } = await writeAndWait(conn, member.wallet, {
    address: manifest.contracts.Consent,
    abi: consentAbi,
    functionName: 'grantWithSig',
    args: [g, await signGrant(patient, manifest, g)],
  });
  // Wait until anvil has dumped a state that includes the grant (interval: 1 s).
  const grantedAt = Date.now();
  const dumpedAt = () => statSync(first.stateFile, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  await waitFor('anvil to dump a state that includes the grant (every second)', () => dumpedAt() > grantedAt);
  await first.kill();

  const second = await launchEmbeddedChain({ dataDir: chainDir });
  try {
    const conn2 = await connectChain(second.rpcUrl, { expectedChainId: manifest.chainId });
    const again = await deployContracts(conn2, member.wallet, { genesis: [member.input], manifestFile });
    assert.equal(again.deployed, false, 'deployment is idempotent across restarts');
    assert.ok((await conn2.publicClient.getBlockNumber()) >= receipt.blockNumber);
    const c = consortiumContracts(conn2, manifest);
    assert.equal(
      await c.consent.read.isPermitted([patient.address, member.input.account, 2, 1, ts + 10n]),
      true,
    );
    const tx = await conn2.publicClient.getTransactionReceipt({ hash });
    assert.equal(tx.status, 'success');
    const events = await conn2.publicClient.getContractEvents({
      address: manifest.contracts.Consent,
      abi: consentAbi,
      eventName: 'ConsentGranted',
      fromBlock: BigInt(manifest.deploymentBlock),
    });
    assert.equal(events.length, 1);
    assert.equal(events[0]?.args.patient, patient.address);
  } finally {
    await second.stop();
  }
});

test('the chain state folder is owner-only (0700) and the state file anvil writes is 0600', async () => {
  const chainDir = path.join(dir, 'modes', 'chain');
  mkdirSync(chainDir, { recursive: true, mode: 0o755 });
  chmodSync(chainDir, 0o755); // as an older medchain left it
  const previous = process.umask(0); // no help from the umask: modes must be set explicitly
  let chain: Awaited<ReturnType<typeof launchEmbeddedChain>> | undefined;
  try {
    chain = await launchEmbeddedChain({ dataDir: chainDir });
    assert.equal(statSync(chainDir).mode & 0o777, 0o700, 'a wider folder is tightened on launch');
    const stateFile = chain.stateFile;
    // Wait for anvil's first state dump (interval 1 s), so the file exists to check.
    await waitFor('anvil to write its first state file', () => existsSync(stateFile));
    assert.equal(statSync(chain.stateFile).mode & 0o777, 0o600);
  } finally {
    process.umask(previous);
    await chain?.stop();
  }
  assert.equal(statSync(chain.stateFile).mode & 0o777, 0o600, 'still 0600 after the final dump');
});

test('with a block time the chain mines a block every period, and a transaction waits for the next one', async () => {
  await assert.rejects(launchEmbeddedChain({ dataDir: path.join(dir, 'bad'), blockTimeSeconds: 0 }), {
    code: 'chain-options',
  });
  const chain = await launchEmbeddedChain({ dataDir: path.join(dir, 'timed'), blockTimeSeconds: 1 });
  try {
    const conn = await connectChain(chain.rpcUrl);
    const member = newTestMember(conn, 'City Hospital');
    const start = await conn.publicClient.getBlockNumber({ cacheTime: 0 });
    const hash = await member.wallet.sendTransaction({
      to: member.input.account,
      value: 0n,
      gasPrice: 0n,
      type: 'legacy',
    });
    const receipt = await conn.publicClient.waitForTransactionReceipt({
      hash,
      pollingInterval: 50,
      timeout: 120_000, // a block a second, but a loaded machine may be slow to mine and answer
    });
    assert.ok(receipt.blockNumber > start, 'mined in a later block, not on arrival');
    // Empty blocks keep coming, one per second of chain time.
    await waitFor(
      'two more blocks without transactions',
      async () => (await conn.publicClient.getBlockNumber({ cacheTime: 0 })) >= receipt.blockNumber + 2n,
    );
    const [a, b] = await Promise.all([
      conn.publicClient.getBlock({ blockNumber: receipt.blockNumber + 1n }),
      conn.publicClient.getBlock({ blockNumber: receipt.blockNumber + 2n }),
    ]);
    assert.equal(b.timestamp - a.timestamp, 1n);
    assert.equal(a.transactions.length, 0);
  } finally {
    await chain.stop();
  }
});
