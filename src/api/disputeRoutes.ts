/**
 * `POST /claims/dispute`: relay a patient's signed claim dispute (src/claims/disputeRelay.ts). Open
 * like `/consent/relay` (no session: the patient's signature is the authority), throttled per
 * client in server.ts, with a small body limit; 202 with the outbox key once it is queued.
 */
import type { FastifyInstance } from 'fastify';
import type { RateLimiter } from '../access/rateLimiter.js';
import { type DisputeRelayed, MAX_DISPUTE_BODY } from '../claims/disputeRelay.js';
import { UnavailableError } from '../errors.js';

/** The path of the open dispute relay. */
export const DISPUTE_PATH = '/claims/dispute';

export interface DisputeDeps {
  /** Relay a patient-signed dispute to Claims.sol (needs a chain with Claims). */
  relayDispute?: (body: unknown) => Promise<DisputeRelayed>;
  /** Requests to the open POST /claims/dispute per client (default: 30 a minute, then 429). */
  disputeLimit?: RateLimiter;
}

export function disputeRoutes(app: FastifyInstance, deps: DisputeDeps): void {
  app.post(DISPUTE_PATH, { bodyLimit: MAX_DISPUTE_BODY }, async (request, reply) => {
    if (!deps.relayDispute)
      throw new UnavailableError(
        'no-chain',
        'this node is not connected to a chain with the Claims contract; relay through another member',
      );
    return reply.code(202).send(await deps.relayDispute(request.body));
  });
}
