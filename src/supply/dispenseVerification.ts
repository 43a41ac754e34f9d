/**
 * The supply chain verification a MedicationDispense carries (medicationDispense.ts writes it):
 * the extension's URL and a reader, shared by the node and the portal (no imports: the portal
 * bundles it as it is).
 */

/** The extension that carries the supply chain verification of the dispensed pack. */
export const DISPENSE_VERIFICATION_EXTENSION =
  'https://medchain.dev/fhir/StructureDefinition/supply-verification';

/** What a patient is shown: whether the pack was verified authentic, by whom and when. */
export interface DispenseVerification {
  verified: boolean;
  responder: string;
  verifiedAt: string;
}

interface Ext {
  url?: string;
  valueBoolean?: boolean;
  valueString?: string;
  valueDateTime?: string;
  extension?: Ext[];
}

/** The verification of a MedicationDispense, or undefined when it carries none (or a malformed one). */
export function dispenseVerificationOf(r: { extension?: Ext[] }): DispenseVerification | undefined {
  const parts = r.extension?.find((e) => e.url === DISPENSE_VERIFICATION_EXTENSION)?.extension;
  const part = (url: string) => parts?.find((e) => e.url === url);
  const verified = part('verified')?.valueBoolean;
  const responder = part('responder')?.valueString;
  const verifiedAt = part('verifiedAt')?.valueDateTime;
  if (typeof verified !== 'boolean' || !responder || !verifiedAt) return undefined;
  return { verified, responder, verifiedAt };
}
