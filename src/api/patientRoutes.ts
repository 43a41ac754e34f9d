/**
 * Patients at a member node: sign-in by signing a single-use challenge with the key of their chain
 * address (EIP-191; the node never sees the key), and their own records held here. Any member
 * serves any patient this way, so a patient's portal gathers the records of every member.
 *
 *   POST /auth/patient/challenge {"address"}             -> {"challenge", "expiresAt"}
 *   POST /auth/patient/login {"address", "challenge", "signature"} -> {"access_token", "token_type": "Bearer", ...}
 *   GET  /patients/<address>/records                     -> Bundle (searchset) of the patient's records here
 *   GET  /patients/<address>/keys                        -> the patient's record keys here, sealed to them (HPKE)
 */
import type { BundleEntry } from '@medplum/fhirtypes';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type Address, getAddress, isAddress } from 'viem';
import type { Gatekeeper } from '../access/gatekeeper.js';
import type { LoginThrottle } from '../access/loginThrottle.js';
import type { PatientSessionStore } from '../access/sessions.js';
import type { UnauthenticatedCounter } from '../access/unauthenticatedCounter.js';
import { isCanonicalSignature } from '../crypto/canonicalSignature.js';
import { isMessageSignedBy } from '../crypto/signatureSigner.js';
import { badRequest, forbidden, unauthorized } from '../errors.js';
import { outcome } from '../fhir/outcomes.js';
import { countSignInAttempt } from './authRoutes.js';
import { send } from './http.js';

function addressOf(raw: unknown, what: string): Address {
  if (typeof raw !== 'string' || !isAddress(raw))
    throw badRequest(`${what} must be the patient's chain address (0x and 40 hex digits)`);
  return getAddress(raw);
}

/** The patient a request is signed in as, when it must be `address`. */
export function requirePatient(request: FastifyRequest, address: Address): void {
  const p = request.patientAddress;
  if (!p) throw unauthorized('sign in as the patient first (POST /auth/patient/challenge, then /login)');
  if (p !== address) throw forbidden('a patient may read only their own records and disclosures');
}

export function patientRoutes(
  app: FastifyInstance,
  deps: {
    gate: Gatekeeper;
    patientSessions: PatientSessionStore;
    throttle: LoginThrottle;
    unauthenticated?: UnauthenticatedCounter;
  },
): void {
  const member = deps.gate.log.member;

  app.post('/auth/patient/challenge', async (request, reply) => {
    const patient = addressOf((request.body as { address?: unknown } | undefined)?.address, 'address');
    reply.header('cache-control', 'no-store');
    return deps.patientSessions.challenge(member, patient);
  });

  app.post('/auth/patient/login', async (request, reply) => {
    const body = request.body as { address?: unknown; challenge?: unknown; signature?: unknown } | undefined;
    const patient = addressOf(body?.address, 'address');
    if (typeof body?.challenge !== 'string' || body.challenge.length > 400)
      throw badRequest('challenge must be the text from POST /auth/patient/challenge');
    if (typeof body?.signature !== 'string' || !isCanonicalSignature(body.signature))
      throw badRequest(
        'signature must be the EIP-191 signature of the challenge: 0x and 130 hex digits, v 27 or 28, low s',
      );
    // The same throttle as staff sign-in (per address and client, growing waits).
    const attempt = await countSignInAttempt(deps, `patient:${patient}`, request.ip, `patient:${patient}`);
    const live = deps.patientSessions.takeChallenge(member, patient, body.challenge);
    const ok = live && isMessageSignedBy(patient, body.challenge, body.signature);
    if (!ok) {
      await deps.gate.login(`patient:${patient}`, false, live ? 'bad-signature' : 'no-challenge');
      throw unauthorized(
        live
          ? 'the signature does not match the challenge and address; sign in again'
          : 'the challenge is not one this member issued to this address, has expired (2 minutes) or was used; ask for a new one',
      );
    }
    attempt.succeeded();
    await deps.gate.login(`patient:${patient}`, true, 'ok');
    const { token, expiresIn } = deps.patientSessions.issue(patient);
    reply.header('cache-control', 'no-store');
    return { access_token: token, token_type: 'Bearer', expires_in: expiresIn, patient };
  });

  // The patient's record keys held here, sealed to the patient (each opens their copies of data keys).
  app.get('/patients/:address/keys', async (request, reply) => {
    const address = addressOf((request.params as { address: string }).address, 'the path');
    requirePatient(request, address);
    const keys = await deps.gate.patientKeys(address);
    reply.header('cache-control', 'no-store');
    return {
      patient: address,
      keys: keys.map((k) => ({
        patientRef: k.patientRef,
        kid: k.kid,
        recipient: k.recipient,
        enc: Buffer.from(k.enc).toString('base64'),
        sealed: Buffer.from(k.sealed).toString('base64'),
        createdAt: new Date(k.createdMs).toISOString(),
      })),
    };
  });

  app.get('/patients/:address/records', async (request, reply) => {
    const address = addressOf((request.params as { address: string }).address, 'the path');
    requirePatient(request, address);
    const { resources, truncated } = await deps.gate.patientRecords(address);
    const entry: BundleEntry[] = resources.map((resource) => ({ resource, search: { mode: 'match' } }));
    if (truncated)
      entry.push({
        resource: outcome('warning', 'informational', 'only the newest 100 records of each type are shown'),
        search: { mode: 'outcome' },
      });
    reply.header('cache-control', 'no-store');
    return send(reply, 200, { resourceType: 'Bundle', type: 'searchset', total: resources.length, entry });
  });
}
