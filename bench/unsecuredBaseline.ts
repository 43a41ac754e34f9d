/**
 * The same FHIR create / read / search path as a member node, WITHOUT its security: what the HTTP
 * benchmark (bench/http.ts) measures a member against. Kept as close to the member as possible:
 *
 *   - Fastify with the same JSON handling (application/fhir+json, prototype-poisoning refused),
 *     the same CORS registration, errors as FHIR OperationOutcomes through the same mapping;
 *   - validation of the same resource by @medplum/core (src/fhir/validate.ts validateIncoming),
 *     search parameters parsed by the same src/fhir/search.ts, index values from the same
 *     src/fhir/indexValues.ts;
 *   - durable SQLite: better-sqlite3 opened by src/store/database.ts (WAL, synchronous=FULL, the
 *     same pragmas), one transaction per write, one row per resource with its JSON and a token
 *     index for search (the member's search_tokens, in plaintext);
 *   - ids from randomUUID, and the same response: the resource with meta.versionId/lastUpdated,
 *     ETag, Last-Modified, Location; a searchset Bundle with total, self link, fullUrl, match mode.
 *
 * Left out, on purpose, is everything the comparison is about: no sign-in or access decision, no
 * encryption or key wraps, no blind index, no transparency log. Creates only (no update, delete,
 * history): the benchmark needs nothing else.
 */
import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import type { Bundle, BundleLink } from '@medplum/fhirtypes';
import Fastify, { type FastifyInstance } from 'fastify';
import { idParam, send, sendResource, typeParam } from '../src/api/http.js';
import { notFound, notSupported } from '../src/errors.js';
import { loadFhirDefinitions } from '../src/fhir/definitions.js';
import { indexValues, tokenForms } from '../src/fhir/indexValues.js';
import { errorOutcome, httpFailure } from '../src/fhir/outcomes.js';
import { parseSearch } from '../src/fhir/search.js';
import { validateIncoming } from '../src/fhir/validate.js';
import type { StoredResource } from '../src/records/recordService.js';
import { type Db, openDatabase } from '../src/store/database.js';

const BASELINE_MIGRATIONS = [
  `CREATE TABLE resources (
     resource_type   TEXT NOT NULL,
     id              TEXT NOT NULL,
     version         INTEGER NOT NULL,
     last_updated_ms INTEGER NOT NULL,
     patient_ref     TEXT NOT NULL,
     body            TEXT NOT NULL,
     PRIMARY KEY (resource_type, id)
   ) WITHOUT ROWID;
   CREATE TABLE search_tokens (
     resource_type TEXT NOT NULL,
     id            TEXT NOT NULL,
     param         TEXT NOT NULL,
     token         TEXT NOT NULL,
     PRIMARY KEY (resource_type, param, token, id)
   ) WITHOUT ROWID;`,
];

/** A running-in-process unsecured FHIR server and its store. */
export interface UnsecuredBaseline {
  app: FastifyInstance;
  db: Db;
  close(): Promise<void>;
}

/** The stored token form of a search value, as the member's record service computes it. */
function tokenOf(kind: 'token' | 'reference', value: string): string {
  if (kind === 'reference') return value.startsWith('Patient/') ? value : `Patient/${value}`;
  const bar = value.indexOf('|');
  if (bar < 0) return value;
  const system = value.slice(0, bar);
  const code = value.slice(bar + 1);
  return system === '' ? `|${code}` : (tokenForms(system, code)[0] as string);
}

/** Build the unsecured FHIR server on a SQLite file (created if missing); the caller listens. */
export function buildUnsecuredBaseline(file: string): UnsecuredBaseline {
  loadFhirDefinitions();
  const db = openDatabase(file, BASELINE_MIGRATIONS);
  const insert = db.prepare(
    'INSERT INTO resources (resource_type, id, version, last_updated_ms, patient_ref, body) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const insertToken = db.prepare(
    'INSERT OR IGNORE INTO search_tokens (resource_type, id, param, token) VALUES (?, ?, ?, ?)',
  );
  const select = db.prepare('SELECT body FROM resources WHERE resource_type = ? AND id = ?');
  const store = db.transaction(
    (r: StoredResource, at: number, patient: string, tokens: [string, string][]) => {
      insert.run(r.resourceType, r.id, 1, at, patient, JSON.stringify(r));
      for (const [param, token] of tokens) insertToken.run(r.resourceType, r.id, param, token);
    },
  );

  const app = Fastify({
    logger: false,
    bodyLimit: 4 * 1024 * 1024, // the member's default
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  });
  app.removeContentTypeParser(['text/plain', 'application/json']);
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser(
    ['application/json', 'application/fhir+json'],
    { parseAs: 'string' },
    (request, body, done) => parseJson(request, body as string, done),
  );
  app.register(cors, {
    origin: true,
    methods: ['GET', 'POST', 'PUT', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'if-match', 'x-break-glass-reason', 'x-purpose-of-use'],
    exposedHeaders: ['etag', 'location', 'retry-after'],
    maxAge: 600,
  });
  app.setErrorHandler(async (err, _request, reply) => {
    const f = httpFailure(err);
    for (const [k, v] of Object.entries(f.headers)) reply.header(k, v);
    return send(reply, f.status, errorOutcome(f));
  });

  app.post('/fhir/:type', async (request, reply) => {
    const type = typeParam((request.params as { type: string }).type);
    const valid = validateIncoming(request.body, type);
    const at = new Date();
    const resource = {
      ...valid,
      id: randomUUID(),
      meta: { ...(valid.meta ?? {}), versionId: '1', lastUpdated: at.toISOString() },
    } as StoredResource;
    const idx = indexValues(type, resource);
    store(
      resource,
      at.getTime(),
      idx.patient ?? '',
      idx.tokens.map((t) => [t.param, t.value]),
    );
    return sendResource(reply, 201, resource);
  });

  app.get('/fhir/:type/:id', async (request, reply) => {
    const p = request.params as { type: string; id: string };
    const type = typeParam(p.type);
    const id = idParam(p.id);
    const row = select.get(type, id) as { body: string } | undefined;
    if (!row) throw notFound(`${type}/${id} does not exist`);
    return sendResource(reply, 200, JSON.parse(row.body) as StoredResource);
  });

  app.get('/fhir/:type', async (request, reply) => {
    const type = typeParam((request.params as { type: string }).type);
    const query = request.query as Record<string, string | string[]>;
    const q = parseSearch(type, query);
    const where = ['r.resource_type = @type'];
    const params: Record<string, unknown> = { type };
    q.clauses.forEach((c, i) => {
      if (c.kind !== 'token' && c.kind !== 'reference')
        throw notSupported('the unsecured baseline searches token and reference parameters only');
      params[`p${i}`] = c.param;
      const list = c.values.map((v, j) => {
        params[`t${i}_${j}`] = tokenOf(c.kind as 'token' | 'reference', v);
        return `@t${i}_${j}`;
      });
      where.push(
        `EXISTS (SELECT 1 FROM search_tokens t WHERE t.resource_type = r.resource_type AND t.param = @p${i} AND t.token IN (${list.join(', ')}) AND t.id = r.id)`,
      );
    });
    const sqlWhere = where.join(' AND ');
    const total = (
      db.prepare(`SELECT count(*) AS n FROM resources r WHERE ${sqlWhere}`).get(params) as {
        n: number;
      }
    ).n;
    const rows = db
      .prepare(
        `SELECT r.body FROM resources r WHERE ${sqlWhere} ORDER BY r.last_updated_ms DESC, r.id LIMIT @count OFFSET @offset`,
      )
      .all({ ...params, count: q.count, offset: q.offset }) as { body: string }[];
    const base = `${request.protocol}://${request.host}/fhir/${type}`;
    const link = (relation: string, offset: number): BundleLink => {
      const p = new URLSearchParams(query as Record<string, string>);
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
      entry: rows.map((row) => {
        const r = JSON.parse(row.body) as StoredResource;
        return {
          fullUrl: `${request.protocol}://${request.host}/fhir/${r.resourceType}/${r.id}`,
          resource: r,
          search: { mode: 'match' as const },
        };
      }),
    };
    return send(reply, 200, bundle);
  });

  return {
    app,
    db,
    close: async () => {
      await app.close();
      db.close();
    },
  };
}
