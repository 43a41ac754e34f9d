/**
 * FHIR OperationOutcome bodies, and the ONE place where failures become HTTP statuses (after
 * Medplum's outcomes.ts): domain errors from src/errors.ts (and the log's LogUnavailableError) are
 * thrown below the API and mapped here, both for whole responses and for Bundle entries. Messages
 * are for the API user; they never include stack traces or stored content.
 */
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import {
  AccessDeniedError,
  BusinessRuleError,
  ConflictError,
  GoneError,
  InvalidInputError,
  InvalidResourceError,
  MedchainError,
  NotFoundError,
  NotSupportedError,
  PreconditionFailedError,
  ThrottledError,
  UnauthenticatedError,
  UnavailableError,
} from '../errors.js';

export type IssueCode = OperationOutcomeIssue['code'];

/** What a failure looks like on the wire. `reason` is the transparency log's reason code for it. */
export interface HttpFailure {
  status: number;
  issueCode: IssueCode;
  message: string;
  issues: readonly OperationOutcomeIssue[];
  headers: Record<string, string>;
  reason: string;
  /** Machine-readable facts some callers need (e.g. a replica's log size on a 409). */
  data?: Readonly<Record<string, unknown>>;
  /** True when this is our own fault (an unexpected error): the caller reports it, without internals. */
  internal: boolean;
}

const REASONS: Record<number, string> = {
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
  503: 'unavailable',
};

/** The log reason code of an HTTP status (what the transparency log records for a refusal). */
export const reasonCode = (status: number): string => REASONS[status] ?? 'error';

function failure(
  status: number,
  issueCode: IssueCode,
  message: string,
  more: Partial<Omit<HttpFailure, 'status' | 'issueCode' | 'message'>> = {},
): HttpFailure {
  return {
    status,
    issueCode,
    message,
    issues: more.issues ?? [],
    headers: more.headers ?? {},
    reason: more.reason ?? reasonCode(status),
    internal: more.internal ?? false,
    ...(more.data ? { data: more.data } : {}),
  };
}

/**
 * Map any thrown value to its HTTP failure. Fastify's own parse errors are recognised by code;
 * anything unknown is a 500 that names nothing of the request.
 */
export function httpFailure(err: unknown, opts: { bodyLimit?: number } = {}): HttpFailure {
  if (err instanceof InvalidInputError) return failure(400, 'invalid', err.message, { issues: err.issues });
  if (err instanceof NotSupportedError) return failure(400, 'not-supported', err.message);
  if (err instanceof UnauthenticatedError)
    return failure(401, 'login', err.message, { headers: { 'www-authenticate': 'Bearer' } });
  if (err instanceof AccessDeniedError) return failure(403, 'forbidden', err.message, { reason: err.reason });
  if (err instanceof NotFoundError) return failure(404, 'not-found', err.message);
  if (err instanceof GoneError) return failure(410, 'deleted', err.message);
  if (err instanceof ConflictError)
    return failure(409, err.duplicate ? 'duplicate' : 'conflict', err.message, { data: err.data });
  if (err instanceof PreconditionFailedError) return failure(412, 'conflict', err.message);
  if (err instanceof InvalidResourceError)
    return failure(422, 'processing', err.message, { issues: err.issues });
  if (err instanceof BusinessRuleError) return failure(422, 'business-rule', err.message);
  if (err instanceof ThrottledError)
    return failure(429, 'throttled', err.message, {
      headers: { 'retry-after': String(err.retryAfterSeconds) },
    });
  if (err instanceof UnavailableError)
    return failure(503, 'transient', err.message, {
      headers: { 'retry-after': String(err.retryAfterSeconds) },
      reason: err.code.slice(0, 64),
    });
  if (err instanceof MedchainError && err.code === 'log-unavailable')
    return failure(503, 'transient', err.message, { headers: { 'retry-after': '5' } });
  const e = err as { code?: string; statusCode?: number } | undefined;
  if (e?.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return failure(
      413,
      'too-costly',
      opts.bodyLimit ? `the body is larger than ${opts.bodyLimit} bytes` : 'the body is too large',
    );
  if (e?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
    return failure(415, 'not-supported', 'send application/fhir+json or application/json');
  if (e?.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err instanceof SyntaxError || e?.statusCode === 400)
    return failure(400, 'invalid', 'the body is not valid JSON');
  return failure(500, 'exception', 'internal error; the request was not completed', { internal: true });
}

/** An OperationOutcome with one issue (plus any detailed issues). */
export function outcome(
  severity: OperationOutcomeIssue['severity'],
  code: IssueCode,
  text: string,
  more: readonly OperationOutcomeIssue[] = [],
): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, details: { text } }, ...more] };
}

/** The OperationOutcome of a failure. */
export function errorOutcome(f: HttpFailure): OperationOutcome {
  return outcome('error', f.issueCode, f.message, f.issues);
}

/** A success/information outcome (e.g. for batch entries and deletes). */
export const okOutcome = (text: string): OperationOutcome => outcome('information', 'informational', text);
