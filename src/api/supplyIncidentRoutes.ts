/**
 * Drug supply incident routes (docs/supply-chain.md "Incidents", docs/api.md "Drug supply chain"):
 *   POST /supply/return {gtin, serial, lot, expiry, from?}   receive a saleable return, verified first
 *   POST /supply/quarantine {gtin, serial | lot, reason}    the holder marks units Suspect
 *   POST /supply/clear {gtin, serial | lot, reason}         the manufacturer ends an investigation, cleared
 *   POST /supply/illegitimate {gtin, serial | lot, reason}  ... or determines them illegitimate and notifies
 *   GET  /supply/alerts                                      open illegitimate-product notices, 24-hour deadline
 *   POST /supply/alerts/{id}/ack                             acknowledge (close) one
 *   POST /federation/supply/notice                           a trading partner's notice (member signed)
 * Each flow logs itself (src/supply/*); this module only routes.
 */
import type { FastifyInstance } from 'fastify';
import type { Actor } from '../access/gatekeeper.js';
import { UnavailableError, unauthorized } from '../errors.js';
import { actorOf } from './http.js';

export interface SupplyIncidentDeps {
  receiveReturn?: (actor: Actor, body: unknown) => Promise<unknown>;
  quarantine?: (actor: Actor, body: unknown) => Promise<unknown>;
  clearInvestigation?: (actor: Actor, body: unknown) => Promise<unknown>;
  determineIllegitimate?: (actor: Actor, body: unknown) => Promise<unknown>;
  supplyAlerts?: (actor: Actor) => unknown;
  acknowledgeAlert?: (actor: Actor, id: string) => Promise<unknown>;
  acceptNotice?: (caller: `0x${string}`, body: unknown) => Promise<unknown>;
}

const noChain = () =>
  new UnavailableError(
    'no-chain',
    'this node is not connected to the chain (or its deployment has no DrugLedger)',
  );

/** Register the incident routes. */
export function supplyIncidentRoutes(app: FastifyInstance, deps: SupplyIncidentDeps): void {
  const staff = (path: string, handler: ((actor: Actor, body: unknown) => Promise<unknown>) | undefined) =>
    app.post(path, async (request) => {
      const actor = actorOf(request);
      if (!handler) throw noChain();
      request.audit = null; // each flow logs itself, with the chain's answer
      return handler(actor, request.body);
    });
  staff('/supply/return', deps.receiveReturn);
  staff('/supply/quarantine', deps.quarantine);
  staff('/supply/clear', deps.clearInvestigation);
  staff('/supply/illegitimate', deps.determineIllegitimate);
  app.get('/supply/alerts', async (request, reply) => {
    const actor = actorOf(request);
    if (!deps.supplyAlerts) throw noChain();
    request.audit = null; // alerts name products, not patients: nothing to log per read
    reply.header('cache-control', 'no-store');
    return deps.supplyAlerts(actor);
  });
  app.post('/supply/alerts/:id/ack', async (request) => {
    const actor = actorOf(request);
    if (!deps.acknowledgeAlert) throw noChain();
    request.audit = null; // the acknowledgement logs itself
    return deps.acknowledgeAlert(actor, (request.params as { id: string }).id);
  });
  app.post('/federation/supply/notice', async (request) => {
    const caller = request.memberCaller;
    if (!caller) throw unauthorized('supply notices must be signed by an active member');
    if (!deps.acceptNotice) throw noChain();
    request.audit = null; // the receiver logs every notice, stored or refused
    return deps.acceptNotice(caller, request.body);
  });
}
