/**
 * Counts of events per key over a sliding time window (rate limits such as break-glass per
 * requester). In memory, bounded: keys whose events all fell out of the window are dropped.
 */
export class SlidingWindow {
  private readonly events = new Map<string, number[]>();

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys = 10_000,
  ) {}

  private live(key: string, now: number): number[] {
    const list = (this.events.get(key) ?? []).filter((t) => t > now - this.windowMs);
    if (list.length === 0) this.events.delete(key);
    else this.events.set(key, list);
    return list;
  }

  /** Events of `key` within the window ending at `now`. */
  count(key: string, now: number): number {
    return this.live(key, now).length;
  }

  /** Record one event of `key` at `now`. */
  add(key: string, now: number): void {
    if (this.events.size >= this.maxKeys) for (const k of [...this.events.keys()]) this.live(k, now);
    this.events.set(key, [...this.live(key, now), now]);
  }
}
