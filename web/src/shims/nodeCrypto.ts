/**
 * The one part of `node:crypto` the shared log modules use, for the browser: createHash('sha256')
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
