/**
 * The one member-signed HTTP client: POSTs a JSON body to another member's node with the
 * `MedchainMember` authorization (src/access/memberAuth.ts) over exactly the bytes sent, with a
 * timeout, and classifies the result so callers never parse transport errors themselves.
 */
import type { Address, LocalAccount } from 'viem';
import { memberAuthHeader } from '../access/memberAuth.js';

export type MemberReply =
  | { kind: 'ok'; status: number; body: unknown }
  /** The member answered with an error status (401: it does not accept us; 403: refused; ...). */
  | { kind: 'refused'; status: number; message: string; body: unknown }
  /** No answer (connection refused, timeout, not JSON). */
  | { kind: 'unreachable'; message: string };

export interface MemberTarget {
  address: Address;
  endpoint: string;
  name: string;
}

/** Whether a Registry endpoint is one this client may call. */
export const callable = (m: { endpoint: string }): boolean => /^https?:\/\//.test(m.endpoint);

/** POST `payload` (already serialized) to `path` at `target`, signed by `signer`. */
export async function postSigned(
  signer: LocalAccount,
  target: MemberTarget,
  path: string,
  payload: string,
  timeoutMs = 10_000,
): Promise<MemberReply> {
  let r: Response;
  let body: unknown;
  try {
    r = await fetch(`${target.endpoint.replace(/\/$/, '')}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: await memberAuthHeader(signer, target.address, 'POST', path, payload),
      },
      body: payload,
      signal: AbortSignal.timeout(timeoutMs),
    });
    body = await r.json();
  } catch {
    return { kind: 'unreachable', message: `${target.name || target.address} did not answer` };
  }
  if (r.ok) return { kind: 'ok', status: r.status, body };
  const text = (body as { issue?: { details?: { text?: string } }[] })?.issue?.[0]?.details?.text;
  return { kind: 'refused', status: r.status, message: text ?? `status ${r.status}`, body };
}
