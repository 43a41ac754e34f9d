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
  const hash = await wallet.writeContract({ ...(simulated.request as object), gasPrice } as never);
  const receipt = await conn.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 });
  if (receipt.status !== 'success') {
    throw new ChainError('tx-reverted', `${call.functionName} reverted in block ${receipt.blockNumber}`);
  }
  return { hash, receipt, result: simulated.result };
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
