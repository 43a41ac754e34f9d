/**
 * Errors of the claims domain. A malformed incoming Claim is the caller's to fix (400 at the edge,
 * through InvalidInputError); a bad edit table is ours (the shipped data file is broken).
 */
import {
  BusinessRuleError,
  ConflictError,
  type ErrorOptions,
  InvalidInputError,
  MedchainError,
  UnavailableError,
} from '../errors.js';

/** An incoming FHIR Claim that cannot be adjudicated as sent; `path` names the offending element. */
export class ClaimMalformedError extends InvalidInputError {
  constructor(
    /** FHIRPath-like location of the problem, e.g. `Claim.item[2].quantity`. */
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`, {
      issues: [{ severity: 'error', code: 'invalid', details: { text: message }, expression: [path] }],
    });
  }
}

/** An edit table (PTP or MUE data file) that does not parse or breaks its own rules. */
export class EditTableError extends MedchainError {
  constructor(table: string, message: string, options: ErrorOptions = {}) {
    super('edit-table-invalid', `edit table ${table}: ${message}`, options);
  }
}

/** A line-commitment key that is not a 32-byte secret, or a line it cannot commit to. */
export class CommitmentKeyError extends MedchainError {
  constructor(message: string) {
    super('commitment-key-invalid', message);
  }
}

/**
 * A payment run that cannot be written as an X12 835 (a pended claim, mixed payees, a value with
 * an X12 delimiter in it), or an 835 that does not read back and reconcile; `details` lists why.
 */
export class RemittanceError extends MedchainError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('remittance-invalid', message, options);
  }
}

/**
 * A claim submission the insurer will not adjudicate: its batch leaf does not match the claim, the
 * batch is not the sender's to this payer, or a line was never committed on chain (422 at the edge).
 */
export class ClaimSubmissionRefusedError extends BusinessRuleError {
  constructor(message: string) {
    super(`claim submission refused: ${message}`);
  }
}

/**
 * A `Claim/$submit` the provider's node refuses before anything is stored or anchored: the claim
 * is another provider's, names an insurer the patient has no Coverage with here, or is for a
 * patient this member does not hold (422 at the edge).
 */
export class ClaimNotSubmittableError extends BusinessRuleError {
  constructor(message: string) {
    super(`Claim/$submit refused: ${message}`);
  }
}

/** The same claim (its id, a business identifier, or its on-chain claim id) was submitted before (409). */
export class ClaimReplayedError extends ConflictError {
  constructor(message: string) {
    super(`the claim was already submitted: ${message}`, {}, true);
  }
}

/** The insurer did not answer a submission, or answered something that is no ClaimResponse to it (503). */
export class InsurerUnavailableError extends UnavailableError {
  constructor(message: string) {
    super('insurer-unavailable', message);
  }
}

/** An incoming CoverageEligibilityRequest (or an insurer's answer) that medchain cannot take as sent. */
export class EligibilityMalformedError extends InvalidInputError {
  constructor(
    /** FHIRPath-like location of the problem, e.g. `CoverageEligibilityRequest.servicedDate`. */
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`, {
      issues: [{ severity: 'error', code: 'invalid', details: { text: message }, expression: [path] }],
    });
  }
}

/** An eligibility request the provider's node cannot send: unknown patient, no coverage, no insurer. */
export class EligibilityRefusedError extends BusinessRuleError {
  constructor(
    readonly reason: 'unknown-patient' | 'no-coverage' | 'no-member-number' | 'not-an-insurer',
    message: string,
  ) {
    super(message);
  }
}

/**
 * A patient's dispute the chain refuses (or would): `reason` is the Claims custom error
 * (`ClaimsNotPatient`, `ClaimsSignatureExpired`, `ClaimsIllegalTransition`) or the relay's own
 * check (`dispute-replayed`, `dispute-wrong-round`); 409 at the edge.
 */
export class DisputeRefusedError extends ConflictError {
  constructor(
    readonly reason: string,
    message: string,
    data: Readonly<Record<string, unknown>> = {},
  ) {
    super(message, { reason, ...data });
  }
}

/** A stored claim document (the insurer's Claim or ClaimResponse) that cannot be read back for payment. */
export class ClaimDocumentError extends MedchainError {
  constructor(message: string) {
    super('claim-document-unreadable', message);
  }
}

/** A payment run asked for while another runs at this insurer (409: try again when it is done). */
export class PaymentRunBusyError extends ConflictError {
  constructor() {
    super('a payment run is under way at this insurer; try again when it has finished');
  }
}
