/**
 * Consortium governance through the Registry: admit a candidate with the votes of enough members.
 * Idempotent: an active candidate is left alone, and an open proposal for the same candidate is
 * voted on rather than duplicated.
 */
import type { Address } from 'viem';
import { ChainError } from './chainError.js';
import type { ChainConnection, ChainWallet } from './clients.js';
import type { MemberInput } from './deploy.js';
import { registryAbi } from './generated/index.js';
import { writeAndWait } from './transact.js';

/**
 * Propose `candidate` (if no open proposal exists) and have `voters` vote in order until it is
 * admitted. Returns false when the candidate was already active.
 */
export async function admitMember(
  conn: ChainConnection,
  registry: Address,
  voters: readonly ChainWallet[],
  candidate: MemberInput,
): Promise<boolean> {
  const read = <T>(functionName: string, args: readonly unknown[] = []) =>
    conn.publicClient.readContract({
      address: registry,
      abi: registryAbi,
      functionName,
      args,
    } as never) as Promise<T>;
  if (await read<boolean>('isActiveMember', [candidate.account])) return false;
  const [first] = voters;
  if (!first) throw new ChainError('no-voters', 'admitting a member needs at least one voting member');

  let proposalId: bigint | undefined;
  const count = await read<bigint>('proposalCount');
  const nowTs = (await conn.publicClient.getBlock()).timestamp;
  for (let id = count - 1n; id >= 0n && proposalId === undefined; id--) {
    const [p] = await read<
      [{ kind: number; executed: boolean; deadline: bigint; candidate: MemberInput }, bigint]
    >('getProposal', [id]);
    if (p.kind === 0 && !p.executed && p.deadline >= nowTs && p.candidate.account === candidate.account) {
      proposalId = id;
    }
  }
  if (proposalId === undefined) {
    await writeAndWait(conn, first, {
      address: registry,
      abi: registryAbi,
      functionName: 'proposeAdmission',
      args: [candidate],
    });
    proposalId = (await read<bigint>('proposalCount')) - 1n;
  }
  for (const voter of voters) {
    if (await read<boolean>('isActiveMember', [candidate.account])) return true;
    const [p] = await read<[{ proposer: Address }, bigint]>('getProposal', [proposalId]);
    try {
      await writeAndWait(conn, voter, {
        address: registry,
        abi: registryAbi,
        functionName: 'vote',
        args: [proposalId],
      });
    } catch (err) {
      // The proposer and members who already voted are skipped.
      if (
        !(err instanceof ChainError && err.code === 'RegistryAlreadyVoted') &&
        p.proposer !== voter.account.address
      ) {
        throw err;
      }
    }
  }
  if (!(await read<boolean>('isActiveMember', [candidate.account]))) {
    throw new ChainError('admission-short-of-quorum', `not enough votes to admit ${candidate.name}`);
  }
  return true;
}
