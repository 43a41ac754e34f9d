/**
 * Short-lived bearer tokens (opaque, 256-bit random; only their SHA-256 is kept, in memory) for
 * staff and for patients (who sign in by signing a single-use challenge), and the failed-login
 * throttle. A node restart signs everyone out, which is acceptable for
 * 15-minute tokens.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Address } from 'viem';
import type { UserRole } from './roles.js';

export interface Session {
  userId: string;
  role: UserRole;
  expiresAt: number;
}

/** A patient signed in by signing a challenge with the key of their chain address. */
export interface PatientSession {
  patient: Address;
  expiresAt: number;
}

const sha = (t: string) => createHash('sha256').update(t).digest('hex');

/** Opaque bearer tokens mapped to what they stand for; only the tokens' SHA-256 is kept. */
class TokenStore<T extends { expiresAt: number }> {
  private readonly items = new Map<string, T>();

  constructor(
    readonly ttlSeconds: number,
    private readonly now: () => number,
  ) {}

  issue(value: Omit<T, 'expiresAt'>): { token: string; expiresIn: number } {
    const token = randomBytes(32).toString('base64url');
    this.items.set(sha(token), { ...value, expiresAt: this.now() + this.ttlSeconds * 1000 } as T);
    if (this.items.size > 10_000) this.sweep();
    return { token, expiresIn: this.ttlSeconds };
  }

  get(token: string): T | undefined {
    const key = sha(token);
    const s = this.items.get(key);
    if (!s) return undefined;
    if (s.expiresAt <= this.now()) {
      this.items.delete(key);
      return undefined;
    }
    return s;
  }

  private sweep(): void {
    const t = this.now();
    for (const [k, s] of this.items) if (s.expiresAt <= t) this.items.delete(k);
  }
}

/** Sessions of users of this member (staff), issued at POST /auth/login. */
export class SessionStore {
  private readonly tokens: TokenStore<Session>;

  constructor(
    readonly ttlSeconds = 900,
    now: () => number = Date.now,
  ) {
    this.tokens = new TokenStore(ttlSeconds, now);
  }

  issue(userId: string, role: UserRole): { token: string; expiresIn: number } {
    return this.tokens.issue({ userId, role });
  }

  /** The live session of `token`, or undefined (unknown or expired). */
  get(token: string): Session | undefined {
    return this.tokens.get(token);
  }
}

/** Sessions of patients, issued at POST /auth/patient/login against a signed challenge. */
export class PatientSessionStore {
  private readonly tokens: TokenStore<PatientSession>;
  private readonly challenges = new Map<Address, { challenge: string; expiresAt: number }>();

  constructor(
    readonly ttlSeconds = 900,
    private readonly now: () => number = Date.now,
    readonly challengeSeconds = 120,
  ) {
    this.tokens = new TokenStore(ttlSeconds, now);
  }

  /** A fresh single-use challenge for `patient`; it replaces any earlier one. */
  challenge(member: Address, patient: Address): { challenge: string; expiresAt: number } {
    const expiresAt = this.now() + this.challengeSeconds * 1000;
    const challenge = patientChallengeMessage(member, patient, randomBytes(16).toString('hex'), expiresAt);
    if (this.challenges.size > 10_000) {
      for (const [k, c] of this.challenges) if (c.expiresAt <= this.now()) this.challenges.delete(k);
    }
    this.challenges.set(patient, { challenge, expiresAt });
    return { challenge, expiresAt };
  }

  /** Take (and so use up) the live challenge of `patient`, if any. */
  takeChallenge(patient: Address): string | undefined {
    const c = this.challenges.get(patient);
    this.challenges.delete(patient);
    return c && c.expiresAt > this.now() ? c.challenge : undefined;
  }

  issue(patient: Address): { token: string; expiresIn: number } {
    return this.tokens.issue({ patient });
  }

  get(token: string): PatientSession | undefined {
    return this.tokens.get(token);
  }
}

/** The text a patient signs (EIP-191) to sign in at a member. */
export function patientChallengeMessage(
  member: Address,
  patient: Address,
  nonce: string,
  expiresAt: number,
): string {
  return `medchain patient sign-in\nmember: ${member}\naddress: ${patient}\nnonce: ${nonce}\nexpires: ${new Date(expiresAt).toISOString()}`;
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
