/**
 * A saleable return (DSCSA §582(c)(4)(D): a wholesale distributor verifies the product identifier
 * of each returned unit before it resells it): `POST /supply/return {gtin, serial, lot, expiry,
 * from?}` at the member that receives the unit back, typically the distributor a pharmacy returns
 * unsold stock to. The pharmacy hands custody back on chain first (DrugLedger `transferUnits`, the
 * custody routes' ship); the receiver then asks the GTIN's responder, and the unit goes back into
 * saleable stock only when the answer is `saleable` (genuine, right lot and expiry, in the
 * receiver's custody, not dispensed, recalled, suspect, illegitimate or expired). Otherwise it is
 * refused (409) with the verification's reason and must be set aside.
 *
 * A patient's return at the pharmacy is not a saleable return: a dispensed unit is final in
 * DrugLedger and verifies as `already-dispensed`, so it is refused here like any other.
 */
import { randomUUID } from 'node:crypto';
import type { Actor } from '../access/gatekeeper.js';
import { badRequest, ConflictError } from '../errors.js';
import type { IncidentStore } from '../store/incidentStore.js';
import type { UnitStore } from '../store/unitStore.js';
import { returnReceivingEvent, unitEpc } from './epcisEvents.js';
import { epcisEventHash } from './epcisHash.js';
import { packIdentifierOf } from './gs1.js';
import { parseGln } from './gs1CheckDigit.js';
import { supplyLogger } from './supplyLog.js';
import { verificationHash, verificationReason } from './verificationLog.js';
import { type RequesterDeps, type VerificationResult, verifyAtResponder } from './verificationRequester.js';

export interface ReturnDeps extends RequesterDeps {
  units: UnitStore;
  incidents: IncidentStore;
  now: () => Date;
}

const FIELDS = ['gtin', 'serial', 'lot', 'expiry', 'from'];

/** Receive a returned unit for `actor`: back to saleable stock only when it verifies saleable. */
export async function receiveReturn(
  deps: ReturnDeps,
  actor: Actor,
  body: unknown,
): Promise<{ returned: true; saleable: true; id: string; verification: VerificationResult }> {
  const b = body as Record<string, unknown> | undefined;
  if (!b || typeof b !== 'object' || Array.isArray(b))
    throw badRequest('send {gtin, serial, lot, expiry, from?}: the product identifier on the returned pack');
  for (const k of Object.keys(b))
    if (!FIELDS.includes(k))
      throw badRequest(`"${k.slice(0, 40)}" is not a field of a return (${FIELDS.join(', ')})`);
  for (const k of ['gtin', 'serial', 'lot', 'expiry'] as const)
    if (typeof b[k] !== 'string')
      throw badRequest(`${k} must be a string: the whole product identifier is verified`);
  if (b.from !== undefined && typeof b.from !== 'string')
    throw badRequest('from must be the GLN of the returning party');
  const id = packIdentifierOf(b);
  const from = b.from === undefined ? undefined : parseGln(b.from as string);
  const qh = verificationHash(id.gtin, id.serial);
  const log = supplyLogger(deps.log, actor.id, 'supply-return', qh);
  // Verified first (the role check and both log entries are verification's).
  const verification = await verifyAtResponder(deps, actor, id);
  const at = deps.now();
  const gln = deps.units.setting('gln');
  const record = (accepted: boolean, why: string) => {
    const incident = randomUUID();
    if (gln && from) {
      const event = returnReceivingEvent(
        [unitEpc(id)],
        { from, to: gln },
        { time: at, location: gln },
        accepted,
      );
      deps.units.putEvent(epcisEventHash(event), event);
    }
    deps.incidents.putIncident({
      id: incident,
      kind: 'return',
      gtin: id.gtin,
      lot: id.lot,
      serials: [id.serial],
      reason: why,
      outcome: accepted ? 'accepted' : 'refused',
      actor: actor.id,
      txHash: null,
      atMs: at.getTime(),
    });
    return incident;
  };
  if (!verification.answer.saleable) {
    const why = verificationReason(verification.answer);
    record(false, why);
    await log('deny', why);
    throw new ConflictError(
      `return not accepted for resale: the pack is ${why} (${verification.answer.findings.join(', ') || 'not verified'}); set it aside and do not resell it`,
      { verification },
    );
  }
  if (!deps.units.unit(id.gtin, id.serial)) {
    // Saleable means this member is its custodian, but without its commitment and proof it could
    // never ship or dispense it: the unit's record must come with its custody (custody routes).
    record(false, 'no-unit-record');
    await log('deny', 'no-unit-record');
    throw new ConflictError(
      'return not accepted: the unit is in this member’s custody on chain but this member holds no record of it (its commitment and proof); receive it through the custody routes first',
      { verification },
    );
  }
  const incident = record(true, 'verified');
  await log('permit', 'accepted');
  return { returned: true, saleable: true, id: incident, verification };
}
