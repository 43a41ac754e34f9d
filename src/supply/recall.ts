/**
 * A manufacturer recalls a lot (`POST /supply/recall`, {gtin, lot}): DrugLedger `recallLot` of the
 * lot's keyed commitment, sent through the member's outbox, so every holder's verification reads
 * Recalled and the contract refuses to dispense the lot from then on. Logged (`supply-recall`)
 * with the outcome, after the chain has answered.
 */
import type { Address } from 'viem';
import type { Actor } from '../access/gatekeeper.js';
import type { Outbox } from '../chain/outbox.js';
import { badRequest, forbidden, notFound, UnavailableError } from '../errors.js';
import type { TransparencyLog } from '../log/transparencyLog.js';
import type { UnitStore } from '../store/unitStore.js';
import { writeDigitalLink } from './gs1.js';
import { supplyLogger } from './supplyLog.js';
import { lotCommitment } from './unitCommitment.js';
import { verificationHash } from './verificationLog.js';

export interface RecallDeps {
  outbox: Outbox;
  ledger: Address;
  log: TransparencyLog;
  units: UnitStore;
  supplyKey: Uint8Array;
}

/** User roles that may recall a lot: the member's administrators (an operations decision). */
const RECALLERS: readonly string[] = ['admin'];

/** Recall the lot named in `body` for `actor`; resolves once the chain confirmed it. */
export async function recallLot(
  deps: RecallDeps,
  actor: Actor,
  body: unknown,
): Promise<{ gtin: string; lot: string; recalled: true; txHash: string | null }> {
  const b = body as Record<string, unknown> | undefined;
  if (!b || typeof b !== 'object' || typeof b.gtin !== 'string' || typeof b.lot !== 'string')
    throw badRequest('send {gtin, lot}');
  writeDigitalLink({ gtin: b.gtin, lot: b.lot }); // checks the check digit and the lot by GS1 rules
  const { gtin, lot } = b as { gtin: string; lot: string };
  const qh = verificationHash(gtin, `lot:${lot}`);
  const log = supplyLogger(deps.log, actor.id, 'supply-recall', qh);
  if (!RECALLERS.includes(actor.role)) {
    await log('deny', 'role');
    throw forbidden('recalling a lot is for the manufacturer’s administrators', 'role');
  }
  if (deps.units.unitsOfLot(gtin, lot).length === 0) {
    await log('deny', 'not-found');
    throw notFound(
      `this member holds no unit of GTIN ${gtin} lot ${lot}; only the manufacturer that commissioned it recalls it`,
    );
  }
  const commitment = lotCommitment(deps.supplyKey, gtin, lot);
  const queued = deps.outbox.enqueue({
    key: `recall:${commitment}`,
    contract: 'DrugLedger',
    address: deps.ledger,
    functionName: 'recallLot',
    // No EPCIS event stands for a recall (CBV 2.0 has no recall step): a zero event hash.
    args: [commitment, `0x${'00'.repeat(32)}`],
    description: 'recall a lot',
  });
  const done = await deps.outbox.flushUntilSettled(queued.key);
  if (done?.status === 'failed') {
    // DrugLedger lets only the manufacturer that commissioned the lot recall it.
    await log('deny', 'refused');
    throw forbidden(`the chain refused the recall: ${done.error ?? 'no reason given'}`, 'refused');
  }
  if (done?.status !== 'confirmed') {
    await log('deny', 'pending');
    throw new UnavailableError(
      'recall-not-confirmed',
      'the recall is sent but not confirmed yet; ask again in a moment (it is sent once)',
    );
  }
  await log('permit', 'recalled');
  return { gtin, lot, recalled: true, txHash: done.txHash };
}
