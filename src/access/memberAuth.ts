/**
 * Member-to-member requests are signed with the calling member's chain key (EIP-191) over the
 * target member, the method, the path with its query, the SHA-256 of the body and the time; the
 * target checks the signer is an active member in the Registry and refuses a message it has seen
 * before. So a captured header cannot be replayed, nor reused for another request or another node.
 *
 *   Authorization: MedchainMember address=0x...,timestamp=<ms>,signature=0x...
 *   message: "medchain member request\nfrom: <caller>\nto: <target>\n<METHOD> <path?query>\nbody: <sha256 hex>\ntimestamp: <ms>"
 *
 * Only the canonical signature encoding is accepted (65 bytes, v 27/28, low s: see
 * src/crypto/canonicalSignature.ts), and single use is keyed on the signed message, so a
 * re-encoded signature of a used message is refused too.
 */
import { type Address, getAddress, type LocalAccount } from 'viem';
import { isMessageSignedBy } from '../crypto/signatureSigner.js';
import { bodyHash, signedHeaderFields } from './_signedHeader.js';
import type { ReplayGuard } from './replayGuard.js';

export const MEMBER_AUTH_WINDOW_MS = 2 * 60_000;

/** The text a member signs for one request (see the module comment). */
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

/** The calling member's address when the header is a valid, fresh, first-used signature for exactly this request. */
export async function verifyMemberAuth(
  header: string | undefined,
  self: Address,
  method: string,
  target: string,
  body: string,
  guard: ReplayGuard,
  now = Date.now(),
): Promise<Address | undefined> {
  const f = signedHeaderFields(header, 'MedchainMember');
  if (!f || Math.abs(now - f.timestamp) > MEMBER_AUTH_WINDOW_MS) return undefined;
  const message = memberAuthMessage(f.address, self, method, target, body, f.timestamp);
  const ok = isMessageSignedBy(f.address, message, f.signature);
  if (!ok || !guard.firstUse(message, f.timestamp + MEMBER_AUTH_WINDOW_MS)) return undefined;
  return f.address;
}
