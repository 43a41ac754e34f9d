/**
 * A per-key fixed-window counter (e.g. requests per client address per minute), in memory and
 * bounded: used for the open consent relay and for unauthenticated failures.
 */

interface Window {
  start: number;
  count: number;
}

/** At most `limit` events per key per `windowMs`; keys beyond `maxKeys` push out the oldest. */
export class RateLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 100_000,
  ) {}

  /** Whole seconds `key` must wait before its next event is allowed, or 0 when it is allowed. */
  retryAfter(key: string): number {
    const w = this.current(key, this.now());
    if (!w || w.count < this.limit) return 0;
    return Math.max(1, Math.ceil((w.start + this.windowMs - this.now()) / 1000));
  }

  /** Count one event of `key` (whether or not it was allowed). */
  hit(key: string): void {
    const t = this.now();
    const w = this.current(key, t);
    if (w) {
      w.count += 1;
      return;
    }
    if (this.windows.size >= this.maxKeys) this.sweep(t);
    this.windows.set(key, { start: t, count: 1 });
  }

  /** Count one event if allowed: 0, or the seconds to wait (and the event is not counted). */
  take(key: string): number {
    const wait = this.retryAfter(key);
    if (wait === 0) this.hit(key);
    return wait;
  }

  /** The live windows, largest counts first (at most `max`). */
  top(max: number): { key: string; count: number; retryAfter: number }[] {
    const t = this.now();
    const out: { key: string; count: number; retryAfter: number }[] = [];
    for (const [key, w] of this.windows) {
      if (w.start + this.windowMs <= t) continue;
      out.push({ key, count: w.count, retryAfter: this.retryAfter(key) });
    }
    return out.sort((a, b) => b.count - a.count).slice(0, max);
  }

  private current(key: string, t: number): Window | undefined {
    const w = this.windows.get(key);
    if (w && w.start + this.windowMs <= t) {
      this.windows.delete(key);
      return undefined;
    }
    return w;
  }

  private sweep(t: number): void {
    for (const [k, w] of this.windows) if (w.start + this.windowMs <= t) this.windows.delete(k);
    for (const k of this.windows.keys()) {
      if (this.windows.size < this.maxKeys) break;
      this.windows.delete(k);
    }
  }

  /** How many keys are held (for tests of the memory bound). */
  get size(): number {
    return this.windows.size;
  }
}
