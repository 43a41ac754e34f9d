/**
 * What the incident flows share (quarantine, clear, illegitimate; docs/supply-chain.md
 * "Incidents"): the `{gtin, serial | lot, reason}` body, the units it names in this member's store,
 * and a DrugLedger `setStatus` sent through the outbox and awaited (their state on chain is
 * chainCustody.ts's `chainStateOf`).
 */
import type { Address, Hex } from 'viem';
import type { Outbox } from '../chain/outbox.js';
import { badRequest, ConflictError, notFound, UnavailableError } from '../errors.js';
import { hasControlCharacter } from '../federation/wire.js';
import type { StoredUnit, UnitStore } from '../store/unitStore.js';
import { ledgerStatusNumber } from './chainCustody.js';
import { writeDigitalLink } from './gs1.js';
import type { UnitStatus } from './verify.js';

/** An incident request: one unit (serial) or every unit of a lot this member holds records of. */
export interface IncidentRequest {
  gtin: string;
  serial?: string;
  lot?: string;
  reason: string;
}

/** Parse `{gtin, serial | lot, reason}` (exactly one of serial and lot); 400 naming what is wrong. */
export function parseIncidentRequest(body: unknown): IncidentRequest {
  const b = body as Record<string, unknown> | undefined;
  if (!b || typeof b !== 'object' || Array.isArray(b)) throw badRequest('send {gtin, serial | lot, reason}');
  for (const k of Object.keys(b))
    if (!['gtin', 'serial', 'lot', 'reason'].includes(k))
      throw badRequest(
        `"${k.slice(0, 40)}" is not a field of this request (send {gtin, serial | lot, reason})`,
      );
  if (typeof b.gtin !== 'string') throw badRequest('gtin must be a string');
  for (const k of ['serial', 'lot'] as const)
    if (b[k] !== undefined && typeof b[k] !== 'string') throw badRequest(`${k} must be a string`);
  if ((b.serial === undefined) === (b.lot === undefined))
    throw badRequest('name either one unit (serial) or a whole lot (lot), not both and not neither');
  if (typeof b.reason !== 'string' || b.reason.trim().length === 0 || b.reason.length > 500)
    throw badRequest('reason must say why, in 1-500 characters');
  if (hasControlCharacter(b.reason)) throw badRequest('reason must not hold control characters');
  const q: IncidentRequest = {
    gtin: b.gtin,
    ...(b.serial === undefined ? {} : { serial: b.serial as string }),
    ...(b.lot === undefined ? {} : { lot: b.lot as string }),
    reason: b.reason,
  };
  writeDigitalLink(q); // GS1 rules: check digit, lengths, character set
  return q;
}

/** The units a request names that this member holds records of; 404 when none. */
export function unitsNamed(units: UnitStore, q: IncidentRequest, what: string): StoredUnit[] {
  const found =
    q.serial !== undefined
      ? [units.unit(q.gtin, q.serial)].filter((u): u is StoredUnit => u !== undefined)
      : units.unitsOfLot(q.gtin, q.lot as string);
  if (found.length === 0)
    throw notFound(
      `this member has no record of ${q.serial !== undefined ? `unit ${q.gtin} serial ${q.serial}` : `GTIN ${q.gtin} lot ${q.lot}`}: only a trading partner that holds or held it may ${what} it`,
    );
  return found;
}

/** Send DrugLedger `setStatus(units, to, eventHash)` through the outbox and wait for it to settle. */
export async function setStatusOnChain(
  outbox: Outbox,
  ledger: Address,
  key: string,
  units: readonly StoredUnit[],
  to: UnitStatus,
  eventHash: Hex,
  description: string,
): Promise<string | null> {
  const queued = outbox.enqueue({
    key,
    contract: 'DrugLedger',
    address: ledger,
    functionName: 'setStatus',
    args: [
      units.map((u) => ({ id: u.commitment, batch: u.batch, proof: u.proof })),
      ledgerStatusNumber(to),
      eventHash,
    ],
    description,
  });
  const done = await outbox.flushUntilSettled(queued.key);
  if (done?.status === 'failed')
    throw new ConflictError(`the chain refused it: ${done.error ?? 'no reason given'}`, { refused: true });
  if (done?.status !== 'confirmed')
    throw new UnavailableError(
      'supply-status-not-confirmed',
      'the change is sent but not confirmed yet; ask again in a moment (it is sent once)',
    );
  return done.txHash;
}
