/**
 * The dispute facts a patient needs to dispute a claim billed in their name (issue 13): the
 * claim's on-chain id and the salt of its patient commitment, carried on the patient's
 * ExplanationOfBenefit at the insurer as the extension `urn:medchain:extension:claim-dispute`.
 * Pure and free of Node APIs: the node writes it and the portal reads it with this module.
 */
import type { ExplanationOfBenefit, Extension } from '@medplum/fhirtypes';
import type { Hex } from 'viem';

/** Extension on the patient's EOB with what a dispute needs: sub-extensions `claimId` and `salt`. */
export const DISPUTE_EXTENSION = 'urn:medchain:extension:claim-dispute';
const BYTES32 = /^0x[0-9a-f]{64}$/;

/** The dispute facts carried on the patient's EOB (see DISPUTE_EXTENSION). */
export function disputeExtension(claimId: Hex, salt: Hex): Extension {
  return {
    url: DISPUTE_EXTENSION,
    extension: [
      { url: 'claimId', valueString: claimId },
      { url: 'salt', valueString: salt },
    ],
  };
}

/** The claim id and salt a patient needs to dispute the claim an EOB explains, if it carries them. */
export function disputeFactsOf(eob: ExplanationOfBenefit): { claimId: Hex; salt: Hex } | undefined {
  const ext = eob.extension?.find((e) => e.url === DISPUTE_EXTENSION)?.extension ?? [];
  const claimId = ext.find((e) => e.url === 'claimId')?.valueString;
  const salt = ext.find((e) => e.url === 'salt')?.valueString;
  return claimId && salt && BYTES32.test(claimId) && BYTES32.test(salt)
    ? { claimId: claimId as Hex, salt: salt as Hex }
    : undefined;
}
