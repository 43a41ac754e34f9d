/**
 * The parts of `node:crypto` the shared log modules use, for the browser: createHash('sha256')
 * with update/digest, backed by @noble/hashes (audited, pure JS). Anything else throws.
 */
import { sha256 } from '@noble/hashes/sha2';

export function createHash(algorithm: string) {
  if (algorithm !== 'sha256') throw new Error(`createHash(${algorithm}) is not available in the browser`);
  const h = sha256.create();
  const api = {
    update(data: Uint8Array | string) {
      h.update(typeof data === 'string' ? new TextEncoder().encode(data) : data);
      return api;
    },
    digest(encoding?: 'hex') {
      const out = h.digest();
      return encoding === 'hex' ? Array.from(out, (b) => b.toString(16).padStart(2, '0')).join('') : out;
    },
  };
  return api;
}

/**
 * Node's one-shot `hash(algorithm, data, outputEncoding)` (Node 20.12+), for SHA-256 only: bytes
 * for 'buffer' (the default), one character a byte for 'binary'/'latin1' (src/log/merkle.ts asks
 * for that: cheaper than a Buffer in Node).
 */
export function hash(algorithm: string, data: Uint8Array, outputEncoding?: 'buffer'): Uint8Array;
export function hash(algorithm: string, data: Uint8Array, outputEncoding: 'binary' | 'latin1'): string;
export function hash(
  algorithm: string,
  data: Uint8Array,
  outputEncoding?: 'buffer' | 'binary' | 'latin1',
): Uint8Array | string {
  if (
    algorithm !== 'sha256' ||
    (outputEncoding !== undefined && !['buffer', 'binary', 'latin1'].includes(outputEncoding))
  )
    throw new Error(`hash(${algorithm}, ${outputEncoding}) is not available in the browser`);
  const out = sha256(data);
  return outputEncoding === 'binary' || outputEncoding === 'latin1' ? String.fromCharCode(...out) : out;
}
