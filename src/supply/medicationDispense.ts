/**
 * The FHIR R4 MedicationDispense a pharmacy stores when it dispenses a verified unit to a named
 * patient (docs/supply-chain.md "MedicationDispense"), so the patient reads in their own records
 * that the medicine handed to them was verified authentic, by whom and when.
 *
 * - The pack is a contained Medication: `code` the GTIN (system `urn:oid:1.3.160`, GS1's GTIN OID
 *   as HL7 terminology names it), `batch.lotNumber` and `batch.expirationDate` the lot and expiry,
 *   `identifier` the unit's whole GS1 Digital Link (GTIN, lot, serial, expiry: R4 Medication has
 *   no serial number element; R5's `Medication.instance` would be the place).
 * - The verification is one complex extension (`DISPENSE_VERIFICATION_EXTENSION`): `verified`,
 *   `saleable`, `verifiedAt` (the responder's timestamp), `responder` (its name), `responderAddress`
 *   (its chain address), `responderGLN`, and `txHash` of the DrugLedger dispense.
 */
import type { MedicationDispense } from '@medplum/fhirtypes';
import { DISPENSE_VERIFICATION_EXTENSION } from './dispenseVerification.js';
import { gs1DateEnd, type PackIdentifier, writeDigitalLink } from './gs1.js';
import type { VerificationResult } from './verificationRequester.js';

export { DISPENSE_VERIFICATION_EXTENSION } from './dispenseVerification.js';

/** The code system of a GTIN (GS1's OID). */
export const GTIN_SYSTEM = 'urn:oid:1.3.160';

/** Build the MedicationDispense of a dispensed unit (validated where it is stored). */
export function medicationDispenseOf(
  pack: PackIdentifier,
  verification: VerificationResult,
  opts: {
    patient: string;
    medicationRequest?: string;
    /** The product as the prescription names it (the contained Medication's `code.text`). */
    productName?: string;
    at: Date;
    txHash: string | null;
  },
): MedicationDispense {
  const a = verification.answer;
  const expiry = new Date(gs1DateEnd(pack.expiry, opts.at) - 1).toISOString().slice(0, 10);
  return {
    resourceType: 'MedicationDispense',
    contained: [
      {
        resourceType: 'Medication',
        id: 'pack',
        identifier: [{ system: 'https://id.gs1.org', value: `${writeDigitalLink(pack)}` }],
        code: {
          coding: [{ system: GTIN_SYSTEM, code: pack.gtin }],
          ...(opts.productName ? { text: opts.productName } : {}),
        },
        batch: { lotNumber: pack.lot, expirationDate: expiry },
      },
    ],
    status: 'completed',
    medicationReference: { reference: '#pack' },
    subject: { reference: opts.patient },
    ...(opts.medicationRequest ? { authorizingPrescription: [{ reference: opts.medicationRequest }] } : {}),
    whenHandedOver: opts.at.toISOString(),
    extension: [
      {
        url: DISPENSE_VERIFICATION_EXTENSION,
        extension: [
          { url: 'verified', valueBoolean: a.data.verified },
          { url: 'saleable', valueBoolean: a.saleable },
          { url: 'verifiedAt', valueDateTime: a.verificationTimestamp },
          { url: 'responder', valueString: verification.responder.name || verification.responder.address },
          { url: 'responderAddress', valueString: verification.responder.address },
          { url: 'responderGLN', valueString: a.responderGLN },
          ...(opts.txHash ? [{ url: 'txHash', valueString: opts.txHash }] : []),
        ],
      },
    ],
  };
}
