/**
 * FHIR OperationOutcome errors: the one place where failures become HTTP statuses and
 * OperationOutcome bodies (after Medplum's outcomes.ts). Messages are for the API user; they never
 * include stack traces or stored content.
 */
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { MedchainError } from '../errors.js';

export type IssueCode = OperationOutcomeIssue['code'];

/** A failure with an HTTP status and an OperationOutcome issue code. */
export class FhirError extends MedchainError {
  readonly status: number;
  readonly issueCode: IssueCode;
  readonly issues: OperationOutcomeIssue[];

  constructor(
    status: number,
    issueCode: IssueCode,
    message: string,
    opts: { issues?: OperationOutcomeIssue[]; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(`fhir-${status}`, message, { cause: opts.cause });
    this.status = status;
    this.issueCode = issueCode;
    this.issues = opts.issues ?? [];
    this.headers = opts.headers ?? {};
  }

  readonly headers: Record<string, string>;
}

export const badRequest = (msg: string, issues?: OperationOutcomeIssue[]) =>
  new FhirError(400, 'invalid', msg, issues ? { issues } : {});
export const notSupported = (msg: string) => new FhirError(400, 'not-supported', msg);
export const unauthorized = (
  msg = 'sign in first: send Authorization: Bearer <access_token> from POST /auth/login',
) => new FhirError(401, 'login', msg, { headers: { 'www-authenticate': 'Bearer' } });
export const forbidden = (msg: string) => new FhirError(403, 'forbidden', msg);
export const notFound = (msg: string) => new FhirError(404, 'not-found', msg);
export const gone = (msg: string) => new FhirError(410, 'deleted', msg);
export const conflict = (msg: string) => new FhirError(409, 'conflict', msg);
export const preconditionFailed = (msg: string) => new FhirError(412, 'conflict', msg);
export const unprocessable = (msg: string, issues?: OperationOutcomeIssue[]) =>
  new FhirError(422, 'processing', msg, issues ? { issues } : {});
export const tooMany = (msg: string, retryAfterSeconds: number) =>
  new FhirError(429, 'throttled', msg, { headers: { 'retry-after': String(retryAfterSeconds) } });

/** An OperationOutcome with one error issue (plus any detailed issues). */
export function outcome(
  severity: OperationOutcomeIssue['severity'],
  code: IssueCode,
  text: string,
  more: OperationOutcomeIssue[] = [],
): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, details: { text } }, ...more] };
}

/** The OperationOutcome for a FhirError. */
export function errorOutcome(err: FhirError): OperationOutcome {
  return outcome('error', err.issueCode, err.message, err.issues);
}

/** A success/information outcome (e.g. for batch entries and deletes). */
export const okOutcome = (text: string): OperationOutcome => outcome('information', 'informational', text);

/** The log reason code of an HTTP status (what the transparency log records for a refusal). */
export function reasonCode(status: number): string {
  const codes: Record<number, string> = {
    400: 'bad-request',
    401: 'unauthenticated',
    403: 'role',
    404: 'not-found',
    409: 'conflict',
    410: 'gone',
    412: 'precondition',
    413: 'too-large',
    415: 'bad-media-type',
    422: 'invalid',
    429: 'throttled',
  };
  return codes[status] ?? 'error';
}
