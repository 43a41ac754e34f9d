/**
 * The keyed commitments that stand for a unit and a lot on chain (DrugLedger.sol): HMAC-SHA256
 * under the GTIN owner's supply key, so the chain holds no serial or lot in the clear and an
 * onlooker cannot test guesses. Trading partners that handle the unit receive the commitments in
 * the shipment's EPCIS documents (or the key, by agreement); the responder recomputes them.
 */
import { createHmac } from 'node:crypto';
import { InvalidInputError } from '../errors.js';
import { GS } from './gs1.js';

/** A 32-byte commitment as the contract takes it. */
export type Commitment = `0x${string}`;

export const SUPPLY_KEY_BYTES = 32;

function mac(key: Uint8Array, domain: string, parts: readonly string[]): Commitment {
  if (!(key instanceof Uint8Array) || key.length !== SUPPLY_KEY_BYTES) {
    throw new InvalidInputError(`a supply key is ${SUPPLY_KEY_BYTES} bytes`);
  }
  // <GS> cannot occur in a GTIN, serial or lot (GS1 character set 82), so the join is unambiguous.
  return `0x${createHmac('sha256', key)
    .update(`${domain}${GS}${parts.join(GS)}`, 'utf8')
    .digest('hex')}`;
}

/** The commitment of one unit (GTIN-14 + serial). */
export function unitCommitment(key: Uint8Array, gtin: string, serial: string): Commitment {
  return mac(key, 'medchain-unit-v1', [gtin, serial]);
}

/** The commitment of one lot of a GTIN (what a recall names). */
export function lotCommitment(key: Uint8Array, gtin: string, lot: string): Commitment {
  return mac(key, 'medchain-lot-v1', [gtin, lot]);
}
