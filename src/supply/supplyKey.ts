/**
 * A member's supply key (the HMAC key of its unit and lot commitments, src/supply/unitCommitment.ts),
 * derived from the member's index key with HKDF-SHA256 (RFC 5869) under its own label, so no new
 * secret is kept in the key file and the key is the same across restarts. A key rotation of the
 * index key would change it; supply keys are not rotated yet (docs/supply-chain.md).
 */
import { hkdfSync } from 'node:crypto';
import { InvalidInputError } from '../errors.js';
import { SUPPLY_KEY_BYTES } from './unitCommitment.js';

/** The supply key of the member whose 32-byte index key is `indexKey`. */
export function supplyKeyOf(indexKey: Uint8Array): Uint8Array {
  if (!(indexKey instanceof Uint8Array) || indexKey.length !== 32)
    throw new InvalidInputError('an index key is 32 bytes');
  return new Uint8Array(
    hkdfSync('sha256', indexKey, new Uint8Array(0), 'medchain-supply-key-v1', SUPPLY_KEY_BYTES),
  );
}
