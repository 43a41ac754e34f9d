/**
 * Short-lived bearer tokens (opaque, 256-bit random; only their SHA-256 is kept, in memory) for
 * staff and for patients (who sign in by signing a single-use challenge). A node restart signs
 * everyone out, which is acceptable for 15-minute tokens. The failed sign-in throttle is in
 * loginThrottle.ts.
 */
import { createHmac, hash, randomBytes, timingSafeEqual } from 'node:crypto';
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

/** SHA-256 of a token, hex: one call (a hash object per request cost more than the hashing). */
const sha = (t: string) => hash('sha256', t, 'hex');

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
  /** Nonces of challenges already answered (right or wrong), until their challenge expires. */
  private readonly used = new Map<string, number>();
  private readonly secret = randomBytes(32);

  constructor(
    readonly ttlSeconds = 900,
    private readonly now: () => number = Date.now,
    readonly challengeSeconds = 120,
  ) {
    this.tokens = new TokenStore(ttlSeconds, now);
  }

  private tag(member: Address, patient: Address, random: string, expiresAt: number): string {
    return createHmac('sha256', this.secret)
      .update(`${member}\n${patient}\n${random}\n${expiresAt}`)
      .digest('hex')
      .slice(0, 32);
  }

  /**
   * A fresh single-use challenge for `patient` at `member`. Challenges are stateless (the nonce
   * carries an HMAC under a key of this process), so asking for one never cancels another.
   */
  challenge(member: Address, patient: Address): { challenge: string; expiresAt: number } {
    const expiresAt = this.now() + this.challengeSeconds * 1000;
    const random = randomBytes(16).toString('hex');
    const nonce = `${random}-${this.tag(member, patient, random, expiresAt)}`;
    return { challenge: patientChallengeMessage(member, patient, nonce, expiresAt), expiresAt };
  }

  /**
   * Use up `challenge`: true when this process issued it for `patient` at `member`, it has not
   * expired, and it was not answered before. Any answer, right or wrong, uses it up.
   */
  takeChallenge(member: Address, patient: Address, challenge: string): boolean {
    const m =
      /^medchain patient sign-in\nmember: (0x[0-9a-fA-F]{40})\naddress: (0x[0-9a-fA-F]{40})\nnonce: ([0-9a-f]{32})-([0-9a-f]{32})\nexpires: (\S+)$/.exec(
        challenge,
      );
    if (!m || m[1] !== member || m[2] !== patient) return false;
    const [, , , random, tag, expires] = m as unknown as string[];
    const expiresAt = Date.parse(expires as string);
    const t = this.now();
    if (!Number.isFinite(expiresAt) || expiresAt <= t) return false;
    const expected = Buffer.from(this.tag(member, patient, random as string, expiresAt), 'hex');
    const given = Buffer.from(tag as string, 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
    if (this.used.has(random as string)) return false;
    if (this.used.size > 10_000) for (const [k, e] of this.used) if (e <= t) this.used.delete(k);
    this.used.set(random as string, expiresAt);
    return true;
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

/** The sign-in throttle lives in its own module; re-exported for the composition root. */
export { LoginThrottle } from './loginThrottle.js';
