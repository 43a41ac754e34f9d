/**
 * Errors of the drug supply domain. Malformed barcodes are `InvalidInputError`s (a 400 at the HTTP
 * edge) with their own stable codes, so a scanner client can tell a mistyped code from a bad request.
 */
import { ConflictError, InvalidInputError, MedchainError } from '../errors.js';

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

/** One thing a receipt found wrong with what arrived (receive.ts). */
export interface ReceiptFinding {
  /**
   * `case-missing`, `case-not-in-shipment`, `case-contents` (an opened case differs from its
   * aggregation), `unit-missing`, `unit-not-in-shipment`, `diverted` (the GTIN's responder says the
   * unit is not in this member's custody), `not-commissioned`, `not-in-custody` (DrugLedger shows
   * another custodian for a unit of the shipment).
   */
  problem: string;
  /** The SSCC or `gtin/serial` concerned. */
  item: string;
  /** What to tell the person at the dock. */
  text: string;
  missing?: string[];
  unexpected?: string[];
  duplicates?: string[];
}

/** A receipt refused because what arrived does not match the shipment or the chain (a 409). */
export class ReceiptRefusedError extends ConflictError {
  /** The transparency log's reason for a refused receipt. */
  readonly logReason = 'receipt-mismatch';
  constructor(
    message: string,
    readonly findings: readonly ReceiptFinding[],
    readonly shipment: string | null,
  ) {
    super(message, { findings, shipment });
  }
}
