/**
 * Member request MACs: a member's lookup at another member authenticated with a symmetric key the
 * two share (src/crypto/pairwiseKey.ts: from their Registry X25519 keys, one key per direction)
 * instead of a secp256k1 signature, so the target spends microseconds, not milliseconds, on it.
 * It covers the same canonical message as a signature (memberAuth.ts memberAuthMessage: from, to,
 * method, path with query, body SHA-256, time), is held to the same freshness window and the same
 * single use (one ReplayGuard for both schemes, keyed on the message), and is accepted only from
 * an active member in the Registry.
 *
 *   Authorization: MedchainMemberMac address=0x<EIP-55>,timestamp=<ms>,mac=<64 lowercase hex digits>
 *   mac = HMAC-SHA256(K(caller -> target), memberAuthMessage(caller, target, method, target path, body, timestamp))
 *
 * One spelling only: the checksummed address, a timestamp without leading zeros, the MAC in
 * lowercase hex, fields in this order, nothing else. A MAC is deniable between the two members
 * (either could have made it), so it stands for a signature only where the target keeps no
 * evidence of the request (see docs/api.md, "Member authentication").
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { type Address, getAddress } from 'viem';
import { MEMBER_AUTH_WINDOW_MS, memberAuthMessage } from './memberAuth.js';
import type { ReplayGuard } from './replayGuard.js';

export const MEMBER_MAC_SCHEME = 'MedchainMemberMac';

const HEADER =
  /^MedchainMemberMac address=(0x[0-9a-fA-F]{40}),timestamp=(0|[1-9][0-9]{0,14}),mac=([0-9a-f]{64})$/;

/** The fields of a MAC Authorization header in its one canonical spelling, or undefined. */
export function memberMacFields(
  header: string | undefined,
): { address: Address; timestamp: number; mac: Buffer } | undefined {
  if (!header || header.length > 200) return undefined;
  const m = HEADER.exec(header);
  if (!m) return undefined;
  const [, address, timestamp, mac] = m as unknown as [string, string, string, string];
  if (getAddress(address) !== address) return undefined;
  return { address: address as Address, timestamp: Number(timestamp), mac: Buffer.from(mac, 'hex') };
}

const macOf = (key: Uint8Array, message: string) =>
  createHmac('sha256', key).update(message, 'utf8').digest();

/** The MAC Authorization header `from` sends to `to` for one request (`target`: path with query; `body`: the exact bytes sent). */
export function memberMacHeader(
  key: Uint8Array,
  from: Address,
  to: Address,
  method: string,
  target: string,
  body = '',
  timestamp = Date.now(),
): string {
  const mac = macOf(key, memberAuthMessage(from, to, method, target, body, timestamp)).toString('hex');
  return `${MEMBER_MAC_SCHEME} address=${getAddress(from)},timestamp=${timestamp},mac=${mac}`;
}

/**
 * The key of `caller`'s requests to this member, for its current Registry key, while it is an
 * active member; undefined for anyone else (src/access/memberMacKeys.ts callerKey).
 */
export type CallerMacKey = (caller: Address) => Promise<Uint8Array | undefined>;

/**
 * The calling member when `header` is a fresh, first-used MAC of an active member over exactly this
 * request; undefined otherwise, the same whichever check failed.
 */
export async function verifyMemberMac(
  header: string | undefined,
  self: Address,
  method: string,
  target: string,
  body: string,
  guard: ReplayGuard,
  keyOf: CallerMacKey,
  now = Date.now(),
): Promise<Address | undefined> {
  const f = memberMacFields(header);
  if (!f || Math.abs(now - f.timestamp) > MEMBER_AUTH_WINDOW_MS) return undefined;
  const key = await keyOf(f.address);
  if (!key) return undefined;
  const message = memberAuthMessage(f.address, self, method, target, body, f.timestamp);
  if (!timingSafeEqual(macOf(key, message), f.mac)) return undefined;
  if (!guard.firstUse(message, f.timestamp + MEMBER_AUTH_WINDOW_MS)) return undefined;
  return f.address;
}
