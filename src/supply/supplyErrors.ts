/**
 * Errors of the drug supply domain. Malformed barcodes are `InvalidInputError`s (a 400 at the HTTP
 * edge) with their own stable codes, so a scanner client can tell a mistyped code from a bad request.
 */
import { InvalidInputError, MedchainError } from '../errors.js';

/** A GS1 element string or Digital Link that does not follow the GS1 syntax; the message says where. */
export class Gs1SyntaxError extends InvalidInputError {
  override readonly code = 'gs1-syntax';
}

/** A GS1 key (GTIN, SSCC) whose check digit is wrong: mistyped, misread or forged. */
export class Gs1CheckDigitError extends InvalidInputError {
  override readonly code = 'gs1-check-digit';
  constructor(
    /** `GTIN` or `SSCC`. */
    readonly key: 'GTIN' | 'SSCC',
    /** The key as given. */
    readonly value: string,
    /** The check digit the other digits call for. */
    readonly expected: number,
  ) {
    super(
      `${key} ${value} has check digit ${value.at(-1)} but its other digits give ${expected}: the code was mistyped, misread or is not genuine`,
    );
  }
}

/** An EPCIS event this module cannot build or hash (a field it does not support, a bad value). */
export class EpcisEventError extends MedchainError {
  constructor(message: string) {
    super('epcis-event', message);
  }
}
