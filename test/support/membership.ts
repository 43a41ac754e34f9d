/**
 * Test support: remove or (re-)admit a member of a test chain by Registry vote, with the votes of
 * the test chain's active genesis members. Used by the tests of admissions and consent.
 */
import { ChainError } from '../../src/chain/chainError.js';
import { registryAbi } from '../../src/chain/generated/index.js';
import { writeAndWait } from '../../src/chain/transact.js';
import type { TestChain, TestMember } from './testChain.js';

/** The test chain's genesis members other than `except` that are active now. */
async function activeVoters(t: TestChain, except: TestMember): Promise<TestMember[]> {
  const out: TestMember[] = [];
  for (const m of t.members) {
    if (m.input.account === except.input.account) continue;
    if (await t.contracts.registry.read.isActiveMember([m.input.account])) out.push(m);
  }
  return out;
}

/** Propose (first voter) and vote (the others, in order) until `target`'s activity is `wanted`. */
async function carry(
  t: TestChain,
  voters: readonly TestMember[],
  target: TestMember,
  propose: { functionName: 'proposeAdmission' | 'proposeRemoval'; args: readonly unknown[] },
  wanted: boolean,
): Promise<void> {
  const [first, ...rest] = voters;
  if (!first) throw new ChainError('no-voters', `no active member to propose ${propose.functionName}`);
  const call = (by: TestMember, functionName: string, args: readonly unknown[]) =>
    writeAndWait(t.conn, by.wallet, {
      address: t.manifest.contracts.Registry,
      abi: registryAbi,
      functionName: functionName as 'vote',
      args: args as never,
    });
  const isActive = () => t.contracts.registry.read.isActiveMember([target.input.account]);
  await call(first, propose.functionName, propose.args);
  const id = (await t.contracts.registry.read.proposalCount()) - 1n;
  for (const voter of rest) {
    if ((await isActive()) === wanted) break;
    await call(voter, 'vote', [id]);
  }
  if ((await isActive()) !== wanted)
    throw new ChainError(
      'short-of-quorum',
      `not enough votes to ${propose.functionName} ${target.input.name}`,
    );
}

/** Remove `target` by vote (its own vote counts, last); throws if the votes fall short. */
export async function removeMember(t: TestChain, target: TestMember): Promise<void> {
  const voters = [...(await activeVoters(t, target)), target];
  await carry(t, voters, target, { functionName: 'proposeRemoval', args: [target.input.account] }, false);
}

/** Admit `target` (again) by vote of the active genesis members; throws if it is already active. */
export async function admitByVote(t: TestChain, target: TestMember): Promise<void> {
  const voters = await activeVoters(t, target);
  await carry(t, voters, target, { functionName: 'proposeAdmission', args: [target.input] }, true);
}
