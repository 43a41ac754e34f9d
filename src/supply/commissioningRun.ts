/**
 * One commissioning run of serialised units (one GTIN, lot and expiry), built off chain the same
 * way by the seed and by `POST /supply/commission`: random serials, each unit's keyed commitment,
 * the run's Merkle tree (unitBatch.ts), the EPCIS commissioning event (ObjectEvent ADD with lot
 * master data) and its CBV event hash. DrugLedger `commission` takes the root, the lot commitment
 * and the hash digest; once the chain has numbered the batch, `commissionedRun` gives what the
 * member keeps (the tree once, its units) and `storedUnits` the units with their proofs (what a
 * shipment carries).
 */
import { randomBytes } from 'node:crypto';
import type { CommissionedRun, StoredUnit } from '../store/unitStore.js';
import { commissioningEvent, type EpcisEvent } from './epcisEvents.js';
import { epcisEventHash } from './epcisHash.js';
import type { PackIdentifier } from './gs1.js';
import { buildUnitBatch, type UnitBatchTree } from './unitBatch.js';
import { type Commitment, lotCommitment, unitCommitment } from './unitCommitment.js';

const SERIAL_CHARS = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const SERIAL_LENGTH = 12;
/**
 * `n` distinct random 12-character serials (DSCSA expects serials that cannot be guessed from one
 * another), from one draw of random bytes.
 */
export function newSerials(n: number): string[] {
  const serials = new Set<string>();
  while (serials.size < n) {
    const need = n - serials.size;
    const bytes = randomBytes(need * SERIAL_LENGTH);
    for (let k = 0; k < need; k++) {
      let s = '';
      // 32 characters: a byte modulo 32 is uniform.
      for (let j = k * SERIAL_LENGTH; j < (k + 1) * SERIAL_LENGTH; j++)
        s += SERIAL_CHARS[(bytes[j] as number) % SERIAL_CHARS.length];
      serials.add(s);
    }
  }
  return [...serials];
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

/**
 * Build a run of `count` new units (distinct random serials, or the `serials` given: a run
 * rebuilt from what was recorded before it was sent) under the GTIN owner's supply key.
 */
export function buildCommissioningRun(
  key: Uint8Array,
  lot: { gtin: string; lot: string; expiry: string; count: number },
  ctx: { time: Date; location: string },
  serials: readonly string[] = newSerials(lot.count),
): CommissioningRun {
  const units = serials.map((serial) => ({ gtin: lot.gtin, serial, lot: lot.lot, expiry: lot.expiry }));
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

/** The units of a run the chain numbered `batch`, each with its proof (what a shipment carries). */
export function storedUnits(run: CommissioningRun, batch: number): StoredUnit[] {
  return run.units.map((u, k) => ({
    ...u,
    commitment: run.commitments[k] as Commitment,
    batch,
    proof: run.tree.proofAt(k),
  }));
}

/** What the member stores of a run the chain numbered `batch` (UnitStore.putCommissionedRun). */
export function commissionedRun(run: CommissioningRun, batch: number): CommissionedRun {
  const first = run.units[0] as PackIdentifier;
  return {
    root: run.tree.root,
    gtin: first.gtin,
    lot: first.lot,
    batch,
    levels: run.tree.levels,
    units: run.units.map((u, k) => ({ ...u, commitment: run.commitments[k] as Commitment })),
  };
}
