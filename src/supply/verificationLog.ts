/**
 * What the transparency log keeps of a drug unit verification request, the same at the asking
 * member and at the GTIN's responder so the two entries can be matched: the action
 * `supply-verify`, no patient, and as query hash the SHA-256 of the GTIN and serial asked about
 * (a pack's identifier, not a person's); the reason is the answer.
 */
import { createHash } from 'node:crypto';
import type { Hex } from 'viem';
import type { VerificationAnswer } from './verify.js';

/** SHA-256 of the GTIN + serial asked about. */
export const verificationHash = (gtin: string, serial: string): Hex =>
  `0x${createHash('sha256').update(`medchain supply verify\n${gtin}\n${serial}`).digest('hex')}`;

/** The log reason of an answer: its failure reason or additional information, else `verified`. */
export function verificationReason(a: VerificationAnswer): string {
  const code = a.data.verificationFailureReason ?? a.data.additionalInfo ?? 'verified';
  return code.toLowerCase().replaceAll('_', '-');
}
