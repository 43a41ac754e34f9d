/** Small helpers shared by the route modules. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Actor } from '../access/gatekeeper.js';
import { defaultPurpose } from '../access/gatekeeper.js';
import { badRequest, notFound, unauthorized } from '../errors.js';
import { isResourceType, type ResourceType } from '../fhir/resourceTypes.js';
import { FHIR_ID } from '../fhir/validate.js';
import type { LogPurpose } from '../log/entry.js';
import type { StoredResource } from '../records/recordService.js';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

export function send(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).type(FHIR_JSON).send(body);
}

export function sendResource(reply: FastifyReply, status: number, r: StoredResource): FastifyReply {
  versionHeaders(reply, status, r.resourceType, r.id, r.meta?.versionId, r.meta?.lastUpdated);
  return send(reply, status, r);
}

/**
 * A stored resource sent as its stored JSON bytes (decrypted, never re-serialized), with the
 * headers `sendResource` gives it, taken from its stored row: the row's version and last update
 * are the ones written into the resource's meta when it was stored.
 */
export function sendStoredJson(
  reply: FastifyReply,
  status: number,
  row: { resourceType: string; id: string; version: number; lastUpdated: string },
  json: Buffer,
): FastifyReply {
  versionHeaders(reply, status, row.resourceType, row.id, String(row.version), row.lastUpdated);
  return reply.code(status).type(FHIR_JSON).send(json);
}

function versionHeaders(
  reply: FastifyReply,
  status: number,
  type: string,
  id: string | undefined,
  version: string | undefined,
  lastUpdated: string | undefined,
): void {
  reply.header('etag', `W/"${version}"`);
  if (lastUpdated) reply.header('last-modified', new Date(lastUpdated).toUTCString());
  if (status === 201) reply.header('location', `/fhir/${type}/${id}/_history/${version}`);
}

export function typeParam(raw: string): ResourceType {
  if (raw === '')
    throw notFound(
      'no resource type in the path: use /fhir/{type} (GET /fhir/metadata lists them), or POST a transaction or batch Bundle to /fhir',
    );
  if (!isResourceType(raw)) throw notFound(`resource type "${raw.slice(0, 40)}" is not supported here`);
  return raw;
}

export function idParam(raw: string): string {
  if (!FHIR_ID.test(raw)) throw badRequest(`"${raw.slice(0, 40)}" is not a valid FHIR id`);
  return raw;
}

const CHOOSABLE: readonly LogPurpose[] = ['treatment', 'payment', 'operations', 'research'];

/** The signed-in user as a log actor; purpose from X-Purpose-Of-Use or the role's default. */
export function actorOf(request: FastifyRequest): Actor {
  const s = request.session;
  if (!s) throw unauthorized();
  const h = request.headers['x-purpose-of-use'];
  if (h !== undefined) {
    if (typeof h !== 'string' || !CHOOSABLE.includes(h as LogPurpose)) {
      throw badRequest(`X-Purpose-Of-Use must be one of ${CHOOSABLE.join(', ')}`);
    }
    return { id: s.userId, role: s.role, purpose: h as LogPurpose };
  }
  return { id: s.userId, role: s.role, purpose: defaultPurpose(s.role) };
}

/** Parse a non-negative integer query parameter. */
export function intQuery(raw: unknown, name: string, opts: { min?: number; max?: number } = {}): number {
  if (typeof raw !== 'string' || !/^\d{1,15}$/.test(raw)) throw badRequest(`${name} must be a whole number`);
  const n = Number(raw);
  if (opts.min !== undefined && n < opts.min) throw badRequest(`${name} must be at least ${opts.min}`);
  if (opts.max !== undefined && n > opts.max) throw badRequest(`${name} must be at most ${opts.max}`);
  return n;
}
