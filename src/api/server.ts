/**
 * The member node's HTTP API (Fastify): FHIR R4 REST under /fhir, login under /auth. Every route
 * but login and the CapabilityStatement needs a Bearer token, and every FHIR route checks the
 * user's role. Every failure is a FHIR OperationOutcome with the right status.
 */

import type { Bundle, BundleLink } from '@medplum/fhirtypes';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { type Action, mayAccess } from '../access/roles.js';
import type { LoginThrottle, Session, SessionStore } from '../access/sessions.js';
import { verifyPassword } from '../crypto/password.js';
import { capabilityStatement } from '../fhir/capability.js';
import {
  badRequest,
  errorOutcome,
  FhirError,
  forbidden,
  notFound,
  okOutcome,
  outcome,
  tooMany,
  unauthorized,
} from '../fhir/outcomes.js';
import { isResourceType, type ResourceType } from '../fhir/resourceTypes.js';
import { parseSearch } from '../fhir/search.js';
import { FHIR_ID } from '../fhir/validate.js';
import { processBundle } from '../node/bundleProcessor.js';
import { parseIfMatch, type RecordService, type StoredResource } from '../node/recordService.js';
import type { UserStore } from '../store/userStore.js';

declare module 'fastify' {
  interface FastifyRequest {
    session: Session | null;
  }
}

export interface ApiDeps {
  records: RecordService;
  users: UserStore;
  sessions: SessionStore;
  throttle: LoginThrottle;
  software?: { name: string; version: string };
  /** Largest accepted request body in bytes (default 4 MiB). */
  bodyLimit?: number;
}

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
/** A hash to verify against when the username is unknown, so timing does not reveal which users exist. */
const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

function send(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).type(FHIR_JSON).send(body);
}

function sendResource(reply: FastifyReply, status: number, r: StoredResource): FastifyReply {
  const v = r.meta?.versionId;
  reply.header('etag', `W/"${v}"`);
  if (r.meta?.lastUpdated) reply.header('last-modified', new Date(r.meta.lastUpdated).toUTCString());
  if (status === 201) reply.header('location', `/fhir/${r.resourceType}/${r.id}/_history/${v}`);
  return send(reply, status, r);
}

function typeParam(raw: string): ResourceType {
  if (!isResourceType(raw)) throw notFound(`resource type "${raw.slice(0, 40)}" is not supported here`);
  return raw;
}

function idParam(raw: string): string {
  if (!FHIR_ID.test(raw)) throw badRequest(`"${raw.slice(0, 40)}" is not a valid FHIR id`);
  return raw;
}

function authorize(request: FastifyRequest, action: Action, type: ResourceType): void {
  const s = request.session;
  if (!s) throw unauthorized();
  if (!mayAccess(s.role, action, type)) throw forbidden(`the ${s.role} role may not ${action} ${type}`);
}

export function buildApi(deps: ApiDeps): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: deps.bodyLimit ?? 4 * 1024 * 1024,
    // Reject __proto__ / constructor.prototype in JSON bodies (prototype poisoning).
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  });
  app.decorateRequest('session', null);
  app.removeContentTypeParser('text/plain');
  // FHIR JSON uses Fastify's JSON parser (secure-json-parse), refusing __proto__/constructor keys.
  app.addContentTypeParser(
    ['application/fhir+json'],
    { parseAs: 'string' },
    app.getDefaultJsonParser('error', 'error'),
  );

  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, _request, reply) => {
    if (err instanceof FhirError) {
      for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
      return send(reply, err.status, errorOutcome(err));
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return send(
        reply,
        413,
        outcome('error', 'too-costly', `the body is larger than ${app.initialConfig.bodyLimit} bytes`),
      );
    }
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return send(
        reply,
        415,
        outcome('error', 'not-supported', 'send application/fhir+json or application/json'),
      );
    }
    if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err instanceof SyntaxError || err.statusCode === 400) {
      return send(reply, 400, outcome('error', 'invalid', 'the body is not valid JSON'));
    }
    // Our own fault: say so without internals. (The message may hold stored content: not logged.)
    process.stderr.write(`medchain api: internal error ${err.name}${err.code ? ` ${err.code}` : ''}\n`);
    if (process.env.MEDCHAIN_DEBUG) process.stderr.write(`${err.stack}\n`);
    return send(reply, 500, outcome('fatal', 'exception', 'internal error; the request was not completed'));
  });
  app.setNotFoundHandler((request, reply) =>
    send(
      reply,
      404,
      outcome(
        'error',
        'not-found',
        `no route for ${request.method} ${request.url.split('?')[0]?.slice(0, 80)}`,
      ),
    ),
  );

  // Authentication on every route except login and the capability statement.
  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?')[0];
    if (path === '/auth/login' || path === '/fhir/metadata') return;
    const h = request.headers.authorization;
    if (!h?.startsWith('Bearer ')) throw unauthorized();
    const s = deps.sessions.get(h.slice(7).trim());
    if (!s) throw unauthorized('the access token is unknown or expired; sign in again at POST /auth/login');
    request.session = s;
  });

  app.post('/auth/login', async (request, reply) => {
    const body = request.body as { username?: unknown; password?: unknown } | undefined;
    if (
      typeof body?.username !== 'string' ||
      typeof body?.password !== 'string' ||
      body.username.length > 64
    ) {
      throw badRequest('send {"username": "...", "password": "..."}');
    }
    const keys = [`user:${body.username}`, `addr:${request.ip}`];
    const wait = deps.throttle.retryAfter(keys);
    if (wait > 0) throw tooMany(`too many failed sign-ins; try again in ${wait} s`, wait);
    const user = deps.users.byUsername(body.username);
    const ok = await verifyPassword(body.password, user?.passwordHash ?? DUMMY_HASH);
    if (!user || !ok || user.disabled) {
      deps.throttle.fail(keys);
      throw unauthorized('wrong username or password');
    }
    deps.throttle.succeed(keys);
    const { token, expiresIn } = deps.sessions.issue(user.id, user.role);
    reply.header('cache-control', 'no-store');
    return { access_token: token, token_type: 'Bearer', expires_in: expiresIn, scope: user.role };
  });

  app.get('/fhir/metadata', async (_request, reply) =>
    send(reply, 200, capabilityStatement(deps.software ?? { name: 'medchain', version: '0.1.0' })),
  );

  app.post('/fhir', async (request, reply) => {
    const result = await processBundle(deps.records, request.body, (method, type) =>
      authorize(request, method === 'GET' ? 'read' : method === 'DELETE' ? 'delete' : 'write', type),
    );
    return send(reply, 200, result);
  });

  app.get('/fhir/:type', async (request, reply) => {
    const type = typeParam((request.params as { type: string }).type);
    authorize(request, 'read', type);
    const q = parseSearch(type, request.query as Record<string, string | string[]>);
    const { resources, total } = await deps.records.search(q);
    const base = `${request.protocol}://${request.host}/fhir/${type}`;
    const rawQuery = new URLSearchParams(request.query as Record<string, string>);
    const link = (relation: string, offset: number): BundleLink => {
      const p = new URLSearchParams(rawQuery);
      p.set('_count', String(q.count));
      p.set('_offset', String(offset));
      return { relation, url: `${base}?${p.toString()}` };
    };
    const links: BundleLink[] = [link('self', q.offset)];
    if (q.offset + q.count < total) links.push(link('next', q.offset + q.count));
    if (q.offset > 0) links.push(link('previous', Math.max(0, q.offset - q.count)));
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      total,
      link: links,
      entry: [
        ...resources.map((r) => ({
          fullUrl: `${request.protocol}://${request.host}/fhir/${r.resourceType}/${r.id}`,
          resource: r,
          search: { mode: 'match' as const },
        })),
        ...(q.countCapped
          ? [
              {
                resource: outcome('warning', 'informational', `_count lowered to the maximum of ${q.count}`),
                search: { mode: 'outcome' as const },
              },
            ]
          : []),
      ],
    };
    return send(reply, 200, bundle);
  });

  app.post('/fhir/:type', async (request, reply) => {
    const type = typeParam((request.params as { type: string }).type);
    authorize(request, 'write', type);
    if (request.body === undefined) throw badRequest('the body is empty; send a FHIR resource');
    return sendResource(reply, 201, await deps.records.create(request.body, type));
  });

  app.get('/fhir/:type/:id', async (request, reply) => {
    const p = request.params as { type: string; id: string };
    const type = typeParam(p.type);
    authorize(request, 'read', type);
    return sendResource(reply, 200, await deps.records.read(type, idParam(p.id)));
  });

  app.put('/fhir/:type/:id', async (request, reply) => {
    const p = request.params as { type: string; id: string };
    const type = typeParam(p.type);
    authorize(request, 'write', type);
    if (request.body === undefined) throw badRequest('the body is empty; send a FHIR resource');
    const ifMatch = parseIfMatch(request.headers['if-match'] as string | undefined);
    const { resource, created } = await deps.records.update(type, idParam(p.id), request.body, ifMatch);
    return sendResource(reply, created ? 201 : 200, resource);
  });

  app.delete('/fhir/:type/:id', async (request, reply) => {
    const p = request.params as { type: string; id: string };
    const type = typeParam(p.type);
    authorize(request, 'delete', type);
    deps.records.delete(type, idParam(p.id));
    return send(
      reply,
      200,
      okOutcome(`${type}/${p.id} deleted: its keys and content were destroyed (crypto-shredding)`),
    );
  });

  app.get('/fhir/:type/:id/_history', async (request, reply) => {
    const p = request.params as { type: string; id: string };
    const type = typeParam(p.type);
    authorize(request, 'read', type);
    const entry = await deps.records.history(type, idParam(p.id));
    return send(reply, 200, { resourceType: 'Bundle', type: 'history', total: entry.length, entry });
  });

  app.get('/fhir/:type/:id/_history/:vid', async (request, reply) => {
    const p = request.params as { type: string; id: string; vid: string };
    const type = typeParam(p.type);
    authorize(request, 'read', type);
    if (!/^\d{1,9}$/.test(p.vid)) throw badRequest('the version id must be a number');
    return sendResource(reply, 200, await deps.records.vread(type, idParam(p.id), Number(p.vid)));
  });

  return app;
}
