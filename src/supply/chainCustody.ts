/**
 * What DrugLedger says now about a set of units: each one's custodian and status (`stateOf`, which
 * proves batch membership for a unit still on its batch's path), read a few dozen at a time.
 */
import { type Address, getAddress, type Hex } from 'viem';
import { isChainDown } from '../chain/consortium.js';
import type { DrugLedgerContract } from '../chain/contracts.js';
import { ChainUnavailableError } from '../errors.js';
import type { UnitStatus } from './verify.js';

/** DrugLedger.sol `Status`, by its number. */
export const LEDGER_STATUSES: readonly (UnitStatus | 'none')[] = [
  'none',
  'active',
  'dispensed',
  'recalled',
  'suspect',
  'illegitimate',
  'destroyed',
];

/** The status a DrugLedger.sol `Status` number names (`none` for a number it does not know). */
export const ledgerStatus = (n: number): UnitStatus | 'none' => LEDGER_STATUSES[n] ?? 'none';

/** DrugLedger.sol `Status` number of a status. */
export const ledgerStatusNumber = (s: UnitStatus): number => LEDGER_STATUSES.indexOf(s);

/** A unit as a DrugLedger call names it. */
export interface UnitRef {
  commitment: Hex;
  batch: number;
  proof: readonly Hex[];
}

/** One unit's state on chain; `notInBatch` when its proof does not put it in the batch named. */
export type ChainState = { custodian: Address; status: UnitStatus | 'none' } | { notInBatch: true };

const CONCURRENCY = 32;

/** A unit's custodian and status on chain now (DrugLedger `stateOf`; a contract error is thrown). */
export async function chainStateOf(
  ledger: DrugLedgerContract,
  u: UnitRef,
): Promise<{ custodian: Address; status: UnitStatus | 'none' }> {
  const [custodian, status] = await ledger.read.stateOf([
    { id: u.commitment, batch: u.batch, proof: [...u.proof] },
  ]);
  return { custodian: getAddress(custodian), status: ledgerStatus(status) };
}

/** The chain state of each unit, in order. */
export async function chainStates(
  ledger: DrugLedgerContract,
  units: readonly UnitRef[],
): Promise<ChainState[]> {
  const out: ChainState[] = new Array(units.length);
  for (let i = 0; i < units.length; i += CONCURRENCY) {
    await Promise.all(
      units.slice(i, i + CONCURRENCY).map(async (u, k) => {
        try {
          out[i + k] = await chainStateOf(ledger, u);
        } catch (err) {
          // A contract answer (DrugLedgerNotInBatch / NoSuchBatch) rather than the chain being down.
          if (isChainDown(err)) throw new ChainUnavailableError(err);
          if (/NotInBatch|NoSuchBatch/.test(String((err as Error).message)))
            out[i + k] = { notInBatch: true };
          else throw err;
        }
      }),
    );
  }
  return out;
}

/**
 * The units of `units` that `self` does not hold as stock on chain now (custodian, and status
 * active or recalled), each described for a refusal: `gtin/serial (why)`.
 */
export async function notHeldAsStock(
  ledger: DrugLedgerContract,
  self: Address,
  units: readonly (UnitRef & { gtin: string; serial: string })[],
): Promise<string[]> {
  const states = await chainStates(ledger, units);
  return units.flatMap((u, i) => {
    const s = states[i];
    if (!s || 'notInBatch' in s) return [`${u.gtin}/${u.serial} (not in its batch on chain)`];
    if (s.custodian !== self) return [`${u.gtin}/${u.serial} (custodian ${s.custodian})`];
    if (s.status !== 'active' && s.status !== 'recalled') return [`${u.gtin}/${u.serial} (${s.status})`];
    return [];
  });
}
