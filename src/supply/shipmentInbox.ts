/**
 * The receiving member's side of a shipment notice (`POST /federation/supply/shipment`, member
 * signed) and of the party request before it (`POST /federation/supply/party`). A notice is
 * accepted only when the chain agrees with it now: each unit's Merkle proof puts its commitment in
 * the batch named, the batch is of the unit's GTIN, and DrugLedger shows this member as the unit's
 * custodian (the sender moved custody before telling). A notice naming units the chain does not
 * show here (forged, replayed to the wrong member, or sent before the transfer) is refused (409)
 * and nothing is kept. Accepted notices wait, whole, for the receipt (receive.ts) to check what
 * physically arrived. Every notice and party request is logged, accepted or refused.
 */
import type { Address } from 'viem';
import type { DrugLedgerContract } from '../chain/contracts.js';
import { BusinessRuleError, ConflictError } from '../errors.js';
import {
  parsePartyRequest,
  parseShipmentNotice,
  type ShipmentNotice,
} from '../federation/supplyShipmentWire.js';
import type { TransparencyLog } from '../log/transparencyLog.js';
import type { CustodyStore } from '../store/custodyStore.js';
import type { UnitStore } from '../store/unitStore.js';
import { chainStates } from './chainCustody.js';
import { custodyHash, loggedCustody } from './custodyLog.js';
import { verifyUnitProof } from './unitBatch.js';

export interface InboxDeps {
  ledger: DrugLedgerContract;
  log: TransparencyLog;
  units: UnitStore;
  custody: CustodyStore;
  self: Address;
  now?: () => Date;
}

/** This member's GLN, for a trading partner about to ship to it. */
export function answerParty(deps: InboxDeps, caller: Address, body: unknown): Promise<{ gln: string }> {
  return loggedCustody(deps.log, `member:${caller}`, 'supply-ship', async () => {
    parsePartyRequest(body);
    const gln = deps.units.setting('gln');
    if (!gln) throw new ConflictError('this member has no GLN set and cannot receive shipments yet');
    return { reason: 'party', result: { gln } };
  });
}

/** Accept (or refuse) a shipment notice from member `caller`. */
export function acceptShipment(
  deps: InboxDeps,
  caller: Address,
  body: unknown,
): Promise<{ accepted: true; shipment: string; units: number; cases: number }> {
  return loggedCustody(deps.log, `member:${caller}`, 'supply-ship', async (l) => {
    const n = parseShipmentNotice(body);
    l.queryHash = custodyHash('shipment', n.id);
    const answer = { accepted: true as const, shipment: n.id, units: n.units.length, cases: n.cases.length };
    if (n.to !== deps.self)
      throw new ConflictError(`this shipment notice is addressed to ${n.to}, not to this member`);
    const [known] = deps.custody
      .shipmentsWithId<ShipmentNotice>('in', n.id)
      .filter((s) => s.counterparty === caller);
    if (known) {
      if (JSON.stringify(known.document) === JSON.stringify(n))
        return { reason: 'already-accepted', result: answer };
      throw new ConflictError(`shipment ${n.id} was announced before with other contents`, {}, true);
    }
    // Each batch named: of the unit's GTIN, and the unit's proof leads to its root.
    const batches = new Map<number, { gtin: bigint; root: `0x${string}` }>();
    for (const u of n.units) {
      let b = batches.get(u.batch);
      if (!b) {
        const read = await deps.ledger.read.batchAt([u.batch]).catch(() => undefined);
        if (!read)
          throw new BusinessRuleError(`unit ${u.gtin}/${u.serial}: batch ${u.batch} does not exist on chain`);
        b = { gtin: read.gtin, root: read.root };
        batches.set(u.batch, b);
      }
      if (b.gtin !== BigInt(u.gtin))
        throw new BusinessRuleError(`unit ${u.gtin}/${u.serial}: batch ${u.batch} is of another GTIN`);
      if (!verifyUnitProof(b.root, u.commitment, u.proof))
        throw new BusinessRuleError(
          `unit ${u.gtin}/${u.serial}: its Merkle proof does not lead to batch ${u.batch}’s root`,
        );
    }
    const states = await chainStates(deps.ledger, n.units);
    const elsewhere = n.units.filter((_, i) => {
      const s = states[i];
      return !s || 'notInBatch' in s || s.custodian !== deps.self;
    });
    if (elsewhere.length > 0)
      throw new ConflictError(
        `refused: DrugLedger does not show ${elsewhere.length} of the ${n.units.length} units as shipped to this member (${elsewhere
          .slice(0, 3)
          .map((u) => `${u.gtin}/${u.serial}`)
          .join(', ')}${elsewhere.length > 3 ? ', …' : ''}); a notice is sent after custody moved on chain`,
      );
    deps.custody.putShipment({
      direction: 'in',
      counterparty: caller,
      id: n.id,
      status: 'in-transit',
      createdMs: (deps.now?.() ?? new Date()).getTime(),
      document: n,
    });
    return { reason: 'accepted', result: answer };
  });
}
