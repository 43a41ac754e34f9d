/**
 * A patient proves who they are, request by request, by signing with the key of their chain
 * address (EIP-191 personal_sign) a message naming this member, their address, the request
 * (method, path with query, SHA-256 of the body) and the time. Used for the accounting of
 * disclosures and the patient's own records; the node never holds the patient's key.
 *
 *   Authorization: MedchainPatient address=0x...,timestamp=<ms>,signature=0x...
 *   message: "medchain patient request\nmember: <member>\naddress: <patient>\n<METHOD> <path?query>\nbody: <sha256 hex>\ntimestamp: <ms>"
 *
 * A header is good for one request only: the node remembers the messages it accepted until they
 * are stale (5 minutes), and accepts timestamps at most 5 minutes old and at most 30 seconds ahead
 * of its clock. Only the canonical signature encoding is accepted (65 bytes, v 27/28, low s).
 */
import { type Address, getAddress, type LocalAccount } from 'viem';
import { isMessageSignedBy } from '../crypto/signatureSigner.js';
import { bodyHash, signedHeaderFields } from './_signedHeader.js';
import type { ReplayGuard } from './replayGuard.js';

/** How old a patient's signed request may be. */
export const PATIENT_AUTH_WINDOW_MS = 5 * 60_000;
/** How far ahead of this node's clock a patient's timestamp may be (clock skew). */
export const PATIENT_AUTH_FUTURE_MS = 30_000;

/** The text a patient signs for one request (see the module comment). */
export function patientAuthMessage(
  member: Address,
  patient: Address,
  method: string,
  target: string,
  body: string,
  timestamp: number,
): string {
  return `medchain patient request\nmember: ${getAddress(member)}\naddress: ${getAddress(patient)}\n${method.toUpperCase()} ${target}\nbody: ${bodyHash(body)}\ntimestamp: ${timestamp}`;
}

/**
 * The Authorization header value for one request of `patient` to `member` (the patient's own
 * tools do this): `target` is the path with its query, `body` the exact bytes sent.
 */
export async function patientAuthHeader(
  patient: LocalAccount,
  member: Address,
  method: string,
  target: string,
  body = '',
  timestamp = Date.now(),
): Promise<string> {
  const signature = await patient.signMessage({
    message: patientAuthMessage(member, patient.address, method, target, body, timestamp),
  });
  return `MedchainPatient address=${patient.address},timestamp=${timestamp},signature=${signature}`;
}

/**
 * The patient address a header proves for exactly this request, or undefined when it proves
 * nothing (malformed, non-canonical, stale, too far ahead, wrong signer or request, or used before).
 */
export async function verifyPatientAuth(
  header: string | undefined,
  member: Address,
  method: string,
  target: string,
  body: string,
  guard: ReplayGuard,
  now = Date.now(),
): Promise<Address | undefined> {
  const f = signedHeaderFields(header, 'MedchainPatient');
  if (!f || f.timestamp < now - PATIENT_AUTH_WINDOW_MS || f.timestamp > now + PATIENT_AUTH_FUTURE_MS)
    return undefined;
  const message = patientAuthMessage(member, f.address, method, target, body, f.timestamp);
  const ok = isMessageSignedBy(f.address, message, f.signature);
  if (!ok || !guard.firstUse(message, f.timestamp + PATIENT_AUTH_WINDOW_MS)) return undefined;
  return f.address;
}
