/**
 * Relaying patient-signed consent to the chain. Any member relays: the patient's EIP-712
 * signature is the authority, the contract checks it. The node records the relay in its outbox
 * (so a crash does not lose it), waits for the result, and logs the attempt (permit or deny)
 * against the patient's address.
 */
import { type Address, getAddress, type Hex, isAddress, isHex } from 'viem';
import type { GrantRequest, RevokeRequest } from '../chain/consentSignatures.js';
import type { DeploymentManifest } from '../chain/manifest.js';
import type { Outbox } from '../chain/outbox.js';
import { BusinessRuleError, badRequest, ConflictError } from '../errors.js';
import type { TransparencyLog } from '../log/transparencyLog.js';

export interface RelayResult {
  txHash: Hex;
  blockNumber: number;
}

const toBig = (v: unknown, name: string): bigint => {
  if (typeof v !== 'string' && typeof v !== 'number')
    throw badRequest(`${name} must be a number (as a decimal string)`);
  if (!/^\d{1,30}$/.test(String(v))) throw badRequest(`${name} must be a non-negative integer`);
  return BigInt(v);
};
const addr = (v: unknown, name: string): Address => {
  if (typeof v !== 'string' || !isAddress(v)) throw badRequest(`${name} must be an address`);
  return getAddress(v);
};
const small = (v: unknown, name: string, max: number): number => {
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > max)
    throw badRequest(`${name} must be an integer 0..${max}`);
  return v as number;
};

/** Validate a relay body: {kind: "grant"|"revoke", request, signature}. */
export function parseRelay(
  body: unknown,
):
  | { kind: 'grant'; request: GrantRequest; signature: Hex }
  | { kind: 'revoke'; request: RevokeRequest; signature: Hex } {
  const b = body as { kind?: unknown; request?: Record<string, unknown>; signature?: unknown } | undefined;
  if (!b || typeof b !== 'object')
    throw badRequest('send {"kind": "grant" | "revoke", "request": {...}, "signature": "0x..."}');
  if (typeof b.signature !== 'string' || !isHex(b.signature) || b.signature.length > 200)
    throw badRequest('signature must be hex');
  const r = b.request;
  if (!r || typeof r !== 'object') throw badRequest('request is missing');
  if (b.kind === 'grant') {
    return {
      kind: 'grant',
      signature: b.signature,
      request: {
        patient: addr(r.patient, 'request.patient'),
        grantee: addr(r.grantee, 'request.grantee'),
        granteeAdmission: small(r.granteeAdmission, 'request.granteeAdmission', 0xffff_ffff),
        categories: small(r.categories, 'request.categories', 0xffff),
        purposes: small(r.purposes, 'request.purposes', 0xff),
        validFrom: toBig(r.validFrom, 'request.validFrom'),
        expiry: toBig(r.expiry, 'request.expiry'),
        nonce: toBig(r.nonce, 'request.nonce'),
        deadline: toBig(r.deadline, 'request.deadline'),
      },
    };
  }
  if (b.kind === 'revoke') {
    return {
      kind: 'revoke',
      signature: b.signature,
      request: {
        patient: addr(r.patient, 'request.patient'),
        grantee: addr(r.grantee, 'request.grantee'),
        nonce: toBig(r.nonce, 'request.nonce'),
        deadline: toBig(r.deadline, 'request.deadline'),
      },
    };
  }
  throw badRequest('kind must be "grant" or "revoke"');
}

export async function relayConsent(
  outbox: Outbox,
  manifest: DeploymentManifest,
  log: TransparencyLog,
  body: unknown,
): Promise<RelayResult> {
  const relay = parseRelay(body);
  const { request, signature } = relay;
  const key = `consent:${request.patient.toLowerCase()}:${request.nonce}:${signature.slice(0, 18)}`;
  const action = relay.kind === 'grant' ? 'consent-grant' : 'consent-revoke';
  const earlier = outbox.get(key);
  if (earlier?.status === 'confirmed') {
    // A signature already relayed: nothing new happens; say so rather than pretend.
    await log.append({
      actor: `patient:${request.patient}`,
      patient: request.patient,
      action,
      target: null,
      purpose: 'none',
      outcome: 'deny',
      reason: 'already-relayed',
      queryHash: null,
    });
    throw new ConflictError(
      `this signed ${relay.kind} was already relayed (transaction ${earlier.txHash ?? 'none'}); sign a new one`,
      {},
      true,
    );
  }
  const entry = outbox.enqueue({
    key,
    contract: 'Consent',
    address: manifest.contracts.Consent,
    functionName: relay.kind === 'grant' ? 'grantWithSig' : 'revokeWithSig',
    args: [request, signature],
    description: `relay a patient-signed consent ${relay.kind}`,
  });
  // A flush already running (e.g. the anchorer's) does not include this entry: flush until it settles.
  let done = outbox.get(entry.key);
  for (let i = 0; i < 5 && (done?.status === 'queued' || done?.status === 'signed'); i++) {
    await outbox.flush();
    done = outbox.get(entry.key);
  }
  const ok = done?.status === 'confirmed';
  await log.append({
    actor: `patient:${request.patient}`,
    patient: request.patient,
    action,
    target: null,
    purpose: 'none',
    outcome: ok ? 'permit' : 'deny',
    reason: ok
      ? 'ok'
      : (done?.error?.match(/^[A-Za-z]+/)?.[0] ?? 'error')
          .replace(/([a-z])([A-Z])/g, '$1-$2')
          .toLowerCase()
          .slice(0, 64),
    queryHash: null,
  });
  if (!ok) {
    throw new BusinessRuleError(`the chain refused the ${relay.kind}: ${done?.error ?? 'no receipt'}`);
  }
  return { txHash: done?.txHash as Hex, blockNumber: done?.block as number };
}
