/**
 * Sending a shipment notice again (`POST /supply/shipments/{id}/resend` at the sender, an
 * administrator). Custody moves on chain before the notice is sent (src/supply/ship.ts), so a
 * notice the receiver did not take (it was down, or its answer was lost) would leave it unable to
 * receive what it holds on chain. The stored notice is sent again, unchanged; the receiver's inbox
 * takes a notice it already holds as accepted (src/supply/shipmentInbox.ts), so sending twice is
 * harmless. Logged `supply-ship` (reason `resent`, or `resent-not-delivered` with the answer).
 */
import type { Address } from 'viem';
import type { LocalAccount } from 'viem/accounts';
import type { Actor } from '../access/gatekeeper.js';
import type { ConsortiumView } from '../chain/consortium.js';
import { badRequest, forbidden, notFound, UnavailableError } from '../errors.js';
import { callable, postSigned } from '../federation/memberClient.js';
import { type ShipmentNotice, shipmentNoticeBody } from '../federation/supplyShipmentWire.js';
import type { TransparencyLog } from '../log/transparencyLog.js';
import type { CustodyStore } from '../store/custodyStore.js';
import { CUSTODY_ADMINS } from './commission.js';
import { custodyHash, loggedCustody } from './custodyLog.js';
import { SUPPLY_SHIPMENT_PATH } from './ship.js';

export interface ResendDeps {
  log: TransparencyLog;
  custody: CustodyStore;
  consortium: ConsortiumView;
  signer: LocalAccount;
}

/** The answer to a resend. */
export interface ResendResult {
  shipment: string;
  to: { address: Address; name: string };
  delivered: boolean;
  message?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Send shipment `id`'s stored notice to its receiver again, for `actor`. */
export function resendShipment(deps: ResendDeps, actor: Actor, id: string): Promise<ResendResult> {
  return loggedCustody<ResendResult>(deps.log, actor.id, 'supply-ship', async (l) => {
    if (!UUID.test(id)) throw badRequest('the shipment id is a lower-case UUID');
    l.queryHash = custodyHash('shipment', id);
    if (!CUSTODY_ADMINS.includes(actor.role))
      throw forbidden('sending shipment notices is for the member’s administrators', 'role');
    const [sent] = deps.custody.shipmentsWithId<ShipmentNotice>('out', id);
    if (!sent) throw notFound(`this member sent no shipment ${id}`);
    const receiver = await deps.consortium.member(sent.counterparty as Address);
    if (!receiver?.active || !callable(receiver))
      throw new UnavailableError(
        'receiver-unavailable',
        `${receiver?.name || sent.counterparty} is not an active member with an endpoint; the notice cannot be sent`,
      );
    const reply = await postSigned(
      deps.signer,
      receiver,
      SUPPLY_SHIPMENT_PATH,
      shipmentNoticeBody(sent.document),
    );
    const delivered = reply.kind === 'ok';
    deps.custody.setStatus('out', sent.counterparty, id, delivered ? 'sent' : 'not-delivered');
    const to = { address: receiver.address, name: receiver.name };
    return delivered
      ? { reason: 'resent', result: { shipment: id, to, delivered } }
      : {
          reason: 'resent-not-delivered',
          result: {
            shipment: id,
            to,
            delivered,
            message: `${receiver.name} ${reply.kind === 'refused' ? `refused the shipment notice: ${reply.message}` : 'did not answer'}`,
          },
        };
  });
}
