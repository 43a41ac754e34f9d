/**
 * The GS1 Modulo 10 check digit of GTINs and SSCCs (GS1 General Specifications §7.9.1): weights 3
 * and 1 alternate from the rightmost data digit; the check digit brings the sum to a multiple of 10.
 */
import { Gs1CheckDigitError, Gs1SyntaxError } from './supplyErrors.js';

/** The check digit of `digits` (the data digits without their check digit). */
export function gs1CheckDigit(digits: string): number {
  if (!/^\d+$/.test(digits))
    throw new Gs1SyntaxError(`a GS1 key has digits only, not ${JSON.stringify(digits)}`);
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    const d = digits.charCodeAt(digits.length - 1 - i) - 48;
    sum += i % 2 === 0 ? d * 3 : d;
  }
  return (10 - (sum % 10)) % 10;
}

function checked(key: 'GTIN' | 'SSCC', value: string): string {
  const expected = gs1CheckDigit(value.slice(0, -1));
  if (Number(value.at(-1)) !== expected) throw new Gs1CheckDigitError(key, value, expected);
  return value;
}

/**
 * A GTIN-8, -12, -13 or -14 with a correct check digit, as its 14-digit form (left zero-padded, the
 * form of AI (01) and of canonical Digital Links). Throws Gs1CheckDigitError naming a wrong digit.
 */
export function parseGtin(value: string): string {
  if (!/^(\d{8}|\d{12}|\d{13}|\d{14})$/.test(value)) {
    throw new Gs1SyntaxError(`a GTIN has 8, 12, 13 or 14 digits, not ${JSON.stringify(value)}`);
  }
  return checked('GTIN', value).padStart(14, '0');
}

/** An 18-digit SSCC (a case or pallet) with a correct check digit. */
export function parseSscc(value: string): string {
  if (!/^\d{18}$/.test(value))
    throw new Gs1SyntaxError(`an SSCC has 18 digits, not ${JSON.stringify(value)}`);
  return checked('SSCC', value);
}

/** `data` followed by its check digit (to make GTINs and SSCCs, e.g. for a catalogue or a test). */
export function withCheckDigit(data: string): string {
  return `${data}${gs1CheckDigit(data)}`;
}

/** A 13-digit GLN (a party or a location) with a correct check digit. */
export function parseGln(value: string): string {
  if (!/^\d{13}$/.test(value)) throw new Gs1SyntaxError(`a GLN has 13 digits, not ${JSON.stringify(value)}`);
  const expected = gs1CheckDigit(value.slice(0, -1));
  if (Number(value.at(-1)) !== expected) {
    throw new Gs1SyntaxError(
      `GLN ${value} has check digit ${value.at(-1)} but its other digits give ${expected}`,
    );
  }
  return value;
}
