/**
 * Every trading partner that handled some drug units, from the chain alone (so the manufacturer
 * finds members two hops down that it never shipped to): the units' manufacturer, both ends of
 * every `BatchTransferred` of their batches, both ends of every `transferUnits` call that named
 * one of them (the event counts units; the call's input names them), and their custodians now.
 *
 * Conservative on purpose: a member that received a batch after a unit had left it (with its own
 * record) is named too. For an illegitimate-product notice, one notice too many is the safe error.
 * Only standard JSON-RPC (eth_getLogs, eth_getTransactionByHash): no anvil-only method.
 */
import { type Address, decodeFunctionData, getAddress, type Hex } from 'viem';
import type { ChainConnection } from '../chain/clients.js';
import type { DrugLedgerContract } from '../chain/contracts.js';
import { drugLedgerAbi } from '../chain/generated/index.js';
import type { StoredUnit } from '../store/unitStore.js';
import { chainStateOf } from './chainCustody.js';

/** The members that handled any of `units` (sorted, each once). */
export async function handlersOf(
  conn: ChainConnection,
  ledger: DrugLedgerContract,
  fromBlock: bigint,
  units: readonly StoredUnit[],
): Promise<Address[]> {
  const out = new Set<Address>();
  const add = (a: string) => out.add(getAddress(a));
  const batches = [...new Set(units.map((u) => u.batch))];
  for (const batch of batches) {
    add((await ledger.read.batchAt([batch])).manufacturer);
    const moves = await conn.publicClient.getContractEvents({
      address: ledger.address,
      abi: drugLedgerAbi,
      eventName: 'BatchTransferred',
      args: { batch },
      fromBlock,
      toBlock: 'latest',
    });
    for (const m of moves) {
      add(m.args.from as Address);
      add(m.args.to as Address);
    }
  }
  const ids = new Set<Hex>(units.map((u) => u.commitment.toLowerCase() as Hex));
  const unitMoves = await conn.publicClient.getContractEvents({
    address: ledger.address,
    abi: drugLedgerAbi,
    eventName: 'UnitsTransferred',
    fromBlock,
    toBlock: 'latest',
  });
  for (const m of unitMoves) {
    const tx = await conn.publicClient.getTransaction({ hash: m.transactionHash as Hex });
    let named = false;
    try {
      const call = decodeFunctionData({ abi: drugLedgerAbi, data: tx.input });
      if (call.functionName === 'transferUnits') {
        const refs = call.args[0] as readonly { id: Hex }[];
        named = refs.some((r) => ids.has(r.id.toLowerCase() as Hex));
      }
    } catch {
      // Not a direct call of DrugLedger (a contract account relayed it): its units are unknown
      // here, so both ends are named, the conservative choice.
      named = true;
    }
    if (named) {
      add(m.args.from as Address);
      add(m.args.to as Address);
    }
  }
  for (const u of units) add((await chainStateOf(ledger, u)).custodian);
  return [...out].sort();
}
