/**
 * Custody routes of the drug supply chain (docs/supply-chain.md, docs/api.md "Drug supply chain"):
 *   POST /supply/commission {gtin, lot, expiry, count, caseSize?}      a manufacturer commissions a lot
 *   POST /supply/pack {cases: [SSCC]}, POST /supply/unpack {pallet}    cases on or off a pallet
 *   POST /supply/ship {to, units?: [{gtin, serial}], cases?: [SSCC]}   the custodian ships
 *   POST /supply/receive {shipment?, cases?, units?}                   the receiver checks what arrived
 *   GET  /supply/shipments?direction=in|out                             this member's shipments
 *   POST /supply/shipments/{id}/resend                                  the sender sends a notice again
 *   GET  /supply/recalls                                                recalled lots this member holds
 *   POST /federation/supply/party        {} -> {gln}                   (member signed)
 *   POST /federation/supply/shipment     the shipment notice            (member signed)
 * Each handler logs its own request (src/supply/custodyLog.ts); this module parses and shapes. A
 * refused receipt is a 409 OperationOutcome with one issue per finding.
 */
import type { FastifyInstance } from 'fastify';
import type { Actor } from '../access/gatekeeper.js';
import { badRequest, UnavailableError, unauthorized } from '../errors.js';
import { outcome } from '../fhir/outcomes.js';
import { ReceiptRefusedError } from '../supply/supplyErrors.js';
import { actorOf, send } from './http.js';

export interface SupplyCustodyDeps {
  commissionLot?: (actor: Actor, body: unknown) => Promise<unknown>;
  packPallet?: (actor: Actor, body: unknown) => Promise<unknown>;
  unpackPallet?: (actor: Actor, body: unknown) => Promise<unknown>;
  shipUnits?: (actor: Actor, body: unknown) => Promise<unknown>;
  receiveShipment?: (actor: Actor, body: unknown) => Promise<unknown>;
  listShipments?: (actor: Actor, direction: 'in' | 'out') => Promise<unknown>;
  resendShipment?: (actor: Actor, id: string) => Promise<unknown>;
  recalledLots?: (actor: Actor) => Promise<unknown>;
  answerSupplyParty?: (caller: `0x${string}`, body: unknown) => Promise<unknown>;
  acceptSupplyShipment?: (caller: `0x${string}`, body: unknown) => Promise<unknown>;
}

const noChain = () =>
  new UnavailableError(
    'no-chain',
    'this node is not connected to the chain (or its deployment has no DrugLedger)',
  );

/** Register the custody routes. */
export function supplyCustodyRoutes(app: FastifyInstance, deps: SupplyCustodyDeps): void {
  app.post('/supply/commission', async (request) => {
    const actor = actorOf(request);
    if (!deps.commissionLot) throw noChain();
    request.audit = null; // logged by the commissioning itself, refused or done
    return deps.commissionLot(actor, request.body);
  });
  app.post('/supply/pack', async (request) => {
    const actor = actorOf(request);
    if (!deps.packPallet) throw noChain();
    request.audit = null; // logged by the packing itself
    return deps.packPallet(actor, request.body);
  });
  app.post('/supply/unpack', async (request) => {
    const actor = actorOf(request);
    if (!deps.unpackPallet) throw noChain();
    request.audit = null;
    return deps.unpackPallet(actor, request.body);
  });
  app.post('/supply/ship', async (request) => {
    const actor = actorOf(request);
    if (!deps.shipUnits) throw noChain();
    request.audit = null;
    return deps.shipUnits(actor, request.body);
  });
  app.post('/supply/receive', async (request, reply) => {
    const actor = actorOf(request);
    if (!deps.receiveShipment) throw noChain();
    request.audit = null;
    try {
      return await deps.receiveShipment(actor, request.body);
    } catch (err) {
      if (!(err instanceof ReceiptRefusedError)) throw err;
      return send(
        reply,
        409,
        outcome(
          'error',
          'conflict',
          err.message,
          err.findings.map((f) => ({
            severity: 'error' as const,
            code: 'conflict' as const,
            details: {
              coding: [{ system: 'https://medchain.example/supply-receipt', code: f.problem }],
              text: f.text,
            },
            expression: [f.item],
            ...(f.missing || f.unexpected || f.duplicates
              ? {
                  diagnostics: JSON.stringify({
                    missing: f.missing ?? [],
                    unexpected: f.unexpected ?? [],
                    duplicates: f.duplicates ?? [],
                  }),
                }
              : {}),
          })),
        ),
      );
    }
  });
  app.get('/supply/shipments', async (request) => {
    const actor = actorOf(request);
    const d = (request.query as Record<string, unknown>).direction ?? 'in';
    if (d !== 'in' && d !== 'out') throw badRequest('direction must be in or out');
    if (!deps.listShipments) throw noChain();
    request.audit = null;
    return deps.listShipments(actor, d);
  });
  app.get('/supply/recalls', async (request) => {
    const actor = actorOf(request);
    if (!deps.recalledLots) throw noChain();
    request.audit = null; // logged by the listing itself
    return deps.recalledLots(actor);
  });
  app.post('/supply/shipments/:id/resend', async (request) => {
    const actor = actorOf(request);
    if (!deps.resendShipment) throw noChain();
    request.audit = null; // logged by the resend itself
    return deps.resendShipment(actor, (request.params as { id: string }).id);
  });
  app.post('/federation/supply/party', async (request) => {
    const caller = request.memberCaller;
    if (!caller) throw unauthorized('supply chain requests must be signed by an active member');
    if (!deps.answerSupplyParty) throw noChain();
    request.audit = null;
    return deps.answerSupplyParty(caller, request.body);
  });
  app.post('/federation/supply/shipment', async (request) => {
    const caller = request.memberCaller;
    if (!caller) throw unauthorized('shipment notices must be signed by an active member');
    if (!deps.acceptSupplyShipment) throw noChain();
    request.audit = null; // the inbox logs every notice, accepted or refused
    return deps.acceptSupplyShipment(caller, request.body);
  });
}
