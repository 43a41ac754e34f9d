/**
 * The one member-to-member HTTP client: POSTs a JSON body to another member's node, authorized
 * over exactly the bytes sent, with a timeout, and classifies the result so callers never parse
 * transport errors themselves. Two ways to authorize (docs/api.md, "Member authentication"):
 *
 *   postSigned  the `MedchainMember` signature (src/access/memberAuth.ts): for what the target
 *               keeps as evidence of the request (claims, shipment and incident notices, replica
 *               pushes); non-repudiable
 *   postLookup  a `MedchainMemberMac` (src/access/memberMac.ts) when this member has its MAC keys
 *               and can make one the target accepts, else the signature: for lookups and reads
 */
import { Agent, request } from 'undici';
import type { Address, LocalAccount } from 'viem';
import { memberAuthHeader } from '../access/memberAuth.js';
import type { MemberMacKeys } from '../access/memberMacKeys.js';

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

/** How a member authenticates its lookups: MACs when it has its MAC keys, else its signature. */
export interface LookupCaller {
  signer: LocalAccount;
  /** This member's pairwise MAC keys (the node wires them once); without them lookups are signed. */
  macs?: MemberMacKeys;
}

/** POST `payload` (already serialized) to `path` at `target`, signed by `signer`. */
export async function postSigned(
  signer: LocalAccount,
  target: MemberTarget,
  path: string,
  payload: string,
  timeoutMs = 10_000,
): Promise<MemberReply> {
  return post(
    target,
    path,
    payload,
    await memberAuthHeader(signer, target.address, 'POST', path, payload),
    timeoutMs,
  );
}

/**
 * POST a lookup (a read the target keeps no evidence of) with a MAC, or signed when no MAC can be
 * made; `target.encryptionKey` (its Registry key, as a MemberInfo carries it) saves a read.
 */
export async function postLookup(
  caller: LookupCaller,
  target: MemberTarget & { encryptionKey?: Uint8Array },
  path: string,
  payload: string,
  timeoutMs = 10_000,
): Promise<MemberReply> {
  // A chain that does not answer now leaves the signature, which needs none at this end.
  const mac = await caller.macs?.headerFor(target, 'POST', path, payload).catch(() => undefined);
  const authorization = mac ?? (await memberAuthHeader(caller.signer, target.address, 'POST', path, payload));
  return post(target, path, payload, authorization, timeoutMs);
}

/** An answer larger than this is not a member's answer (a cross-member search of the most records is far less). */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/**
 * Kept-alive connections to the other members, through undici's request API rather than fetch:
 * fetch's WHATWG Request, Response and streams cost about four times the CPU per call (measured
 * side by side, a 3 KB POST to a local server, both ends: 281 µs against 103 µs, bench/httpClients.ts), on every
 * cross-member read and claim.
 */
const members = new Agent({ maxResponseSize: MAX_ANSWER_BYTES });

async function post(
  target: MemberTarget,
  path: string,
  payload: string,
  authorization: string,
  timeoutMs: number,
): Promise<MemberReply> {
  let status: number;
  let body: unknown;
  try {
    const r = await request(`${target.endpoint.replace(/\/$/, '')}${path}`, {
      dispatcher: members,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      body: payload,
      // The whole exchange, the answer's body included, within timeoutMs.
      signal: AbortSignal.timeout(timeoutMs),
    });
    status = r.statusCode;
    body = await r.body.json();
  } catch {
    return { kind: 'unreachable', message: `${target.name || target.address} did not answer` };
  }
  if (status >= 200 && status < 300) return { kind: 'ok', status, body };
  const text = (body as { issue?: { details?: { text?: string } }[] })?.issue?.[0]?.details?.text;
  return { kind: 'refused', status, message: text ?? `status ${status}`, body };
}
