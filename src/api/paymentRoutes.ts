/**
 * Payment runs at the insurer (issue 13, src/claims/paymentRun.ts; docs/api.md "Claim payment runs"):
 *   POST /claims/payment-run    an admin or billing user pays every claim Approved on chain and
 *                               unpaid, one X12 835 per payee: 200 {runId, claims, paidCents,
 *                               files, txKeys, skipped, message?}; 409 while another run is under way
 *   GET  /claims/payment-runs   the past runs, newest first: {runs: [...]}
 */
import type { FastifyInstance } from 'fastify';
import type { Actor } from '../access/gatekeeper.js';
import type { PaymentRunRecord } from '../claims/paymentRunRecords.js';
import { forbidden, UnavailableError } from '../errors.js';
import { actorOf } from './http.js';

export interface PaymentDeps {
  /** Run a payment (needs a chain with the Claims contract). */
  runPayment?: (by: Actor) => Promise<PaymentRunRecord>;
  /** The past payment runs, newest first. */
  paymentRuns?: () => PaymentRunRecord[];
}

function requirePaymentRole(actor: Actor, what: string): void {
  if (actor.role !== 'admin' && actor.role !== 'billing')
    throw forbidden(`the ${actor.role} role may not ${what}; an admin or billing user may`, 'role');
}

export function paymentRoutes(app: FastifyInstance, deps: PaymentDeps): void {
  app.post('/claims/payment-run', async (request) => {
    const actor = actorOf(request);
    requirePaymentRole(actor, 'run payments');
    if (!deps.runPayment)
      throw new UnavailableError(
        'no-claims',
        'this node is not connected to a chain with the Claims contract, so it cannot pay claims',
      );
    return deps.runPayment(actor);
  });
  app.get('/claims/payment-runs', async (request) => {
    requirePaymentRole(actorOf(request), 'see payment runs');
    return { runs: deps.paymentRuns?.() ?? [] };
  });
}
