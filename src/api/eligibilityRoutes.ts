/**
 * Insurance eligibility (issue 13): `POST /fhir/CoverageEligibilityRequest/$submit` for a signed-in
 * billing user at the provider, and the insurer's member-signed `POST /federation/eligibility`.
 * The work is in src/claims/eligibility.ts; this module parses, shapes and says what is logged.
 */
import type { CoverageEligibilityResponse } from '@medplum/fhirtypes';
import type { FastifyInstance } from 'fastify';
import type { Actor } from '../access/gatekeeper.js';
import { RateLimiter } from '../access/rateLimiter.js';
import type { EligibilityQuestion } from '../claims/fhirEligibility.js';
import { tooMany, UnavailableError, unauthorized } from '../errors.js';
import { ELIGIBILITY_PATH } from '../federation/eligibilityWire.js';
import { TYPE_OPERATIONS } from '../fhir/interactions.js';
import type { StoredResource } from '../records/recordService.js';
import { actorOf, sendResource } from './http.js';

/**
 * Questions a member may ask this insurer per minute. A member number is needed for a "covered"
 * answer; the budget keeps a member from running through guessed numbers (a clinic's whole day of
 * patients is well under it).
 */
export const ELIGIBILITY_QUESTIONS_PER_MINUTE = 60;

export interface EligibilityDeps {
  /** The per-member budget at the insurer (default: ELIGIBILITY_QUESTIONS_PER_MINUTE a minute). */
  eligibilityLimit?: RateLimiter;
  /** The provider's side (needs a chain: the insurer is found in the Registry). */
  requestEligibility?: (actor: Actor, body: unknown) => Promise<StoredResource>;
  /** The insurer's side: check a member's message (nothing read yet), then answer it. */
  eligibility?: {
    parse: (caller: `0x${string}`, body: unknown) => EligibilityQuestion;
    answer: (
      caller: `0x${string}`,
      q: EligibilityQuestion,
    ) => Promise<{ response: CoverageEligibilityResponse }>;
  };
}

export function eligibilityRoutes(app: FastifyInstance, deps: EligibilityDeps): void {
  const limit = deps.eligibilityLimit ?? new RateLimiter(ELIGIBILITY_QUESTIONS_PER_MINUTE, 60_000);
  app.post(TYPE_OPERATIONS.CoverageEligibilityRequest.submit.route.url, async (request, reply) => {
    // A refused attempt is logged as the create it tried to be.
    request.audit = { action: 'create', target: { resourceType: 'CoverageEligibilityRequest' } };
    const actor = actorOf(request);
    if (!deps.requestEligibility)
      throw new UnavailableError(
        'no-chain',
        'this node is not connected to the chain, so it cannot find the insurer to ask',
      );
    return sendResource(reply, 200, await deps.requestEligibility(actor, request.body));
  });

  app.post(ELIGIBILITY_PATH, async (request) => {
    const caller = request.memberCaller;
    if (!caller || !deps.eligibility)
      throw unauthorized('eligibility requests must be signed by an active member');
    const wait = limit.take(caller.toLowerCase());
    if (wait > 0)
      throw tooMany(
        `more than ${limit.limit} eligibility questions a minute from this member; retry in ${wait} s`,
        wait,
      );
    // Refusals up to here are logged by the error handler; from here the gatekeeper logs its read.
    const q = deps.eligibility.parse(caller, request.body);
    request.audit = null;
    return deps.eligibility.answer(caller, q);
  });
}
