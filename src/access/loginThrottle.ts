/**
 * Sign-in throttle with growing back-off (OWASP Authentication Cheat Sheet: throttle, do not lock).
 * Failures are counted under three keys, each with its own allowance:
 *
 *   - the account at one client address (5 failures, then 1 s, 2 s, 4 s ... up to 15 min),
 *   - the client address across accounts (20 failures: one address trying many accounts),
 *   - the account across all addresses (100 failures: a guess spread over many addresses).
 *
 * A stranger's failures on account X count under the stranger's keys and X's account-wide key
 * only; the account-wide key is not applied at addresses that recently signed in to X, so
 * strangers cannot lock X out from X's own address. A success clears only its (account, address)
 * key and takes back its own count on the other two, so signing in to one's own account does not
 * reset an address's failures elsewhere. Every attempt is counted before the slow credential
 * check (as a failure, taken back on success), so parallel guesses cannot slip past the limit.
 */

/** How many failures a key allows and how the wait grows after that. */
export interface BackoffPolicy {
  /** Failures allowed before the first wait. */
  free: number;
  /** The wait after the `free`-th failure; it doubles with each further failure. */
  firstWaitMs: number;
  maxWaitMs: number;
  /** A key with no failure for this long (and no wait left) is forgotten. */
  forgetMs: number;
}

export const PAIR_POLICY: BackoffPolicy = {
  free: 5,
  firstWaitMs: 1000,
  maxWaitMs: 15 * 60_000,
  forgetMs: 3_600_000,
};
export const CLIENT_POLICY: BackoffPolicy = { ...PAIR_POLICY, free: 20 };
export const ACCOUNT_POLICY: BackoffPolicy = { ...PAIR_POLICY, free: 100 };

/** The answer to "may this client try to sign in to this account now?". */
export type SignInAdmission =
  | {
      admitted: true;
      /** Call after a good sign-in: clears the (account, client) key and takes this attempt back. */
      succeeded: () => void;
    }
  | {
      admitted: false;
      /** Whole seconds to wait (for Retry-After), at least 1. */
      retryAfter: number;
      /** True for the first refusal since the failure that caused the wait (worth logging once). */
      firstRefusal: boolean;
    };

interface Failures {
  count: number;
  /** Time of the latest failure (ms). */
  last: number;
  refused: boolean;
}

/** The failure counts of sign-ins, with growing waits; in memory, bounded by `maxKeys`. */
export class LoginThrottle {
  private readonly failures = new Map<string, Failures>();
  /** (account, client) pairs with a recent good sign-in, until when they are trusted. */
  private readonly trusted = new Map<string, number>();
  private readonly pair: BackoffPolicy;
  private readonly client: BackoffPolicy;
  private readonly account: BackoffPolicy;
  private readonly now: () => number;
  private readonly maxKeys: number;
  private readonly trustMs: number;

  constructor(
    opts: {
      pair?: Partial<BackoffPolicy>;
      client?: Partial<BackoffPolicy>;
      account?: Partial<BackoffPolicy>;
      /** How long a good sign-in exempts its address from the account-wide key (default 30 days). */
      trustMs?: number;
      maxKeys?: number;
      now?: () => number;
    } = {},
  ) {
    this.pair = { ...PAIR_POLICY, ...opts.pair };
    this.client = { ...CLIENT_POLICY, ...opts.client };
    this.account = { ...ACCOUNT_POLICY, ...opts.account };
    this.trustMs = opts.trustMs ?? 30 * 24 * 3_600_000;
    this.maxKeys = opts.maxKeys ?? 100_000;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Admit or refuse an attempt of `client` (an IP address) on `account` (e.g. `user:<name>` or
   * `patient:<address>`). An admitted attempt is already counted as a failure; call `succeeded`
   * when the credentials were good.
   */
  admit(account: string, client: string): SignInAdmission {
    const t = this.now();
    const pairKey = `pair:${account}\n${client}`;
    const keys: [string, BackoffPolicy][] = [
      [pairKey, this.pair],
      [`client:${client}`, this.client],
    ];
    if ((this.trusted.get(pairKey) ?? 0) <= t) keys.push([`account:${account}`, this.account]);
    let waitMs = 0;
    let firstRefusal = false;
    for (const [key, policy] of keys) {
      const f = this.live(key, policy, t);
      const w = f ? f.last + waitAfter(f.count, policy) - t : 0;
      if (w <= 0 || !f) continue;
      waitMs = Math.max(waitMs, w);
      if (!f.refused) firstRefusal = true;
      f.refused = true;
    }
    if (waitMs > 0)
      return { admitted: false, retryAfter: Math.max(1, Math.ceil(waitMs / 1000)), firstRefusal };

    const clientKey = `client:${client}`;
    const accountKey = `account:${account}`;
    this.count(pairKey, t);
    const undoClient = this.count(clientKey, t);
    const undoAccount = this.count(accountKey, t);
    return {
      admitted: true,
      succeeded: () => {
        this.failures.delete(pairKey);
        undoClient();
        undoAccount();
        this.trusted.delete(pairKey);
        this.trusted.set(pairKey, this.now() + this.trustMs);
        if (this.trusted.size > this.maxKeys) this.trusted.delete(this.trusted.keys().next().value as string);
      },
    };
  }

  /** How many keys are held (for tests of the memory bound). */
  get size(): number {
    return this.failures.size + this.trusted.size;
  }

  /** The failures of `key`, or undefined when there are none or they are forgotten. */
  private live(key: string, policy: BackoffPolicy, t: number): Failures | undefined {
    const f = this.failures.get(key);
    if (f && forgotten(f, policy, t)) {
      this.failures.delete(key);
      return undefined;
    }
    return f;
  }

  /** Count one failure under `key` now; returns a function that takes exactly this one back. */
  private count(key: string, t: number): () => void {
    const policy = this.policyOf(key);
    const f = this.live(key, policy, t) ?? { count: 0, last: 0, refused: false };
    const before = f.last;
    f.count += 1;
    f.last = t;
    f.refused = false;
    this.failures.delete(key); // re-insert: the Map's order is then oldest-updated first
    this.failures.set(key, f);
    if (this.failures.size > this.maxKeys) this.sweep(t);
    return () => {
      const g = this.failures.get(key);
      if (g !== f) return; // forgotten or evicted meanwhile
      g.count -= 1;
      if (g.last === t) g.last = before;
      if (g.count <= 0) this.failures.delete(key);
    };
  }

  private policyOf(key: string): BackoffPolicy {
    if (key.startsWith('pair:')) return this.pair;
    return key.startsWith('client:') ? this.client : this.account;
  }

  private sweep(t: number): void {
    for (const [k, f] of this.failures) if (forgotten(f, this.policyOf(k), t)) this.failures.delete(k);
    // Still over the bound (a flood of distinct names or addresses): drop the least recently failed.
    for (const k of this.failures.keys()) {
      if (this.failures.size <= this.maxKeys) break;
      this.failures.delete(k);
    }
    for (const [k, until] of this.trusted) if (until <= t) this.trusted.delete(k);
  }
}

/** The wait after the `count`-th failure: none within the allowance, then doubling up to the cap. */
export function waitAfter(count: number, policy: BackoffPolicy): number {
  if (count < policy.free) return 0;
  const doublings = Math.min(count - policy.free, 40);
  return Math.min(policy.firstWaitMs * 2 ** doublings, policy.maxWaitMs);
}

function forgotten(f: Failures, policy: BackoffPolicy, t: number): boolean {
  return t - f.last > Math.max(policy.forgetMs, waitAfter(f.count, policy));
}
