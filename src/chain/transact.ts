/**
 * Send one contract transaction and wait for its receipt, with the contract's custom error
 * surfaced as a ChainError code. Simulates first so a revert is reported before anything is signed.
 */
import type {
  Abi,
  Address,
  ContractFunctionArgs,
  ContractFunctionName,
  Hash,
  TransactionReceipt,
} from 'viem';
import { ChainError, revertReason } from './chainError.js';
import type { ChainConnection, ChainWallet } from './clients.js';

export interface ContractWrite<
  abi extends Abi,
  fn extends ContractFunctionName<abi, 'nonpayable' | 'payable'>,
> {
  address: Address;
  abi: abi;
  functionName: fn;
  args: ContractFunctionArgs<abi, 'nonpayable' | 'payable', fn>;
}

export interface WriteResult<T> {
  hash: Hash;
  receipt: TransactionReceipt;
  /** The function's return value as simulated just before sending. */
  result: T;
}

/** Simulate, send and wait for `call`; throws ChainError(code = revert name) when it reverts. */
export async function writeAndWait<
  const abi extends Abi,
  fn extends ContractFunctionName<abi, 'nonpayable' | 'payable'>,
>(conn: ChainConnection, wallet: ChainWallet, call: ContractWrite<abi, fn>): Promise<WriteResult<unknown>> {
  let simulated: { result: unknown; request: unknown };
  try {
    simulated = (await conn.publicClient.simulateContract({
      ...(call as object),
      account: wallet.account,
    } as never)) as { result: unknown; request: unknown };
  } catch (err) {
    throw asChainError(err, call.functionName);
  }
  const gasPrice = await conn.publicClient.getGasPrice();
  let estimate: bigint;
  try {
    estimate = await conn.publicClient.estimateContractGas({
      ...(call as object),
      account: wallet.account,
      gasPrice,
    } as never);
  } catch (err) {
    throw asChainError(err, call.functionName);
  }
  // The estimate is the gas the call used in the latest state, to the unit; a fifth more (as the
  // outbox gives) keeps a transaction mined in the next block from running out on a small change.
  const gas = withHeadroom(estimate);
  const hash = await wallet.writeContract({ ...(simulated.request as object), gasPrice, gas } as never);
  const receipt = await conn.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 });
  if (receipt.status !== 'success') {
    const ranOut = receipt.gasUsed >= gas ? 'out of gas' : await replayedReason(conn, wallet, call, receipt);
    throw new ChainError(
      'tx-reverted',
      `${call.functionName} reverted in block ${receipt.blockNumber} (${ranOut}): used ${receipt.gasUsed} of ${gas} gas`,
    );
  }
  return { hash, receipt, result: simulated.result };
}

/** Why a mined call reverted, replayed on the state of the block before it (diagnosis only). */
async function replayedReason(
  conn: ChainConnection,
  wallet: ChainWallet,
  call: ContractWrite<Abi, string>,
  receipt: TransactionReceipt,
): Promise<string> {
  try {
    await conn.publicClient.simulateContract({
      ...(call as object),
      account: wallet.account,
      blockNumber: receipt.blockNumber - 1n,
    } as never);
    return 'the call succeeds on the state before its block';
  } catch (err) {
    return asChainError(err, call.functionName).code;
  }
}

/** The gas limit sent for an estimate: 20% over it, as the outbox sends. */
export function withHeadroom(estimate: bigint): bigint {
  return (estimate * 12n) / 10n;
}

/** Map a viem error to a ChainError whose code is the contract's custom error name when there is one. */
export function asChainError(err: unknown, what: string): ChainError {
  const reason = revertReason(err);
  if (reason) {
    return new ChainError(reason.name, `${what} refused by the contract: ${reason.name}`, {
      details: reason.args.map((a) => String(a)),
      cause: err,
    });
  }
  const msg = (err as { shortMessage?: string }).shortMessage ?? (err as Error).message ?? String(err);
  return new ChainError('chain-call-failed', `${what} failed: ${msg}`, { cause: err });
}
