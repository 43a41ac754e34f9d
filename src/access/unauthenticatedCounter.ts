/**
 * Requests that carry no valid credential at all (no token, an unknown one, a bad member or
 * patient signature) are counted here per client address instead of being logged one by one:
 * logging each would let anyone make the node fsync at will and fill a patient's access list with
 * noise. A client that fails too often in a minute is refused (429) before any signature is
 * checked. The counts reach the transparency log as one summary entry per interval at most, and
 * the admin view shows the current ones.
 */
import { RateLimiter } from './rateLimiter.js';

/** Totals of unauthenticated attempts: failures (401 and the like) and refusals (429). */
export interface AuthFailureCounts {
  failures: number;
  refused: number;
}

/** What the admin view shows (GET /admin/auth-failures). */
export interface AuthFailureSnapshot {
  /** Failures one client may cause per window before it is refused. */
  limit: number;
  windowSeconds: number;
  /** Since this counter started (ms since the epoch). */
  since: number;
  total: AuthFailureCounts;
  /** Not yet summarized into the log. */
  unsummarized: AuthFailureCounts;
  /** When the last summary entry was written (ms), or null. */
  lastSummaryAt: number | null;
  /** Clients with failures in their current window, most failures first (at most 50). */
  clients: { client: string; failures: number; retryAfter: number }[];
}

/** Per-client counts of unauthenticated failures, with the refusal threshold and log summaries. */
export class UnauthenticatedCounter {
  readonly summaryIntervalMs: number;
  private readonly perClient: RateLimiter;
  private readonly now: () => number;
  private readonly since: number;
  private readonly total: AuthFailureCounts = { failures: 0, refused: 0 };
  private pending: AuthFailureCounts = { failures: 0, refused: 0 };
  private lastSummaryAt: number | null = null;

  constructor(
    opts: {
      /** Failures per client per window before it is refused (default 20). */
      limit?: number;
      windowMs?: number;
      /** Summaries are written at most this often (default one minute). */
      summaryIntervalMs?: number;
      maxClients?: number;
      now?: () => number;
    } = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.perClient = new RateLimiter(opts.limit ?? 20, opts.windowMs ?? 60_000, this.now, opts.maxClients);
    this.summaryIntervalMs = opts.summaryIntervalMs ?? 60_000;
    this.since = this.now();
  }

  /** Whole seconds `client` must wait before an unauthenticated request is looked at, or 0. */
  retryAfter(client: string): number {
    return this.perClient.retryAfter(client);
  }

  /** Count a failure of `client` that had no valid credential. */
  fail(client: string): void {
    this.perClient.hit(client);
    this.total.failures += 1;
    this.pending.failures += 1;
  }

  /** Count a request of `client` refused with 429 before it was looked at. */
  refused(_client: string): void {
    this.total.refused += 1;
    this.pending.refused += 1;
  }

  /** The current counts, for the admin view. */
  snapshot(): AuthFailureSnapshot {
    return {
      limit: this.perClient.limit,
      windowSeconds: this.perClient.windowMs / 1000,
      since: this.since,
      total: { ...this.total },
      unsummarized: { ...this.pending },
      lastSummaryAt: this.lastSummaryAt,
      clients: this.perClient
        .top(50)
        .map(({ key, count, retryAfter }) => ({ client: key, failures: count, retryAfter })),
    };
  }

  /**
   * Write one summary with `write` when there is something new and the last summary is at least an
   * interval old (or `force`, e.g. at shutdown). When `write` fails, the counts stay for the next
   * summary. Returns whether a summary was written.
   */
  async summarize(write: (counts: AuthFailureCounts) => Promise<void>, force = false): Promise<boolean> {
    const counts = this.pending;
    if (counts.failures + counts.refused === 0) return false;
    const t = this.now();
    if (!force && this.lastSummaryAt !== null && t - this.lastSummaryAt < this.summaryIntervalMs)
      return false;
    this.pending = { failures: 0, refused: 0 };
    this.lastSummaryAt = t; // before the write: two calls in a row write one summary
    try {
      await write(counts);
      return true;
    } catch {
      this.pending.failures += counts.failures;
      this.pending.refused += counts.refused;
      return false;
    }
  }
}
