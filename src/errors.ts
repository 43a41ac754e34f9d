/**
 * The one error base of medchain: a stable machine-readable `code`, a short message a user can act
 * on, optional details, and the underlying cause. Each domain failure has its own subclass; none of
 * them knows HTTP. `src/fhir/outcomes.ts` maps them to statuses and OperationOutcomes in one place.
 */
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';

export interface ErrorOptions {
  details?: readonly string[];
  cause?: unknown;
}

export class MedchainError extends Error {
  readonly code: string;
  readonly details: readonly string[];

  constructor(code: string, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details ?? [];
  }
}

/** Input from a user, file or network peer that we refuse; the message says what to fix. */
export class InvalidInputError extends MedchainError {
  /** FHIR issues that locate the problem (validation), when there are any. */
  readonly issues: readonly OperationOutcomeIssue[];
  constructor(message: string, options: ErrorOptions & { issues?: readonly OperationOutcomeIssue[] } = {}) {
    super('invalid-input', message, options);
    this.issues = options.issues ?? [];
  }
}

/** A well-formed request for something this node does not do (a search modifier, a Bundle type...). */
export class NotSupportedError extends MedchainError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('not-supported', message, options);
  }
}

/** A resource that is well-formed but breaks FHIR or medchain rules (validation issues attached). */
export class InvalidResourceError extends MedchainError {
  readonly issues: readonly OperationOutcomeIssue[];
  constructor(message: string, options: ErrorOptions & { issues?: readonly OperationOutcomeIssue[] } = {}) {
    super('invalid-resource', message, options);
    this.issues = options.issues ?? [];
  }
}

/** No valid credential: no token, an expired one, or a signature that does not check. */
export class UnauthenticatedError extends MedchainError {
  constructor(message = 'sign in first: send Authorization: Bearer <access_token> from POST /auth/login') {
    super('unauthenticated', message);
  }
}

/**
 * The access decision refused: a role, a purpose, a member role or the patient's consent does not
 * allow it. `reason` is the log's reason code (never a category or any other detail of the data).
 */
export class AccessDeniedError extends MedchainError {
  constructor(
    message: string,
    readonly reason: string = 'role',
  ) {
    super('access-denied', message);
  }
}

export class NotFoundError extends MedchainError {
  constructor(message: string) {
    super('not-found', message);
  }
}

/** The record existed and was erased (crypto-shredded). */
export class GoneError extends MedchainError {
  constructor(message: string) {
    super('gone', message);
  }
}

/** The state moved on under the request (a concurrent write, a replica cursor, a repeat). */
export class ConflictError extends MedchainError {
  constructor(
    message: string,
    /** Machine-readable facts for the caller (e.g. a replica's log size). */
    readonly data: Readonly<Record<string, unknown>> = {},
    readonly duplicate = false,
  ) {
    super(duplicate ? 'duplicate' : 'conflict', message);
  }
}

/** An If-Match (or similar) precondition did not hold. */
export class PreconditionFailedError extends MedchainError {
  constructor(message: string) {
    super('precondition-failed', message);
  }
}

/** A valid request that a business rule refused (e.g. the chain reverted a consent change). */
export class BusinessRuleError extends MedchainError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('business-rule', message, options);
  }
}

/** Too many attempts; try again after `retryAfterSeconds`. */
export class ThrottledError extends MedchainError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('throttled', message);
  }
}

/** Something this node depends on is down; nothing was served. Transient: retry later. */
export class UnavailableError extends MedchainError {
  constructor(code: string, message: string, options: ErrorOptions & { retryAfterSeconds?: number } = {}) {
    super(code, message, options);
    this.retryAfterSeconds = options.retryAfterSeconds ?? 5;
  }
  readonly retryAfterSeconds: number;
}

/** The chain (JSON-RPC) did not answer, so no decision that needs it could be made. */
export class ChainUnavailableError extends UnavailableError {
  constructor(cause?: unknown) {
    super(
      'chain-unavailable',
      'the blockchain cannot be reached right now, so nothing was decided; try again shortly',
      {
        cause,
      },
    );
  }
}

/** A port this node (or a member of the local network) must listen on is taken by another program. */
export class PortInUseError extends MedchainError {
  constructor(
    message: string,
    readonly port: number,
  ) {
    super('port-in-use', message);
  }
}

/** A member node process did not start: it exited or did not say where it listens in time. */
export class NodeStartError extends MedchainError {
  constructor(code: 'node-start-failed' | 'node-start-timeout', message: string) {
    super(code, message);
  }
}

export const badRequest = (msg: string, issues?: readonly OperationOutcomeIssue[]) =>
  new InvalidInputError(msg, issues ? { issues } : {});
export const notSupported = (msg: string) => new NotSupportedError(msg);
export const unauthorized = (msg?: string) => new UnauthenticatedError(msg);
export const forbidden = (msg: string, reason?: string) => new AccessDeniedError(msg, reason);
export const notFound = (msg: string) => new NotFoundError(msg);
export const gone = (msg: string) => new GoneError(msg);
export const conflict = (msg: string, data?: Record<string, unknown>) => new ConflictError(msg, data);
export const preconditionFailed = (msg: string) => new PreconditionFailedError(msg);
export const unprocessable = (msg: string, issues?: readonly OperationOutcomeIssue[]) =>
  new InvalidResourceError(msg, issues ? { issues } : {});
export const tooMany = (msg: string, retryAfterSeconds: number) => new ThrottledError(msg, retryAfterSeconds);

/** Short text of any thrown value, for one-line CLI and log messages (never a stack trace). */
export function errorMessage(err: unknown): string {
  if (err instanceof MedchainError) return err.message;
  if (err instanceof Error) {
    const short = (err as { shortMessage?: unknown }).shortMessage;
    return typeof short === 'string' ? short : err.message;
  }
  return String(err);
}
