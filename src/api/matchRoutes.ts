/**
 * `POST /fhir/Patient/$match`: patient discovery across members (src/federation/discovery.ts) for a
 * signed-in clinician, as the FHIR operation (src/fhir/patientMatch.ts). The gatekeeper decides and
 * logs; this module only parses and shapes.
 */
import type { FastifyInstance } from 'fastify';
import type { Actor } from '../access/gatekeeper.js';
import { UnavailableError } from '../errors.js';
import type { DiscoveredPatient, DiscoveryOutcome } from '../federation/discovery.js';
import type { Demographics } from '../fhir/demographics.js';
import { TYPE_OPERATIONS } from '../fhir/interactions.js';
import { matchBundle, parseMatchInput } from '../fhir/patientMatch.js';
import { actorOf, send } from './http.js';

export type DiscoverPatients = (
  actor: Actor,
  d: Demographics,
) => Promise<{ patients: DiscoveredPatient[]; outcomes: DiscoveryOutcome[] }>;

export function matchRoutes(app: FastifyInstance, discover: DiscoverPatients | undefined): void {
  app.post(TYPE_OPERATIONS.Patient.match.route.url, async (request, reply) => {
    const actor = actorOf(request);
    const input = parseMatchInput(request.body);
    if (!discover)
      throw new UnavailableError(
        'no-chain',
        'this node is not connected to the chain, so it cannot search other members for a patient',
      );
    // Authorized, and every request and what it found logged, by the gatekeeper (not the error handler).
    request.audit = null;
    const { patients, outcomes } = await discover(actor, input.demographics);
    return send(reply, 200, matchBundle(patients, outcomes, input));
  });
}
