/**
 * Dispensing a drug unit (`POST /supply/dispense`, a pharmacist, {gtin, serial, lot, expiry}): the
 * pack is verified at its GTIN's responder first and dispensed only when the answer is `saleable`
 * (genuine, in this member's custody, not recalled, expired, suspect or seen elsewhere); then
 * DrugLedger `setStatus(Dispensed)` through the outbox, with the EPCIS dispensing event's hash, and
 * the event stored here. A recalled, expired or suspect pack is refused (409) with the answer.
 */
import { entry } from '../access/accessLog.js';
import type { Actor } from '../access/gatekeeper.js';
import type { Outbox } from '../chain/outbox.js';
import { badRequest, ConflictError, notFound, UnavailableError } from '../errors.js';
import type { UnitStore } from '../store/unitStore.js';
import { dispensingEvent, unitEpc } from './epcisEvents.js';
import { epcisEventHash, eventHashDigest } from './epcisHash.js';
import { writeDigitalLink } from './gs1.js';
import { verificationHash, verificationReason } from './verificationLog.js';
import { type RequesterDeps, type VerificationResult, verifyAtResponder } from './verificationRequester.js';

/** DrugLedger.sol `Status.Dispensed`. */
const DISPENSED = 2;

export interface DispenseDeps extends RequesterDeps {
  outbox: Outbox;
  units: UnitStore;
}

/** Dispense the pack named in `body` for `actor`, once verified saleable; resolves once on chain. */
export async function dispenseUnit(
  deps: DispenseDeps,
  actor: Actor,
  body: unknown,
): Promise<{ dispensed: true; verification: VerificationResult; txHash: string | null }> {
  const b = body as Record<string, unknown> | undefined;
  const fields = ['gtin', 'serial', 'lot', 'expiry'] as const;
  if (!b || typeof b !== 'object' || fields.some((k) => typeof b[k] !== 'string'))
    throw badRequest('send {gtin, serial, lot, expiry}: the whole product identifier on the pack');
  const id = {
    gtin: b.gtin as string,
    serial: b.serial as string,
    lot: b.lot as string,
    expiry: b.expiry as string,
  };
  writeDigitalLink(id); // GS1 rules: check digit, lengths, character set, date
  const qh = verificationHash(id.gtin, id.serial);
  const log = (outcome: 'permit' | 'deny', reason: string) =>
    deps.log.append(entry(actor.id, 'supply-dispense', null, null, 'treatment', outcome, reason, qh));
  // Verified first (logged there, and at the responder); the role check is verification's.
  const verification = await verifyAtResponder(deps, actor, id);
  if (!verification.answer.saleable) {
    const why = verificationReason(verification.answer);
    await log('deny', why);
    throw new ConflictError(
      `not dispensed: the pack is ${why} (${verification.answer.findings.join(', ') || 'not verified'}); set it aside and do not give it to a patient`,
      { verification },
    );
  }
  const unit = deps.units.unit(id.gtin, id.serial);
  if (!unit) {
    await log('deny', 'not-received');
    throw notFound('this member has no record of receiving the pack (its shipment was not received here)');
  }
  const gln = deps.units.setting('gln');
  let eventHash: `0x${string}` = `0x${'00'.repeat(32)}`;
  let event: ReturnType<typeof dispensingEvent> | undefined;
  if (gln) {
    event = dispensingEvent([unitEpc(id)], { time: new Date(), location: gln });
    eventHash = eventHashDigest(epcisEventHash(event));
  }
  const queued = deps.outbox.enqueue({
    key: `dispense:${unit.commitment}`,
    contract: 'DrugLedger',
    address: deps.ledger.address,
    functionName: 'setStatus',
    args: [[{ id: unit.commitment, batch: unit.batch, proof: unit.proof }], DISPENSED, eventHash],
    description: 'dispense a drug unit',
  });
  const done = await deps.outbox.flushUntilSettled(queued.key);
  if (done?.status === 'failed') {
    await log('deny', 'refused');
    throw new ConflictError(`not dispensed: the chain refused it (${done.error ?? 'no reason given'})`, {});
  }
  if (done?.status !== 'confirmed') {
    await log('deny', 'pending');
    throw new UnavailableError(
      'dispense-not-confirmed',
      'the dispense is sent but not confirmed yet; ask again in a moment',
    );
  }
  if (event) deps.units.putEvent(epcisEventHash(event), event);
  await log('permit', 'dispensed');
  return { dispensed: true, verification, txHash: done.txHash };
}
