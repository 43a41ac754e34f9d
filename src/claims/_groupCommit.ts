/**
 * Group commit for the claims chain writes (ClaimBatcher, DecisionRecorder): items are gathered
 * per key and handed to `send` as one group. A group waits at most `windowMs` while nothing of
 * its key is being sent; while a group of its key is in flight (its transaction being mined), the
 * next one gathers and is sent the moment that one settles, or as soon as it holds `maxItems`.
 * So a lone claim pays no fixed wait, and under load a batch holds what arrived while the chain
 * was busy (as a database's group commit), never one transaction per claim.
 */
export interface GroupCommitOptions {
  /** The longest a group waits for more items while its key is idle. */
  windowMs: number;
  /** A group is sent as soon as it holds this many items. */
  maxItems: number;
}

/** Gathers items per key; `send` gets each group once and must settle (it never rejects here). */
export class GroupCommit<T> {
  private readonly open = new Map<string, { items: T[]; timer: NodeJS.Timeout | undefined }>();
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly send: (key: string, items: T[]) => Promise<void>,
    private readonly opts: GroupCommitOptions,
  ) {}

  /** Add `item` to the open group of `key`. */
  add(key: string, item: T): void {
    let group = this.open.get(key);
    if (!group) {
      const timer = this.inFlight.has(key)
        ? undefined
        : setTimeout(() => this.dispatch(key), this.opts.windowMs);
      group = { items: [], timer };
      this.open.set(key, group);
    }
    group.items.push(item);
    if (group.items.length >= this.opts.maxItems) this.dispatch(key);
  }

  private dispatch(key: string): void {
    const group = this.open.get(key);
    if (!group) return;
    this.open.delete(key);
    clearTimeout(group.timer);
    this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
    const settled = () => {
      const left = (this.inFlight.get(key) ?? 1) - 1;
      if (left > 0) {
        this.inFlight.set(key, left);
        return;
      }
      this.inFlight.delete(key);
      // What gathered while the chain was busy goes now (it has waited already).
      if (this.open.has(key)) this.dispatch(key);
    };
    this.send(key, group.items).then(settled, settled);
  }
}
