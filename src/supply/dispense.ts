/**
 * Dispensing a drug unit (`POST /supply/dispense`, a pharmacist, {gtin, serial, lot, expiry}): the
 * pack is verified at its GTIN's responder first and dispensed only when the answer is `saleable`
 * (genuine, in this member's custody, not recalled, expired, suspect or seen elsewhere); then
 * DrugLedger `setStatus(Dispensed)` through the outbox, with the EPCIS dispensing event's hash, and
 * the event stored here. A recalled, expired or suspect pack is refused (409) with the answer.
 *
 * With `patient` (`Patient/{id}`) and optionally `medicationRequest` (`MedicationRequest/{id}`, of
 * that patient), the dispense is also stored as a FHIR MedicationDispense at this member
 * (medicationDispense.ts) carrying the pack's identifier and the verification; both references
 * are checked before anything is sent to the chain.
 */
import type { MedicationDispense } from '@medplum/fhirtypes';
import type { Actor } from '../access/gatekeeper.js';
import type { Outbox } from '../chain/outbox.js';
import { badRequest, ConflictError, notFound, UnavailableError } from '../errors.js';
import { FHIR_ID } from '../fhir/validate.js';
import type { UnitStore } from '../store/unitStore.js';
import { dispensingEvent, unitEpc } from './epcisEvents.js';
import { epcisEventHash, eventHashDigest } from './epcisHash.js';
import { packIdentifierOf } from './gs1.js';
import { medicationDispenseOf } from './medicationDispense.js';
import { supplyLogger } from './supplyLog.js';
import { verificationHash, verificationReason } from './verificationLog.js';
import { type RequesterDeps, type VerificationResult, verifyAtResponder } from './verificationRequester.js';

/** DrugLedger.sol `Status.Dispensed`. */
const DISPENSED = 2;

/** Where the MedicationDispense goes (the gatekeeper: role-checked and logged like any write). */
export interface DispenseRecords {
  /** Throws (400/404) unless the Patient exists and the MedicationRequest, if named, is that patient's. */
  checkTargets(
    actor: Actor,
    patientId: string,
    medicationRequestId: string | undefined,
  ): Promise<{ productName?: string }>;
  /** Store the MedicationDispense for `actor`; its id. */
  create(actor: Actor, resource: MedicationDispense): Promise<string>;
}

export interface DispenseDeps extends RequesterDeps {
  outbox: Outbox;
  units: UnitStore;
  records?: DispenseRecords;
  now?: () => Date;
}

function reference(v: unknown, type: 'Patient' | 'MedicationRequest'): string {
  if (typeof v !== 'string' || !v.startsWith(`${type}/`) || !FHIR_ID.test(v.slice(type.length + 1)))
    throw badRequest(
      `${type === 'Patient' ? 'patient' : 'medicationRequest'} must be a reference "${type}/{id}"`,
    );
  return v.slice(type.length + 1);
}

/** Dispense the pack named in `body` for `actor`, once verified saleable; resolves once on chain. */
export async function dispenseUnit(
  deps: DispenseDeps,
  actor: Actor,
  body: unknown,
): Promise<{
  dispensed: true;
  verification: VerificationResult;
  txHash: string | null;
  medicationDispense?: string;
}> {
  const b = body as Record<string, unknown> | undefined;
  const fields = ['gtin', 'serial', 'lot', 'expiry'] as const;
  if (!b || typeof b !== 'object' || fields.some((k) => typeof b[k] !== 'string'))
    throw badRequest('send {gtin, serial, lot, expiry}: the whole product identifier on the pack');
  for (const k of Object.keys(b))
    if (![...fields, 'patient', 'medicationRequest'].includes(k))
      throw badRequest(
        `"${k.slice(0, 40)}" is not a field of a dispense (gtin, serial, lot, expiry, patient?, medicationRequest?)`,
      );
  if (b.medicationRequest !== undefined && b.patient === undefined)
    throw badRequest('a medicationRequest needs the patient it was written for');
  const patientId = b.patient === undefined ? undefined : reference(b.patient, 'Patient');
  const requestId =
    b.medicationRequest === undefined ? undefined : reference(b.medicationRequest, 'MedicationRequest');
  const id = packIdentifierOf(b);
  let productName: string | undefined;
  if (patientId !== undefined) {
    if (!deps.records) throw badRequest('this node does not store MedicationDispense records');
    ({ productName } = await deps.records.checkTargets(actor, patientId, requestId));
  }
  const qh = verificationHash(id.gtin, id.serial);
  const log = supplyLogger(deps.log, actor.id, 'supply-dispense', qh, 'treatment');
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
  if (patientId === undefined || !deps.records) return { dispensed: true, verification, txHash: done.txHash };
  const resource = medicationDispenseOf(id, verification, {
    patient: `Patient/${patientId}`,
    ...(requestId === undefined ? {} : { medicationRequest: `MedicationRequest/${requestId}` }),
    ...(productName === undefined ? {} : { productName }),
    at: deps.now?.() ?? new Date(),
    txHash: done.txHash,
  });
  const medicationDispense = await deps.records.create(actor, resource);
  return {
    dispensed: true,
    verification,
    txHash: done.txHash,
    medicationDispense: `MedicationDispense/${medicationDispense}`,
  };
}
