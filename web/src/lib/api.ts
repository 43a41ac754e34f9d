/**
 * Calls to member nodes. Every failure becomes an ApiError whose `kind` the views turn into a
 * message with what to do next: an expired session, a denied read, an offline member, bad input.
 */

export type ErrorKind = 'expired' | 'denied' | 'offline' | 'invalid' | 'throttled' | 'server';

export class ApiError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly status = 0,
    /** The answer's JSON body (an OperationOutcome, usually), for views that show more than its message. */
    readonly body?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface OperationOutcomeLike {
  resourceType?: string;
  issue?: { details?: { text?: string }; diagnostics?: string }[];
}

/** The message of a FHIR OperationOutcome, or undefined. */
export function outcomeText(body: unknown): string | undefined {
  const o = body as OperationOutcomeLike | undefined;
  if (o?.resourceType !== 'OperationOutcome') return undefined;
  return o.issue?.map((i) => i.details?.text ?? i.diagnostics).find((t) => typeof t === 'string');
}

export function kindOfStatus(status: number): ErrorKind {
  if (status === 401) return 'expired';
  if (status === 403) return 'denied';
  if (status === 429) return 'throttled';
  if (status === 502 || status === 503 || status === 504) return 'offline';
  if (status >= 400 && status < 500) return 'invalid';
  return 'server';
}

export interface CallOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Who is being called, for messages ("Central Lab"). */
  who?: string;
  timeoutMs?: number;
}

/** Call `base + path`; resolves with the JSON body, or throws an ApiError. */
export async function call<T>(base: string, path: string, opts: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = {
    accept: 'application/fhir+json, application/json',
    ...opts.headers,
  };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  let r: Response;
  try {
    r = await fetch(`${base.replace(/\/$/, '')}${path}`, {
      method: opts.method ?? 'GET',
      headers,
      ...(opts.body !== undefined
        ? {
            body: JSON.stringify(opts.body, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)),
          }
        : {}),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 20_000),
    });
  } catch {
    throw new ApiError(
      'offline',
      `${opts.who ?? 'The member node'} cannot be reached; it may be offline. Try again in a moment.`,
    );
  }
  const text = await r.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!r.ok) {
    const kind = kindOfStatus(r.status);
    const said = outcomeText(body) ?? `answered ${r.status}`;
    throw new ApiError(kind, `${opts.who ? `${opts.who}: ` : ''}${said}`, r.status, body);
  }
  return body as T;
}

/** What a person should do about an error, in one sentence. */
export function nextStep(err: unknown): string {
  if (!(err instanceof ApiError)) return 'Reload the page; if it happens again, tell your administrator.';
  switch (err.kind) {
    case 'expired':
      return 'Your session has ended. Sign in again.';
    case 'denied':
      return 'You are not allowed to do this. Ask the patient for consent, or your administrator for the role.';
    case 'offline':
      return 'Check that the member is running, then try again.';
    case 'throttled':
      return 'Too many attempts. Wait a minute, then try again.';
    case 'invalid':
      return 'Correct the highlighted input and try again.';
    default:
      return 'Try again; if it keeps failing, tell your administrator.';
  }
}
