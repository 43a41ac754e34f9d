/**
 * Claims routes (issue 13, docs/claims.md):
 *   POST /fhir/Claim/$submit   a billing user submits a Claim (or a Da Vinci PAS Bundle holding one)
 *                              at their own node; answers the insurer's ClaimResponse (200)
 *   POST /federation/claims    the insurer's intake of a member-signed submission; answers the
 *                              ClaimResponse
 * The services (src/claims/submit.ts, intake.ts) read and write through the gatekeeper, which logs
 * each access; a refused attempt is logged by the error handler (request.audit stays set).
 */
import type { ClaimResponse } from '@medplum/fhirtypes';
import type { FastifyInstance } from 'fastify';
import type { Actor } from '../access/gatekeeper.js';
import { forbidden, UnavailableError, unauthorized } from '../errors.js';
import { TYPE_OPERATIONS } from '../fhir/interactions.js';
import type { StoredResource } from '../records/recordService.js';
import { actorOf, send } from './http.js';

export interface ClaimDeps {
  /** The provider's `Claim/$submit` (needs a chain with the Claims contract). */
  submitClaim?: (actor: Actor, body: unknown) => Promise<StoredResource>;
  /** The insurer's intake of a member-signed submission (needs a chain with the Claims contract). */
  intakeClaim?: (caller: `0x${string}`, body: unknown) => Promise<{ response: ClaimResponse }>;
}

const noClaims = () =>
  new UnavailableError(
    'no-claims',
    'this node is not connected to a chain with the Claims contract, so it cannot submit or adjudicate claims',
  );

export function claimRoutes(app: FastifyInstance, deps: ClaimDeps): void {
  app.post(TYPE_OPERATIONS.Claim.submit.route.url, async (request, reply) => {
    const actor = actorOf(request);
    if (actor.role !== 'billing')
      throw forbidden(`the ${actor.role} role may not submit claims (billing users do)`, 'role');
    if (!deps.submitClaim) throw noClaims();
    return send(reply, 200, await deps.submitClaim(actor, request.body));
  });
  app.post('/federation/claims', async (request, reply) => {
    const caller = request.memberCaller;
    if (!caller) throw unauthorized('claim submissions must be signed by an active member');
    if (!deps.intakeClaim) throw noClaims();
    const { response } = await deps.intakeClaim(caller, request.body);
    return send(reply, 200, response);
  });
}
