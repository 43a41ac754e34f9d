/**
 * The claims views' routes (issue 13, docs/api.md "Claims views"):
 *   GET /claims/queue[?state=]  the insurer's queue: the claims submitted to this member with their
 *                               decision, reasons, fraud flags and payment status (billing, admin)
 *   GET /claims/submitted       the provider's submitted claims and why any was denied or pended
 *                               (billing)
 * Both read the stored Claims and ClaimResponses through the gatekeeper under the purpose payment
 * (each record logged before the answer) and join the chain's record (src/claims/claimQueue.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { Actor } from '../access/gatekeeper.js';
import type { HeldClaim, QueueState } from '../claims/claimQueue.js';
import { parseStateFilter } from '../claims/claimQueue.js';
import { forbidden, UnavailableError } from '../errors.js';
import { actorOf } from './http.js';

export interface ClaimViewRouteDeps {
  /** The insurer's queue (needs a chain with the Claims contract). */
  claimQueue?: (actor: Actor, state?: QueueState) => Promise<{ claims: HeldClaim[] }>;
  /** The provider's submitted claims (needs a chain with the Claims contract). */
  submittedClaims?: (actor: Actor) => Promise<{ claims: HeldClaim[] }>;
}

const noClaims = () =>
  new UnavailableError(
    'no-claims',
    'this node is not connected to a chain with the Claims contract, so it cannot show claims',
  );

/**
 * The actor the documents are read as: a billing user as themself; an administrator of the
 * insurer (who runs payments) under their own id, for the purpose payment, reading as billing
 * does: the queue answers amounts, codes and reasons, never the documents themselves.
 */
function payer(actor: Actor, roles: readonly string[]): Actor {
  if (!roles.includes(actor.role))
    throw forbidden(`the ${actor.role} role may not see claims (${roles.join(' or ')} users do)`, 'role');
  return { id: actor.id, role: 'billing', purpose: 'payment' };
}

export function claimViewRoutes(app: FastifyInstance, deps: ClaimViewRouteDeps): void {
  app.get('/claims/queue', async (request) => {
    const actor = payer(actorOf(request), ['billing', 'admin']);
    const state = parseStateFilter((request.query as Record<string, unknown>).state);
    if (!deps.claimQueue) throw noClaims();
    return deps.claimQueue(actor, state);
  });
  app.get('/claims/submitted', async (request) => {
    const actor = payer(actorOf(request), ['billing']);
    if (!deps.submittedClaims) throw noClaims();
    return deps.submittedClaims(actor);
  });
}
