/**
 * Single use of signed (and MAC'd) requests: remembers what was authorized (the message, hashed),
 * not how the signature or MAC was spelled, until the message would be refused as stale anyway.
 * So re-encoding a used signature does not make it new, and one request is used once whichever
 * scheme carried it.
 *
 * Made for thousands of requests a second (member MACs): what expires is dropped second by second
 * (entries are filed by the second they expire in), never by scanning everything, and each entry
 * is small (16 bytes of the hash, the expiry as a small integer), so a full two-minute window at
 * 5,000 requests a second (600,000 entries) fits below the bound.
 */
import { createHash } from 'node:crypto';

/** Remembers accepted messages until they expire, so none is accepted twice. */
export class ReplayGuard {
  /** Hash (16 bytes, latin1) -> when it expires (ms since `base`: a small integer). */
  private readonly seen = new Map<string, number>();
  /** Second (since `base`) -> the hashes that expire in it (some may have been dropped or refiled since). */
  private readonly expiring = new Map<number, string[]>();
  private readonly base: number;
  private swept = 0;

  constructor(
    private readonly now: () => number = Date.now,
    /** Beyond this many live entries the oldest are dropped (memory stays bounded under a flood). */
    private readonly maxEntries = 1_000_000,
  ) {
    this.base = now();
  }

  /** Entries held now (live, or expired within the last second). */
  get size(): number {
    return this.seen.size;
  }

  /**
   * True the first time `message` is offered before `expiresAt` (ms), false for a repeat. Call it
   * only once the signature or MAC over `message` has been verified.
   */
  firstUse(message: string, expiresAt: number): boolean {
    const t = this.now() - this.base;
    const second = Math.floor(t / 1000);
    if (second > this.swept) this.sweep(second);
    const key = createHash('sha256').update(message, 'utf8').digest().subarray(0, 16).toString('latin1');
    const exp = this.seen.get(key);
    if (exp !== undefined && exp >= t) return false;
    if (exp === undefined && this.seen.size >= this.maxEntries) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    const until = expiresAt - this.base;
    this.seen.delete(key); // re-inserted at the end: insertion order stays oldest first
    this.seen.set(key, until);
    const s = Math.floor(until / 1000);
    const bucket = this.expiring.get(s);
    if (bucket) bucket.push(key);
    else this.expiring.set(s, [key]);
    return true;
  }

  /** Forget what expired in the seconds before `second` (each is past: now >= second * 1000). */
  private sweep(second: number): void {
    this.swept = second;
    for (const [s, keys] of this.expiring) {
      if (s >= second) continue;
      for (const k of keys) {
        const exp = this.seen.get(k);
        if (exp !== undefined && Math.floor(exp / 1000) === s) this.seen.delete(k);
      }
      this.expiring.delete(s);
    }
  }
}
