import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Hex, LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { admitByVote, removeMember } from '../../test/support/membership.js';
import {
  startTestChain,
  type TestChain,
  type TestMember,
  walletForTest,
} from '../../test/support/testChain.js';
import type { ChainError } from './chainError.js';
import { type GrantRequest, type RevokeRequest, signGrant, signRevoke } from './consentSignatures.js';
import { consentAbi } from './generated/index.js';
import { categoriesToMask, categoryBit, purposeBit, purposesToMask } from './scopes.js';
import { writeAndWait } from './transact.js';

let t: TestChain;
let relayer: TestMember;
let grantee: TestMember;
const HOUR = 3600n;

before(async () => {
  t = await startTestChain({ memberCount: 3 });
  relayer = t.members[0] as TestMember;
  grantee = t.members[1] as TestMember;
});
after(() => t.close());

async function now(): Promise<bigint> {
  return (await t.conn.publicClient.getBlock()).timestamp;
}

async function grantReq(patient: LocalAccount, over: Partial<GrantRequest> = {}): Promise<GrantRequest> {
  const ts = await now();
  return {
    patient: patient.address,
    grantee: grantee.input.account,
    granteeAdmission: await t.contracts.registry.read.admissionOf([over.grantee ?? grantee.input.account]),
    categories: categoriesToMask(['labs', 'medications']),
    purposes: purposesToMask(['treatment']),
    validFrom: ts - 60n,
    expiry: ts + 24n * HOUR,
    nonce: await t.contracts.consent.read.nonces([patient.address]),
    deadline: ts + HOUR,
    ...over,
  };
}

function relayGrant(g: GrantRequest, sig: Hex, by: TestMember = relayer) {
  return writeAndWait(t.conn, by.wallet, {
    address: t.manifest.contracts.Consent,
    abi: consentAbi,
    functionName: 'grantWithSig',
    args: [g, sig],
  });
}

function relayRevoke(r: RevokeRequest, sig: Hex, by: TestMember = relayer) {
  return writeAndWait(t.conn, by.wallet, {
    address: t.manifest.contracts.Consent,
    abi: consentAbi,
    functionName: 'revokeWithSig',
    args: [r, sig],
  });
}

async function rejects(p: Promise<unknown>, code: string, details?: readonly string[]) {
  await assert.rejects(p, (e: ChainError) => {
    assert.equal(e.code, code, e.message);
    if (details) assert.deepEqual(e.details, details);
    return true;
  });
}

const permitted = async (
  patient: LocalAccount,
  category = 'labs',
  purpose = 'treatment',
  at?: bigint,
  to: TestMember = grantee,
) =>
  t.contracts.consent.read.isPermitted([
    patient.address,
    to.input.account,
    categoryBit(category as never),
    purposeBit(purpose as never),
    at ?? (await now()),
  ]);

describe('Consent', () => {
  test('a relayed, patient-signed grant is recorded and permits exactly its scope', async () => {
    const patient = privateKeyToAccount(generatePrivateKey());
    const g = await grantReq(patient);
    const { receipt } = await relayGrant(g, await signGrant(patient, t.manifest, g));
    assert.equal(receipt.logs.length, 1);
    assert.equal(await permitted(patient, 'labs'), true);
    assert.equal(await permitted(patient, 'medications'), true);
    assert.equal(await permitted(patient, 'imaging'), false);
    assert.equal(await permitted(patient, 'mental-health'), false, 'sensitive category needs naming');
    assert.equal(await permitted(patient, 'labs', 'research'), false);
    assert.equal(await permitted(patient, 'labs', 'treatment', g.expiry), false, 'expiry is exclusive');
    assert.equal(await permitted(patient, 'labs', 'treatment', g.validFrom - 1n), false, 'not yet valid');
    assert.equal(await t.contracts.consent.read.nonces([patient.address]), 1n);
  });

  test('re-granting the identical scope changes nothing and emits nothing', async () => {
    const patient = privateKeyToAccount(generatePrivateKey());
    const g = await grantReq(patient);
    await relayGrant(g, await signGrant(patient, t.manifest, g));
    const g2 = { ...g, nonce: 1n };
    const r = await relayGrant(g2, await signGrant(patient, t.manifest, g2));
    assert.equal(r.result, false);
    assert.equal(r.receipt.logs.length, 0);
  });

  test('a relayed revoke takes effect at once', async () => {
    const patient = privateKeyToAccount(generatePrivateKey());
    const g = await grantReq(patient);
    await relayGrant(g, await signGrant(patient, t.manifest, g));
    const r: RevokeRequest = {
      patient: patient.address,
      grantee: grantee.input.account,
      nonce: 1n,
      deadline: g.deadline,
    };
    const res = await relayRevoke(r, await signRevoke(patient, t.manifest, r));
    assert.equal(res.result, true);
    assert.equal(await permitted(patient), false);
  });

  test('a replayed grant signature reverts with ConsentNonceReplayed', async () => {
    const patient = privateKeyToAccount(generatePrivateKey());
    const g = await grantReq(patient);
    const sig = await signGrant(patient, t.manifest, g);
    await relayGrant(g, sig);
    await rejects(relayGrant(g, sig), 'ConsentNonceReplayed');
  });

  test('a grant used after the patient revoked is refused (the revoke consumed the nonce)', async () => {
    const patient = privateKeyToAccount(generatePrivateKey());
    const g = await grantReq(patient);
    const sig = await signGrant(patient, t.manifest, g);
    await relayGrant(g, sig);
    const r: RevokeRequest = {
      patient: patient.address,
      grantee: grantee.input.account,
      nonce: 1n,
      deadline: g.deadline,
    };
    await relayRevoke(r, await signRevoke(patient, t.manifest, r));
    await rejects(relayGrant(g, sig), 'ConsentNonceReplayed');
    assert.equal(await permitted(patient), false);
  });

  test('an out-of-order nonce reverts with ConsentNonceOutOfOrder', async () => {
    const patient = privateKeyToAccount(generatePrivateKey());
    const g = await grantReq(patient, { nonce: 5n });
    await rejects(relayGrant(g, await signGrant(patient, t.manifest, g)), 'ConsentNonceOutOfOrder');
  });

  test('an expired signature deadline reverts with ConsentSignatureExpired', async () => {
    const patient = privateKeyToAccount(generatePrivateKey());
    const g = await grantReq(patient, { deadline: (await now()) - 1n });
    await rejects(relayGrant(g, await signGrant(patient, t.manifest, g)), 'ConsentSignatureExpired');
  });

  test('a signature by someone other than the patient reverts with ConsentInvalidSigner', async () => {
    const patient = privateKeyToAccount(generatePrivateKey());
    const mallory = privateKeyToAccount(generatePrivateKey());
    const g = await grantReq(patient);
    await rejects(relayGrant(g, await signGrant(mallory, t.manifest, g)), 'ConsentInvalidSigner');
    // A signature over different content by the right patient is also wrong for this request.
    const other = await signGrant(patient, t.manifest, { ...g, categories: 0xff });
    await rejects(relayGrant(g, other), 'ConsentInvalidSigner');
    await rejects(relayGrant(g, '0x1234'), 'ConsentInvalidSigner');
  });

  test('a revoke signed by someone else reverts with ConsentInvalidSigner', async () => {
    const patient = privateKeyToAccount(generatePrivateKey());
    const g = await grantReq(patient);
    await relayGrant(g, await signGrant(patient, t.manifest, g));
    const mallory = privateKeyToAccount(generatePrivateKey());
    const r: RevokeRequest = {
      patient: patient.address,
      grantee: grantee.input.account,
      nonce: 1n,
      deadline: g.deadline,
    };
    await rejects(relayRevoke(r, await signRevoke(mallory, t.manifest, r)), 'ConsentInvalidSigner');
    assert.equal(await permitted(patient), true);
  });

  test('revoke: replay, expired deadline and wrong nonce are refused', async () => {
    const patient = privateKeyToAccount(generatePrivateKey());
    const g = await grantReq(patient);
    await relayGrant(g, await signGrant(patient, t.manifest, g));
    const r: RevokeRequest = {
      patient: patient.address,
      grantee: grantee.input.account,
      nonce: 1n,
      deadline: g.deadline,
    };
    const sig = await signRevoke(patient, t.manifest, r);
    const expired = { ...r, deadline: (await now()) - 1n };
    await rejects(
      relayRevoke(expired, await signRevoke(patient, t.manifest, expired)),
      'ConsentSignatureExpired',
    );
    const ahead = { ...r, nonce: 3n };
    await rejects(relayRevoke(ahead, await signRevoke(patient, t.manifest, ahead)), 'ConsentNonceOutOfOrder');
    await relayRevoke(r, sig);
    await rejects(relayRevoke(r, sig), 'ConsentNonceReplayed');
  });

  test('only active members may relay', async () => {
    const patient = privateKeyToAccount(generatePrivateKey());
    const g = await grantReq(patient);
    await rejects(
      relayGrant(g, await signGrant(patient, t.manifest, g), t.outsider()),
      'ConsentRelayerNotMember',
    );
    const r: RevokeRequest = {
      patient: patient.address,
      grantee: grantee.input.account,
      nonce: 0n,
      deadline: g.deadline,
    };
    await rejects(
      relayRevoke(r, await signRevoke(patient, t.manifest, r), t.outsider()),
      'ConsentRelayerNotMember',
    );
  });

  test('grants to non-members, empty or unknown scopes, and empty windows are refused', async () => {
    const patient = privateKeyToAccount(generatePrivateKey());
    const cases: [Partial<GrantRequest>, string][] = [
      [{ grantee: t.outsider().input.account }, 'ConsentGranteeNotMember'],
      [{ categories: 0 }, 'ConsentInvalidScope'],
      [{ categories: 0x100 }, 'ConsentInvalidScope'],
      [{ purposes: 0 }, 'ConsentInvalidScope'],
      [{ purposes: 0x10 }, 'ConsentInvalidScope'],
      [{ validFrom: 100n, expiry: 100n }, 'ConsentInvalidWindow'],
    ];
    for (const [over, code] of cases) {
      const g = await grantReq(patient, over);
      await rejects(relayGrant(g, await signGrant(patient, t.manifest, g)), code);
    }
  });

  test('a patient holding an account may grant and revoke directly', async () => {
    const patientMember = walletForTest(t);
    const patient = patientMember.wallet.account as LocalAccount;
    const ts = await now();
    const call = (functionName: 'grant' | 'revoke', args: readonly unknown[]) =>
      writeAndWait(t.conn, patientMember.wallet, {
        address: t.manifest.contracts.Consent,
        abi: consentAbi,
        functionName,
        args: args as never,
      });
    await call('grant', [
      grantee.input.account,
      await t.contracts.registry.read.admissionOf([grantee.input.account]),
      categoriesToMask(['labs']),
      purposesToMask(['treatment']),
      ts - 10n,
      ts + HOUR,
    ]);
    assert.equal(await permitted(patient), true);
    assert.equal(await t.contracts.consent.read.nonces([patient.address]), 1n);
    await call('revoke', [grantee.input.account]);
    assert.equal(await permitted(patient), false);
    await rejects(
      call('grant', [t.outsider().input.account, 0, 1, 1, ts, ts + HOUR]),
      'ConsentGranteeNotMember',
    );
    await rejects(call('grant', [grantee.input.account, 7, 1, 1, ts, ts + HOUR]), 'ConsentStaleAdmission', [
      grantee.input.account,
      '7',
      '1',
    ]);
  });

  test('a grant names the grantee admission: re-admission lapses old grants, and old signatures are refused', async () => {
    // Member 2 is removed and re-admitted here; the other tests use member 1.
    const readmitted = t.members[2] as TestMember;
    const account = readmitted.input.account;
    const patient = privateKeyToAccount(generatePrivateKey());
    assert.equal(await t.contracts.registry.read.admissionOf([account]), 1);
    const g = await grantReq(patient, { grantee: account });
    assert.equal(g.granteeAdmission, 1);
    await relayGrant(g, await signGrant(patient, t.manifest, g));
    assert.equal(await permitted(patient, 'labs', 'treatment', undefined, readmitted), true);
    assert.equal((await t.contracts.consent.read.getGrant([patient.address, account])).granteeAdmission, 1);
    // A second grant the patient signed for this admission, not yet relayed.
    const pending = { ...g, categories: categoriesToMask(['labs']), nonce: 1n };
    const pendingSig = await signGrant(patient, t.manifest, pending);

    await removeMember(t, readmitted);
    assert.equal(await permitted(patient, 'labs', 'treatment', undefined, readmitted), false, 'removed');
    assert.equal(await t.contracts.registry.read.admissionOf([account]), 1, 'kept after removal');
    await admitByVote(t, readmitted);
    assert.equal(await t.contracts.registry.read.admissionOf([account]), 2);
    assert.equal(await t.contracts.registry.read.isActiveMember([account]), true);

    // Active again, but the stored grant names admission 1: it permits nothing.
    assert.equal(await permitted(patient, 'labs', 'treatment', undefined, readmitted), false, 're-admitted');
    const stored = await t.contracts.consent.read.getGrant([patient.address, account]);
    assert.equal(stored.granteeAdmission, 1, 'the old grant is still stored, naming its admission');
    await rejects(relayGrant(pending, pendingSig), 'ConsentStaleAdmission', [account, '1', '2']);
    assert.equal(await t.contracts.consent.read.nonces([patient.address]), 1n, 'the refusal used no nonce');

    // The same scope, signed for the new admission, is a change (not an idempotent re-grant).
    const fresh = await grantReq(patient, { grantee: account });
    assert.equal(fresh.granteeAdmission, 2);
    const r = await relayGrant(fresh, await signGrant(patient, t.manifest, fresh));
    assert.equal(r.result, true);
    assert.equal(r.receipt.logs.length, 1);
    assert.equal(await permitted(patient, 'labs', 'treatment', undefined, readmitted), true);
    assert.equal((await t.contracts.consent.read.getGrant([patient.address, account])).granteeAdmission, 2);
    // Identical again, admission included: no change, no event.
    const again = { ...fresh, nonce: 2n };
    const r2 = await relayGrant(again, await signGrant(patient, t.manifest, again));
    assert.equal(r2.result, false);
    assert.equal(r2.receipt.logs.length, 0);
  });

  test('a grant signed with an admission the grantee does not have yet is refused too', async () => {
    const patient = privateKeyToAccount(generatePrivateKey());
    const current = await t.contracts.registry.read.admissionOf([grantee.input.account]);
    const g = await grantReq(patient, { granteeAdmission: current + 1 });
    await rejects(relayGrant(g, await signGrant(patient, t.manifest, g)), 'ConsentStaleAdmission', [
      grantee.input.account,
      String(current + 1),
      String(current),
    ]);
    // A signature over another admission does not verify for this one.
    const sig = await signGrant(patient, t.manifest, g);
    await rejects(relayGrant({ ...g, granteeAdmission: current }, sig), 'ConsentInvalidSigner');
  });
});
