/**
 * Single use of signed requests: remembers what was signed (the message, hashed), not how the
 * signature was spelled, until the message would be refused as stale anyway. So re-encoding a used
 * signature does not make it new.
 */
import { createHash } from 'node:crypto';

/** Remembers accepted signed messages until they expire, so none is accepted twice. */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly now: () => number = Date.now,
    /** Beyond this many live entries the oldest are dropped (memory stays bounded under a flood). */
    private readonly maxEntries = 100_000,
  ) {}

  /**
   * True the first time `message` is offered before `expiresAt` (ms), false for a repeat. Call it
   * only once the signature over `message` has been verified.
   */
  firstUse(message: string, expiresAt: number): boolean {
    const key = createHash('sha256').update(message, 'utf8').digest('base64');
    const t = this.now();
    const exp = this.seen.get(key);
    if (exp !== undefined && exp >= t) return false;
    if (this.seen.size >= this.maxEntries) this.sweep(t);
    this.seen.set(key, expiresAt);
    return true;
  }

  private sweep(t: number): void {
    for (const [k, exp] of this.seen) if (exp < t) this.seen.delete(k);
    // Still full of live entries: drop the oldest (they are the closest to expiring).
    for (const k of this.seen.keys()) {
      if (this.seen.size < this.maxEntries) break;
      this.seen.delete(k);
    }
  }
}
