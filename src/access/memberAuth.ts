/**
 * Member-to-member requests are signed with the calling member's chain key (EIP-191), naming the
 * target member, the method and path, and the time; the target checks the signer is an active
 * member in the Registry. Replays are bounded by the time window and tied to one target and path.
 *
 *   Authorization: MedchainMember address=0x...,timestamp=<ms>,signature=0x...
 *   message: "medchain member request\nfrom: <caller>\nto: <target>\n<METHOD> <path>\ntimestamp: <ms>"
 */
import { type Address, getAddress, type Hex, isAddress, isHex, type LocalAccount, verifyMessage } from 'viem';

export const MEMBER_AUTH_WINDOW_MS = 2 * 60_000;

export function memberAuthMessage(
  from: Address,
  to: Address,
  method: string,
  path: string,
  timestamp: number,
): string {
  return `medchain member request\nfrom: ${getAddress(from)}\nto: ${getAddress(to)}\n${method.toUpperCase()} ${path}\ntimestamp: ${timestamp}`;
}

export async function memberAuthHeader(
  caller: LocalAccount,
  target: Address,
  method: string,
  path: string,
  timestamp = Date.now(),
): Promise<string> {
  const signature = await caller.signMessage({
    message: memberAuthMessage(caller.address, target, method, path, timestamp),
  });
  return `MedchainMember address=${caller.address},timestamp=${timestamp},signature=${signature}`;
}

/** The calling member's address when the header is a valid, fresh signature for this request. */
export async function verifyMemberAuth(
  header: string | undefined,
  self: Address,
  method: string,
  path: string,
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
    message: memberAuthMessage(f.address, self, method, path, ts),
    signature: f.signature as Hex,
  }).catch(() => false);
  return ok ? getAddress(f.address) : undefined;
}
