/**
 * Short-lived bearer tokens (opaque, 256-bit random; only their SHA-256 is kept, in memory) and
 * the failed-login throttle. A node restart signs everyone out, which is acceptable for
 * 15-minute tokens.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { UserRole } from './roles.js';

export interface Session {
  userId: string;
  role: UserRole;
  expiresAt: number;
}

const sha = (t: string) => createHash('sha256').update(t).digest('hex');

export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    readonly ttlSeconds = 900,
    private readonly now: () => number = Date.now,
  ) {}

  issue(userId: string, role: UserRole): { token: string; expiresIn: number } {
    const token = randomBytes(32).toString('base64url');
    this.sessions.set(sha(token), { userId, role, expiresAt: this.now() + this.ttlSeconds * 1000 });
    if (this.sessions.size > 10_000) this.sweep();
    return { token, expiresIn: this.ttlSeconds };
  }

  /** The live session of `token`, or undefined (unknown or expired). */
  get(token: string): Session | undefined {
    const key = sha(token);
    const s = this.sessions.get(key);
    if (!s) return undefined;
    if (s.expiresAt <= this.now()) {
      this.sessions.delete(key);
      return undefined;
    }
    return s;
  }

  private sweep(): void {
    const t = this.now();
    for (const [k, s] of this.sessions) if (s.expiresAt <= t) this.sessions.delete(k);
  }
}

/**
 * Failed-login throttle: after `maxFailures` failures for a username or a client address within
 * `windowMs`, further attempts are refused until the window has passed.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures = 5,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  private recent(key: string): number[] {
    const t = this.now();
    const list = (this.failures.get(key) ?? []).filter((x) => x > t - this.windowMs);
    if (list.length === 0) this.failures.delete(key);
    else this.failures.set(key, list);
    return list;
  }

  /** Seconds to wait before another attempt, or 0 when allowed. */
  retryAfter(keys: readonly string[]): number {
    let wait = 0;
    for (const k of keys) {
      const list = this.recent(k);
      if (list.length >= this.maxFailures) {
        wait = Math.max(wait, Math.ceil(((list[0] as number) + this.windowMs - this.now()) / 1000));
      }
    }
    return wait;
  }

  fail(keys: readonly string[]): void {
    for (const k of keys) this.failures.set(k, [...this.recent(k), this.now()]);
  }

  succeed(keys: readonly string[]): void {
    for (const k of keys) this.failures.delete(k);
  }
}
