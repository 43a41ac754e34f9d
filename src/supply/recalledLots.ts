/**
 * The recalled lots this member holds (`GET /supply/recalls`, administrators and pharmacists): a
 * recall is on chain the moment the manufacturer sends it (src/supply/recall.ts), so each holder
 * reads it there rather than waiting to be told. For every batch this member has records of, the
 * batch's lot commitment is read from DrugLedger and asked `isLotRecalled`; for a recalled lot,
 * the units DrugLedger still shows in this member's custody are listed (to set aside and return).
 * A lot of which it holds nothing now is left out. Logged `supply-recall` (reason `listed`).
 */
import type { Address } from 'viem';
import type { Actor } from '../access/gatekeeper.js';
import type { DrugLedgerContract } from '../chain/contracts.js';
import { forbidden } from '../errors.js';
import type { TransparencyLog } from '../log/transparencyLog.js';
import type { UnitStore } from '../store/unitStore.js';
import { chainStates } from './chainCustody.js';
import { custodyHash, loggedCustody } from './custodyLog.js';

const READERS: readonly string[] = ['admin', 'pharmacist'];

export interface RecalledLotsDeps {
  ledger: DrugLedgerContract;
  log: TransparencyLog;
  units: UnitStore;
  self: Address;
}

/** A recalled lot and the units of it in this member's custody. */
export interface RecalledLot {
  gtin: string;
  lot: string;
  expiry: string;
  units: { gtin: string; serial: string }[];
}

/** The recalled lots `actor`'s member holds units of now, by GTIN and lot. */
export function recalledLotsHeld(deps: RecalledLotsDeps, actor: Actor): Promise<{ lots: RecalledLot[] }> {
  return loggedCustody(deps.log, actor.id, 'supply-recall', async (l) => {
    l.queryHash = custodyHash('recalled-lots', deps.self);
    if (!READERS.includes(actor.role))
      throw forbidden('the recalled lots held are for the member’s administrators and pharmacists', 'role');
    const byLot = new Map<string, RecalledLot>();
    for (const b of deps.units.lots()) {
      const batch = await deps.ledger.read.batchAt([b.batch]);
      if (!(await deps.ledger.read.isLotRecalled([batch.lot]))) continue;
      const units = deps.units.unitsOfLot(b.gtin, b.lot).filter((u) => u.batch === b.batch);
      const states = await chainStates(deps.ledger, units);
      const held = units.filter((_, i) => {
        const s = states[i];
        return s && !('notInBatch' in s) && s.custodian === deps.self && s.status === 'recalled';
      });
      if (held.length === 0) continue;
      const key = `${b.gtin}/${b.lot}`;
      const lot = byLot.get(key) ?? { gtin: b.gtin, lot: b.lot, expiry: b.expiry, units: [] };
      lot.units.push(...held.map((u) => ({ gtin: u.gtin, serial: u.serial })));
      byLot.set(key, lot);
    }
    return { reason: 'listed', result: { lots: [...byLot.values()] } };
  });
}
