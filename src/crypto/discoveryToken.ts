/**
 * Discovery tokens: HMAC-SHA256 under the consortium key over a match key (src/fhir/demographics.ts),
 * so every member computes the same token for the same person while no token, stored or sent, holds
 * a name or a birth date. Domain-separated from the members' own blind index (another key, another
 * prefix): a discovery token never equals a local search token.
 */
import { createHmac } from 'node:crypto';
import { assertBytes } from './cryptoError.js';

export const CONSORTIUM_KEY_BYTES = 32;

/** The token of one match key, hex (64 digits). */
export function discoveryToken(consortiumKey: Uint8Array, matchKey: string): string {
  assertBytes(consortiumKey, CONSORTIUM_KEY_BYTES, 'consortium key');
  return createHmac('sha256', consortiumKey)
    .update('medchain discovery v1\0', 'utf8')
    .update(matchKey, 'utf8')
    .digest('hex');
}

/** The tokens of several match keys, distinct and sorted (their order says nothing). */
export const discoveryTokens = (consortiumKey: Uint8Array, keys: readonly string[]): string[] =>
  [...new Set(keys.map((k) => discoveryToken(consortiumKey, k)))].sort();
