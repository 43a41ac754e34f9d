/** The member's users: pseudonymous id, username, role and scrypt password hash. */
import { randomUUID } from 'node:crypto';
import { type Db, StoreError } from './database.js';

export interface User {
  /** Pseudonymous id used in logs (never the username). */
  id: string;
  username: string;
  /** A user role (src/access/roles.ts); checked by the sign-in, not here. */
  role: string;
  passwordHash: string;
  disabled: boolean;
}

export const USERNAME = /^[a-z0-9][a-z0-9._-]{1,63}$/;

export class UserStore {
  constructor(private readonly db: Db) {}

  add(username: string, role: string, passwordHash: string): User {
    if (!USERNAME.test(username)) {
      throw new StoreError(
        'bad-username',
        'usernames are 2-64 characters: lowercase letters, digits, ".", "_" or "-"',
      );
    }
    const id = randomUUID();
    try {
      this.db
        .prepare('INSERT INTO users (id, username, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)')
        .run(id, username, role, passwordHash, Date.now());
    } catch (cause) {
      if (String((cause as Error).message).includes('UNIQUE')) {
        throw new StoreError('user-exists', `user "${username}" already exists`, { cause });
      }
      throw cause;
    }
    return { id, username, role, passwordHash, disabled: false };
  }

  byUsername(username: string): User | undefined {
    const r = this.db.prepare('SELECT * FROM users WHERE username = ?').get(username) as
      | { id: string; username: string; role: string; password_hash: string; disabled: number }
      | undefined;
    return (
      r && {
        id: r.id,
        username: r.username,
        role: r.role,
        passwordHash: r.password_hash,
        disabled: r.disabled === 1,
      }
    );
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n;
  }
}
