/**
 * Blind index tokens: HMAC-SHA256 under the member's index key over (parameter, normalized value),
 * so the store can match equality searches without holding names, codes or identifiers. The same
 * value under another parameter gives an unrelated token.
 */
import { createHmac } from 'node:crypto';
import { assertBytes } from './cryptoError.js';

export const INDEX_KEY_BYTES = 32;

/** The token of `value` for search parameter `param` (e.g. "Observation.code"), hex. */
export function blindToken(indexKey: Uint8Array, param: string, value: string): string {
  assertBytes(indexKey, INDEX_KEY_BYTES, 'index key');
  return createHmac('sha256', indexKey)
    .update(param, 'utf8')
    .update('\0')
    .update(value, 'utf8')
    .digest('hex');
}
