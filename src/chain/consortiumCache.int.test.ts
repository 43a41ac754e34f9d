import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type Hex, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { removeMember } from '../../test/support/membership.js';
import { startTestChain, type TestChain, type TestMember } from '../../test/support/testChain.js';
import { signGrant, signRevoke } from './consentSignatures.js';
import { chainConsortium } from './consortium.js';
import { ConsortiumCache } from './consortiumCache.js';
import { consentAbi, registryAbi } from './generated/index.js';
import { categoriesToMask, purposesToMask } from './scopes.js';
import { writeAndWait } from './transact.js';

let t: TestChain;
let relayer: TestMember;
let grantee: TestMember;

before(async () => {
  t = await startTestChain({ memberCount: 3 });
  relayer = t.members[0] as TestMember;
  grantee = t.members[1] as TestMember;
});
after(() => t.close());

async function grant(patient: ReturnType<typeof privateKeyToAccount>, categories: number): Promise<void> {
  const ts = (await t.conn.publicClient.getBlock()).timestamp;
  const g = {
    patient: patient.address,
    grantee: grantee.input.account,
    granteeAdmission: await t.contracts.registry.read.admissionOf([grantee.input.account]),
    categories,
    purposes: purposesToMask(['treatment']),
    validFrom: ts - 60n,
    expiry: ts + 86_400n,
    nonce: await t.contracts.consent.read.nonces([patient.address]),
    deadline: ts + 3600n,
  };
  await writeAndWait(t.conn, relayer.wallet, {
    address: t.manifest.contracts.Consent,
    abi: consentAbi,
    functionName: 'grantWithSig',
    args: [g, await signGrant(patient, t.manifest, g)],
  });
}

async function revoke(patient: ReturnType<typeof privateKeyToAccount>): Promise<void> {
  const ts = (await t.conn.publicClient.getBlock()).timestamp;
  const r = {
    patient: patient.address,
    grantee: grantee.input.account,
    nonce: await t.contracts.consent.read.nonces([patient.address]),
    deadline: ts + 3600n,
  };
  await writeAndWait(t.conn, relayer.wallet, {
    address: t.manifest.contracts.Consent,
    abi: consentAbi,
    functionName: 'revokeWithSig',
    args: [r, await signRevoke(patient, t.manifest, r)],
  });
}

describe('ConsortiumCache: members and grants from memory, as fresh as contract reads', () => {
  test('a grant, widened and revoked, is seen by the very next read; unchanged reads are hits', async () => {
    const cache = new ConsortiumCache(t.conn, t.manifest);
    const direct = chainConsortium(t.conn, t.manifest);
    const patient = privateKeyToAccount(generatePrivateKey());
    assert.equal(await cache.grantOf(patient.address, grantee.input.account), undefined);
    await grant(patient, categoriesToMask(['labs']));
    const g1 = await cache.grantOf(patient.address, grantee.input.account);
    assert.deepEqual(g1, await direct.grantOf(patient.address, grantee.input.account));
    assert.equal(g1?.categories, categoriesToMask(['labs']));
    const misses = cache.stats.misses;
    assert.deepEqual(await cache.grantOf(patient.address, grantee.input.account), g1);
    assert.equal(cache.stats.misses, misses, 'an unchanged grant is answered from memory');
    await grant(patient, categoriesToMask(['labs', 'medications']));
    assert.equal(
      (await cache.grantOf(patient.address, grantee.input.account))?.categories,
      categoriesToMask(['labs', 'medications']),
    );
    await revoke(patient);
    // The revoke is mined: the next read must not answer the cached grant.
    assert.equal(await cache.grantOf(patient.address, grantee.input.account), undefined);
    assert.ok(cache.stats.invalidations >= 3, 'grant, widen and revoke events were applied');
  });

  test('an event for another pair keeps this pair cached; a member change is seen at once', async () => {
    const cache = new ConsortiumCache(t.conn, t.manifest);
    const a = privateKeyToAccount(generatePrivateKey());
    const b = privateKeyToAccount(generatePrivateKey());
    await grant(a, categoriesToMask(['labs']));
    assert.ok(await cache.grantOf(a.address, grantee.input.account));
    await grant(b, categoriesToMask(['labs']));
    const misses = cache.stats.misses;
    assert.ok(await cache.grantOf(a.address, grantee.input.account));
    assert.equal(cache.stats.misses, misses, "b's grant does not drop a's");

    const before = await cache.member(grantee.input.account);
    const key: Hex = toHex(randomBytes(32));
    await writeAndWait(t.conn, grantee.wallet, {
      address: t.manifest.contracts.Registry,
      abi: registryAbi,
      functionName: 'updateEncryptionKey',
      args: [key],
    });
    const after = await cache.member(grantee.input.account);
    assert.notDeepEqual(after.encryptionKey, before.encryptionKey);
    assert.equal(toHex(after.encryptionKey), key);

    const third = t.members[2] as TestMember;
    assert.equal((await cache.member(third.input.account)).active, true);
    await removeMember(t, third);
    assert.equal((await cache.member(third.input.account)).active, false, 'a removal is seen at once');
  });

  test('reads begun in one turn share one block-number call; a read begun after it was sent waits for the next', async () => {
    const real = t.conn.publicClient;
    const sent: { resolve: (b: bigint) => void }[] = [];
    const cache = new ConsortiumCache(t.conn, t.manifest, {
      // Each call is held until the test releases it, with the block number the test chooses.
      latestBlock: () => new Promise<bigint>((resolve) => sent.push({ resolve })),
    });
    const head = await real.getBlockNumber({ cacheTime: 0 });
    const waitFor = async (n: number) => {
      const deadline = Date.now() + 5_000;
      while (sent.length < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} block-number calls, saw ${sent.length}`);
        await new Promise((r) => setImmediate(r));
      }
    };
    // A request's reads (the decision's member and grant, the requester's key) begin in one turn.
    const first = Promise.all([
      cache.member(relayer.input.account),
      cache.grantOf(relayer.input.account, grantee.input.account),
      cache.member(grantee.input.account),
    ]);
    await waitFor(1);
    // Begun after that call was sent: must not be answered from it.
    let lateDone = false;
    const late = cache.member(relayer.input.account).then((m) => {
      lateDone = true;
      return m;
    });
    sent[0]?.resolve(head);
    await first;
    await new Promise((r) => setImmediate(r));
    assert.equal(lateDone, false, 'the late read waits for a call sent after it began');
    await waitFor(2);
    assert.equal(sent.length, 2, 'one call for the three reads of the first turn, one for the late read');
    sent[1]?.resolve(head);
    assert.equal((await late).address, relayer.input.account);
  });

  test('a chain that does not answer is a ChainUnavailableError, and the cache starts over', async () => {
    let fail = false;
    const real = t.conn.publicClient;
    const cache = new ConsortiumCache(t.conn, t.manifest, {
      latestBlock: async () => {
        if (fail) throw new (await import('../errors.js')).ChainUnavailableError(new Error('down'));
        return real.getBlockNumber({ cacheTime: 0 });
      },
    });
    await cache.member(relayer.input.account);
    fail = true;
    await assert.rejects(cache.member(relayer.input.account), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'chain-unavailable');
      return true;
    });
    fail = false;
    const misses = cache.stats.misses;
    await cache.member(relayer.input.account);
    assert.equal(cache.stats.misses, misses + 1, 'nothing is trusted from before the failed sync');
  });

  test('the default block source speaks plain eth_blockNumber to the RPC and fails typed when it is gone', async () => {
    const { latestBlockOf } = await import('./latestBlock.js');
    assert.equal(
      await latestBlockOf(t.chain.rpcUrl)(),
      await t.conn.publicClient.getBlockNumber({ cacheTime: 0 }),
    );
    await assert.rejects(latestBlockOf('http://127.0.0.1:1/')(), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'chain-unavailable');
      return true;
    });
  });
});
