/**
 * One commissioning run of serialised units (one GTIN, lot and expiry), built off chain the same
 * way by the seed and by `POST /supply/commission`: random serials, each unit's keyed commitment,
 * the run's Merkle tree (unitBatch.ts), the EPCIS commissioning event (ObjectEvent ADD with lot
 * master data) and its CBV event hash. DrugLedger `commission` takes the root, the lot commitment
 * and the hash digest; once the chain has numbered the batch, `storedUnits` gives the rows the
 * member keeps.
 */
import { randomBytes } from 'node:crypto';
import type { StoredUnit } from '../store/unitStore.js';
import { commissioningEvent, type EpcisEvent } from './epcisEvents.js';
import { epcisEventHash } from './epcisHash.js';
import type { PackIdentifier } from './gs1.js';
import { buildUnitBatch, type UnitBatchTree } from './unitBatch.js';
import { type Commitment, lotCommitment, unitCommitment } from './unitCommitment.js';

const SERIAL_CHARS = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
/** A random 12-character serial (DSCSA expects serials that cannot be guessed from one another). */
export function newSerial(): string {
  // 32 characters: a byte modulo 32 is uniform.
  return [...randomBytes(12)].map((b) => SERIAL_CHARS[b % SERIAL_CHARS.length]).join('');
}

/** A commissioning run, ready to be sent to DrugLedger `commission`. */
export interface CommissioningRun {
  units: PackIdentifier[];
  commitments: Commitment[];
  tree: UnitBatchTree;
  lotCommitment: Commitment;
  event: EpcisEvent;
  /** The CBV 2.0 event hash of `event` (`ni:///sha-256;…`). */
  eventHash: string;
}

/** Build a run of `count` new units (distinct random serials) under the GTIN owner's supply key. */
export function buildCommissioningRun(
  key: Uint8Array,
  lot: { gtin: string; lot: string; expiry: string; count: number },
  ctx: { time: Date; location: string },
): CommissioningRun {
  const serials = new Set<string>();
  while (serials.size < lot.count) serials.add(newSerial());
  const units = [...serials].map((serial) => ({ gtin: lot.gtin, serial, lot: lot.lot, expiry: lot.expiry }));
  const commitments = units.map((u) => unitCommitment(key, u.gtin, u.serial));
  const event = commissioningEvent(units, ctx);
  return {
    units,
    commitments,
    tree: buildUnitBatch(commitments),
    lotCommitment: lotCommitment(key, lot.gtin, lot.lot),
    event,
    eventHash: epcisEventHash(event),
  };
}

/** The rows a member stores for a run the chain numbered `batch`. */
export function storedUnits(run: CommissioningRun, batch: number): StoredUnit[] {
  return run.units.map((u, k) => {
    const c = run.commitments[k] as Commitment;
    return { ...u, commitment: c, batch, proof: run.tree.proof(c) };
  });
}
