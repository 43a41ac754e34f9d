import { BaseError, ContractFunctionRevertedError } from 'viem';
import { MedchainError } from '../errors.js';

/** A chain operation failed: RPC unreachable, transaction reverted, bad manifest, ... */
export class ChainError extends MedchainError {}

/**
 * The custom error name and arguments of a contract revert inside a viem error, if any
 * (e.g. `{ name: 'ConsentNonceReplayed', args: [...] }`).
 */
export function revertReason(err: unknown): { name: string; args: readonly unknown[] } | undefined {
  if (!(err instanceof BaseError)) return undefined;
  const revert = err.walk((e) => e instanceof ContractFunctionRevertedError);
  if (revert instanceof ContractFunctionRevertedError && revert.data?.errorName) {
    return { name: revert.data.errorName, args: revert.data.args ?? [] };
  }
  return undefined;
}
