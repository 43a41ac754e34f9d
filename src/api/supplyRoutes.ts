/**
 * Drug supply chain routes (docs/supply-chain.md):
 *   GET  /supply/verify/01/{gtin}/10/{lot}/21/{serial}?exp=YYMMDD  a pharmacist verifies a pack (the
 *        GS1 Digital Link path) at their own node, which asks the GTIN's responder
 *   POST /supply/dispense {gtin, serial, lot, expiry}                 a pharmacist dispenses a verified pack
 *   POST /supply/recall {gtin, lot}                                  the manufacturer recalls a lot
 *   POST /federation/supply/verify                                  the responder's answer (member MAC or signature)
 * Both log every request themselves (src/supply/verification*.ts); this module parses and shapes.
 */
import type { FastifyInstance } from 'fastify';
import type { Actor } from '../access/gatekeeper.js';
import type { BlockMark } from '../chain/blockBoard.js';
import { badRequest, UnavailableError, unauthorized } from '../errors.js';
import { parseDigitalLink } from '../supply/gs1.js';
import type { VerificationResult } from '../supply/verificationRequester.js';
import type { VerificationAnswer } from '../supply/verify.js';
import { actorOf } from './http.js';

export interface SupplyDeps {
  verifyUnit?: (
    actor: Actor,
    id: { gtin: string; serial: string; lot?: string; expiry?: string },
  ) => Promise<VerificationResult>;
  /** The responder's answer; `since`: when the request arrived (src/chain/blockBoard.ts), for its chain state. */
  answerVerification?: (
    caller: `0x${string}`,
    body: unknown,
    since?: BlockMark,
  ) => Promise<VerificationAnswer>;
  recallLot?: (actor: Actor, body: unknown) => Promise<unknown>;
  dispenseUnit?: (actor: Actor, body: unknown) => Promise<unknown>;
}

const noChain = () =>
  new UnavailableError(
    'no-chain',
    'this node is not connected to the chain (or its deployment has no DrugLedger)',
  );

export function supplyRoutes(app: FastifyInstance, deps: SupplyDeps): void {
  app.get('/supply/verify/01/:gtin/10/:lot/21/:serial', async (request) => {
    const actor = actorOf(request);
    // The raw path, not Fastify's decoded params: the GS1 parser decodes each segment itself.
    const id = parseDigitalLink(request.url);
    if (id.serial === undefined || id.lot === undefined)
      throw badRequest('the path needs /10/{lot}/21/{serial}');
    if (!deps.verifyUnit) throw noChain();
    request.audit = null; // the requester logs every verification, refused or answered
    const r = await deps.verifyUnit(actor, { ...id, serial: id.serial });
    return { responder: r.responder, ...r.answer };
  });
  app.post('/supply/recall', async (request) => {
    const actor = actorOf(request);
    if (!deps.recallLot) throw noChain();
    request.audit = null; // the recall logs itself, with the chain's answer
    return deps.recallLot(actor, request.body);
  });
  app.post('/supply/dispense', async (request) => {
    const actor = actorOf(request);
    if (!deps.dispenseUnit) throw noChain();
    request.audit = null; // verification and the dispense log themselves
    return deps.dispenseUnit(actor, request.body);
  });
  app.post('/federation/supply/verify', async (request) => {
    const caller = request.memberCaller;
    if (!caller) throw unauthorized('verification requests must be signed by an active member');
    if (!deps.answerVerification) throw noChain();
    request.audit = null; // the responder logs every request itself
    return deps.answerVerification(caller, request.body, request.arrival ?? undefined);
  });
}
