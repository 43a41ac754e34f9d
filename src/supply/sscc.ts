/**
 * Serial Shipping Container Codes for the cases a manufacturer packs (GS1 General Specifications
 * §2.2.1, AI 00): extension digit, the member's GS1 company prefix, a serial reference filling the
 * 17 data digits, and the Mod-10 check digit.
 */
import { InvalidInputError } from '../errors.js';
import { withCheckDigit } from './gs1CheckDigit.js';

/** The SSCC with extension digit `extension`, company prefix `prefix` and serial reference `n`. */
export function makeSscc(extension: number, prefix: string, n: number): string {
  if (!Number.isInteger(extension) || extension < 0 || extension > 9)
    throw new InvalidInputError('an SSCC extension digit is 0 to 9');
  if (!/^\d{6,12}$/.test(prefix)) throw new InvalidInputError('a GS1 company prefix has 6 to 12 digits');
  const width = 16 - prefix.length;
  if (!Number.isSafeInteger(n) || n < 0 || String(n).length > width)
    throw new InvalidInputError(`company prefix ${prefix} leaves ${width} digits for SSCC serial references`);
  return withCheckDigit(`${extension}${prefix}${String(n).padStart(width, '0')}`);
}
