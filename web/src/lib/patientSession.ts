/**
 * A patient signed in at every member: one challenge signature per member (the key stays in the
 * browser), a token per member, and a silent fresh sign-in when a token expires.
 */
import { getAddress } from 'viem';
import { ApiError, type CallOptions, call } from './api.js';
import type { Member } from './chain.js';
import type { UnlockedKey } from './keyVault.js';

export async function signInAt(member: Member, key: UnlockedKey): Promise<string> {
  const c = await call<{ challenge: string }>(member.endpoint, '/auth/patient/challenge', {
    method: 'POST',
    body: { address: key.address },
    who: member.name,
  });
  // Sign only a challenge meant for this member and this patient, so it cannot be used elsewhere.
  const lines = c.challenge.split('\n');
  if (
    lines.length !== 5 ||
    lines[0] !== 'medchain patient sign-in' ||
    lines[1] !== `member: ${getAddress(member.address)}` ||
    lines[2] !== `address: ${key.address}` ||
    !/^nonce: [0-9a-f]{32}-[0-9a-f]{32}$/.test(lines[3] ?? '') ||
    !/^expires: \d{4}-\d\d-\d\dT[\d:.]+Z$/.test(lines[4] ?? '')
  ) {
    throw new ApiError('invalid', `${member.name} sent a sign-in challenge that is not for it; not signed`);
  }
  const signature = await key.account.signMessage({ message: c.challenge });
  const r = await call<{ access_token: string }>(member.endpoint, '/auth/patient/login', {
    method: 'POST',
    body: { address: key.address, challenge: c.challenge, signature },
    who: member.name,
  });
  return r.access_token;
}

export class PatientSessions {
  private readonly tokens = new Map<string, string>();
  constructor(readonly key: UnlockedKey) {}

  /** Call a member as the patient; signs in first, and again once if the token has expired. */
  async call<T>(member: Member, path: string, opts: CallOptions = {}): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let token = this.tokens.get(member.address);
      if (!token) {
        token = await signInAt(member, this.key);
        this.tokens.set(member.address, token);
      }
      try {
        return await call<T>(member.endpoint, path, { ...opts, token, who: member.name });
      } catch (err) {
        if (err instanceof ApiError && err.kind === 'expired' && attempt === 0) {
          this.tokens.delete(member.address);
          continue;
        }
        throw err;
      }
    }
  }
}
