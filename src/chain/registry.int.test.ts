import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { admitByVote, removeMember } from '../../test/support/membership.js';
import {
  newTestMember,
  startTestChain,
  type TestChain,
  type TestMember,
} from '../../test/support/testChain.js';
import type { ChainError } from './chainError.js';
import { signGrant } from './consentSignatures.js';
import { auditAnchorAbi, consentAbi, registryAbi } from './generated/index.js';
import { rolesToMask } from './scopes.js';
import { writeAndWait } from './transact.js';

let t: TestChain;

// Five genesis members, quorum 51% -> M = ceil(5 * 0.51) = 3.
before(async () => {
  t = await startTestChain({ memberCount: 5, quorumPercent: 51 });
});
after(() => t.close());

const reg = (by: TestMember, functionName: string, args: readonly unknown[]) =>
  writeAndWait(t.conn, by.wallet, {
    address: t.manifest.contracts.Registry,
    abi: registryAbi,
    functionName: functionName as 'vote',
    args: args as never,
  });

async function rejects(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (e: ChainError) => {
    assert.equal(e.code, code, e.message);
    return true;
  });
}

const m = (i: number) => t.members[i] as TestMember;
const active = (a: Hex) => t.contracts.registry.read.isActiveMember([a]);

describe('Registry governance', () => {
  test('genesis members are active with their roles, name, endpoint and key', async () => {
    assert.equal(await t.contracts.registry.read.activeMemberCount(), 5n);
    assert.equal(await t.contracts.registry.read.requiredVotes(), 3n);
    const rec = await t.contracts.registry.read.getMember([m(0).input.account]);
    assert.equal(rec.active, true);
    assert.equal(rec.name, 'Member 0');
    assert.equal(rec.encryptionKey, m(0).input.encryptionKey);
    assert.equal(rec.admission, 1, 'genesis is the first admission');
    assert.equal(await t.contracts.registry.read.admissionOf([m(0).input.account]), 1);
    assert.equal(
      await t.contracts.registry.read.admissionOf([t.outsider().input.account]),
      0,
      'never admitted',
    );
    assert.equal(await t.contracts.registry.read.rolesOf([m(0).input.account]), 1);
    const memberRole = await t.contracts.registry.read.MEMBER_ROLE();
    assert.equal(await t.contracts.registry.read.hasRole([memberRole, m(4).input.account]), true);
  });

  test('admission needs M of N votes; fewer do not admit', async () => {
    const candidate = newTestMember(t.conn, 'Acme Insurance', rolesToMask(['INSURER']));
    await reg(m(0), 'proposeAdmission', [candidate.input]);
    const id = (await t.contracts.registry.read.proposalCount()) - 1n;
    assert.equal(await active(candidate.input.account), false, '1 of 3 votes');
    await rejects(reg(m(0), 'vote', [id]), 'RegistryAlreadyVoted');
    await reg(m(1), 'vote', [id]);
    assert.equal(await active(candidate.input.account), false, '2 of 3 votes');
    const r = await reg(m(2), 'vote', [id]);
    assert.equal(r.result, true);
    assert.equal(await active(candidate.input.account), true, '3 of 3 votes');
    assert.equal(await t.contracts.registry.read.activeMemberCount(), 6n);
    await rejects(reg(m(3), 'vote', [id]), 'RegistryProposalClosed');
    // Leave for the removal test: remove it again with 4 of 6 votes (M = ceil(6*0.51) = 4).
    await reg(m(0), 'proposeRemoval', [candidate.input.account]);
    const rid = (await t.contracts.registry.read.proposalCount()) - 1n;
    await reg(m(1), 'vote', [rid]);
    await reg(m(2), 'vote', [rid]);
    assert.equal(await active(candidate.input.account), true, '3 of 4 votes');
    await reg(m(3), 'vote', [rid]);
    assert.equal(await active(candidate.input.account), false, '4 of 4 votes');
    assert.equal(await t.contracts.registry.read.rolesOf([candidate.input.account]), 0);
  });

  test('each admission of an account gets the next admission number; removal keeps the last', async () => {
    const candidate = newTestMember(t.conn, 'Rejoining Pharmacy', rolesToMask(['PHARMACY']));
    const account = candidate.input.account;
    const admission = () => t.contracts.registry.read.admissionOf([account]);
    const listed = async () => (await t.contracts.registry.read.memberAccounts()).length;
    assert.equal(await admission(), 0);
    const before = await listed();

    await admitByVote(t, candidate);
    assert.equal(await admission(), 1);
    await removeMember(t, candidate);
    assert.equal(await active(account), false);
    assert.equal(await admission(), 1, 'the last admission number stays after removal');
    assert.equal((await t.contracts.registry.read.getMember([account])).admission, 1);

    await admitByVote(t, candidate);
    assert.equal(await admission(), 2, 're-admission is a new admission');
    const rec = await t.contracts.registry.read.getMember([account]);
    assert.equal(rec.active, true);
    assert.equal(rec.admission, 2);
    const admitted = await t.conn.publicClient.getContractEvents({
      address: t.manifest.contracts.Registry,
      abi: registryAbi,
      eventName: 'MemberAdmitted',
      args: { account },
      fromBlock: 0n,
    });
    assert.deepEqual(
      admitted.map((e) => e.args.admission),
      [1, 2],
      'MemberAdmitted names the admission',
    );
    assert.equal(await listed(), before + 1, 'listed once, at its first admission');

    await removeMember(t, candidate);
    await admitByVote(t, candidate);
    assert.equal(await admission(), 3, 'never reused');
    await removeMember(t, candidate);
  });

  test('non-members cannot propose or vote; unknown proposals and bad candidates are refused', async () => {
    const outsider = t.outsider();
    await rejects(reg(outsider, 'proposeAdmission', [outsider.input]), 'RegistryNotMember');
    await rejects(reg(outsider, 'proposeRemoval', [m(0).input.account]), 'RegistryNotMember');
    await rejects(reg(outsider, 'vote', [0n]), 'RegistryNotMember');
    await rejects(reg(m(0), 'vote', [999n]), 'RegistryUnknownProposal');
    await rejects(reg(m(0), 'proposeAdmission', [m(1).input]), 'RegistryAlreadyMember');
    await rejects(reg(m(0), 'proposeAdmission', [{ ...outsider.input, roles: 0 }]), 'RegistryInvalidRoles');
    await rejects(
      reg(m(0), 'proposeAdmission', [{ ...outsider.input, roles: 0x100 }]),
      'RegistryInvalidRoles',
    );
    await rejects(
      reg(m(0), 'proposeAdmission', [{ ...outsider.input, encryptionKey: `0x${'00'.repeat(32)}` }]),
      'RegistryInvalidMember',
    );
    await rejects(reg(m(0), 'proposeRemoval', [outsider.input.account]), 'RegistryNotMember');
  });

  test('no single key can change roles directly', async () => {
    const role = await t.contracts.registry.read.MEMBER_ROLE();
    const outsider = t.outsider();
    await rejects(reg(m(0), 'grantRole', [role, outsider.input.account]), 'RegistryRolesAreGoverned');
    await rejects(reg(m(0), 'revokeRole', [role, m(1).input.account]), 'RegistryRolesAreGoverned');
    await rejects(reg(m(0), 'renounceRole', [role, m(0).input.account]), 'RegistryRolesAreGoverned');
  });

  test('members rotate their own endpoint and key; others cannot', async () => {
    const key: Hex = `0x${'ab'.repeat(32)}`;
    await reg(m(1), 'updateEndpoint', ['https://clinic.example:8443']);
    await reg(m(1), 'updateEncryptionKey', [key]);
    const rec = await t.contracts.registry.read.getMember([m(1).input.account]);
    assert.equal(rec.endpoint, 'https://clinic.example:8443');
    assert.equal(rec.encryptionKey, key);
    await rejects(reg(t.outsider(), 'updateEndpoint', ['http://evil']), 'RegistryNotMember');
    await rejects(reg(t.outsider(), 'updateEncryptionKey', [key]), 'RegistryNotMember');
  });

  test('a removed member can no longer anchor, relay, or be granted consent, and old grants stop permitting', async () => {
    const victim = m(4);
    const patient = privateKeyToAccount(generatePrivateKey());
    const ts = (await t.conn.publicClient.getBlock()).timestamp;
    const g = {
      patient: patient.address,
      grantee: victim.input.account,
      granteeAdmission: await t.contracts.registry.read.admissionOf([victim.input.account]),
      categories: 2,
      purposes: 1,
      validFrom: ts - 1n,
      expiry: ts + 3600n,
      nonce: 0n,
      deadline: ts + 3600n,
    };
    await writeAndWait(t.conn, m(0).wallet, {
      address: t.manifest.contracts.Consent,
      abi: consentAbi,
      functionName: 'grantWithSig',
      args: [g, await signGrant(patient, t.manifest, g)],
    });
    const permitted = () =>
      t.contracts.consent.read.isPermitted([patient.address, victim.input.account, 2, 1, ts + 10n]);
    assert.equal(await permitted(), true);

    const n = await t.contracts.registry.read.activeMemberCount();
    const required = Number(await t.contracts.registry.read.requiredVotes());
    await reg(m(0), 'proposeRemoval', [victim.input.account]);
    const id = (await t.contracts.registry.read.proposalCount()) - 1n;
    for (let i = 1; i < required; i++) await reg(m(i), 'vote', [id]);
    assert.equal(await active(victim.input.account), false);
    assert.equal(await t.contracts.registry.read.activeMemberCount(), n - 1n);

    assert.equal(await permitted(), false);
    await rejects(
      writeAndWait(t.conn, victim.wallet, {
        address: t.manifest.contracts.AuditAnchor,
        abi: auditAnchorAbi,
        functionName: 'anchor',
        args: [1n, `0x${'11'.repeat(32)}`, 1n],
      }),
      'AuditAnchorNotMember',
    );
    const g2 = { ...g, nonce: 1n };
    const g2Signature = await signGrant(patient, t.manifest, g2);
    const relay = (req: typeof g, signature: Hex) =>
      writeAndWait(t.conn, m(0).wallet, {
        address: t.manifest.contracts.Consent,
        abi: consentAbi,
        functionName: 'grantWithSig',
        args: [req, signature],
      });
    await rejects(relay(g2, g2Signature), 'ConsentGranteeNotMember');
    await rejects(reg(victim, 'vote', [0n]), 'RegistryNotMember');

    // Re-admitted at the same address: a new admission, and the patient's old consent does not return.
    await admitByVote(t, victim);
    assert.equal(await active(victim.input.account), true);
    assert.equal(await t.contracts.registry.read.admissionOf([victim.input.account]), g.granteeAdmission + 1);
    assert.equal(await permitted(), false, 'the old grant names the earlier admission');
    await rejects(relay(g2, g2Signature), 'ConsentStaleAdmission');
    const g3 = { ...g2, granteeAdmission: g.granteeAdmission + 1 };
    await relay(g3, await signGrant(patient, t.manifest, g3));
    assert.equal(await permitted(), true, 'a new grant for the new admission permits');
  });
});
