/**
 * Member-to-member requests are signed with the calling member's chain key (EIP-191) over the
 * target member, the method, the path with its query, the SHA-256 of the body and the time; the
 * target checks the signer is an active member in the Registry and refuses a signature it has seen
 * before. So a captured header cannot be replayed, nor reused for another request or another node.
 *
 *   Authorization: MedchainMember address=0x...,timestamp=<ms>,signature=0x...
 *   message: "medchain member request\nfrom: <caller>\nto: <target>\n<METHOD> <path?query>\nbody: <sha256 hex>\ntimestamp: <ms>"
 */
import { createHash } from 'node:crypto';
import { type Address, getAddress, type Hex, isAddress, isHex, type LocalAccount, verifyMessage } from 'viem';

export const MEMBER_AUTH_WINDOW_MS = 2 * 60_000;

const bodyHash = (body: string) => createHash('sha256').update(body, 'utf8').digest('hex');

export function memberAuthMessage(
  from: Address,
  to: Address,
  method: string,
  target: string,
  body: string,
  timestamp: number,
): string {
  return `medchain member request\nfrom: ${getAddress(from)}\nto: ${getAddress(to)}\n${method.toUpperCase()} ${target}\nbody: ${bodyHash(body)}\ntimestamp: ${timestamp}`;
}

/** The Authorization header for a request to `target` (path with query) carrying `body` (exact bytes sent). */
export async function memberAuthHeader(
  caller: LocalAccount,
  to: Address,
  method: string,
  target: string,
  body = '',
  timestamp = Date.now(),
): Promise<string> {
  const signature = await caller.signMessage({
    message: memberAuthMessage(caller.address, to, method, target, body, timestamp),
  });
  return `MedchainMember address=${caller.address},timestamp=${timestamp},signature=${signature}`;
}

/** Remembers accepted signatures for the validity window, so none is accepted twice. */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();
  constructor(private readonly now: () => number = Date.now) {}
  /** True the first time a signature is offered within its window; false for a repeat. */
  firstUse(signature: string): boolean {
    const t = this.now();
    if (this.seen.size > 50_000) for (const [k, exp] of this.seen) if (exp < t) this.seen.delete(k);
    const exp = this.seen.get(signature);
    if (exp !== undefined && exp >= t) return false;
    this.seen.set(signature, t + 2 * MEMBER_AUTH_WINDOW_MS);
    return true;
  }
}

/** The calling member's address when the header is a valid, fresh signature for exactly this request. */
export async function verifyMemberAuth(
  header: string | undefined,
  self: Address,
  method: string,
  target: string,
  body: string,
  guard: ReplayGuard,
  now = Date.now(),
): Promise<Address | undefined> {
  if (!header?.startsWith('MedchainMember ')) return undefined;
  const f = Object.fromEntries(
    header
      .slice('MedchainMember '.length)
      .split(',')
      .map((kv) => kv.trim().split('=') as [string, string]),
  ) as { address?: string; timestamp?: string; signature?: string };
  if (
    !f.address ||
    !isAddress(f.address) ||
    !f.timestamp ||
    !/^\d{1,15}$/.test(f.timestamp) ||
    !f.signature ||
    !isHex(f.signature)
  ) {
    return undefined;
  }
  const ts = Number(f.timestamp);
  if (Math.abs(now - ts) > MEMBER_AUTH_WINDOW_MS) return undefined;
  const ok = await verifyMessage({
    address: f.address,
    message: memberAuthMessage(f.address, self, method, target, body, ts),
    signature: f.signature as Hex,
  }).catch(() => false);
  if (!ok || !guard.firstUse(f.signature.toLowerCase())) return undefined;
  return getAddress(f.address);
}
