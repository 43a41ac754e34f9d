/**
 * Group commit for the claims chain writes (ClaimBatcher, DecisionRecorder): items are gathered
 * per key and handed to `send` as one group. A group waits at most `windowMs` while nothing of
 * its key is being sent; while a group of its key is in flight (its transaction being mined), the
 * next one gathers and is sent the moment that one settles, or as soon as it holds `maxItems`.
 * So a lone claim pays no fixed wait, and under load a batch holds what arrived while the chain
 * was busy (as a database's group commit), never one transaction per claim.
 *
 * A group whose size is known in advance (`add` with `expected`: the insurer's decisions on the
 * claims of one provider batch, whose claim count is on chain) goes the moment it is complete;
 * while it is not, it waits until `windowMs` pass with no new item, at most `maxWaitMs` in all,
 * so the decisions on one batch go as one transaction even when they are made one after another.
 */
export interface GroupCommitOptions {
  /** The longest a group waits for more items while its key is idle (or, with `expected`, between items). */
  windowMs: number;
  /** A group is sent as soon as it holds this many items. */
  maxItems: number;
  /** With `expected`: the longest a group waits in all. Default 20 × windowMs. */
  maxWaitMs?: number;
}

interface Group<T> {
  items: T[];
  timer: NodeJS.Timeout | undefined;
  /** How many items complete the group, when known. */
  expected?: number;
  /** When its first item came (for maxWaitMs). */
  since: number;
}

/** Gathers items per key; `send` gets each group once and must settle (it never rejects here). */
export class GroupCommit<T> {
  private readonly open = new Map<string, Group<T>>();
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly send: (key: string, items: T[]) => Promise<void>,
    private readonly opts: GroupCommitOptions,
  ) {}

  /**
   * Add `item` to the open group of `key`. `expected` (given with the group's first item): the
   * number of items that complete it.
   */
  add(key: string, item: T, expected?: number): void {
    let group = this.open.get(key);
    if (!group) {
      group = { items: [], timer: undefined, since: performance.now() };
      if (expected !== undefined && expected > 0) group.expected = expected;
      else if (!this.inFlight.has(key))
        group.timer = setTimeout(() => this.dispatch(key), this.opts.windowMs);
      this.open.set(key, group);
    }
    group.items.push(item);
    if (group.items.length >= Math.min(this.opts.maxItems, group.expected ?? Number.POSITIVE_INFINITY)) {
      this.dispatch(key);
      return;
    }
    if (group.expected !== undefined) {
      // Waits for the rest: until windowMs pass with no new item, maxWaitMs in all.
      clearTimeout(group.timer);
      const left = (this.opts.maxWaitMs ?? 20 * this.opts.windowMs) - (performance.now() - group.since);
      group.timer = setTimeout(() => this.dispatch(key), Math.max(0, Math.min(this.opts.windowMs, left)));
    }
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
      // What gathered while the chain was busy goes now (it has waited already); a group of a
      // known size keeps waiting for the rest of its items (its own timer).
      const next = this.open.get(key);
      if (next && next.expected === undefined) this.dispatch(key);
    };
    this.send(key, group.items).then(settled, settled);
  }
}
