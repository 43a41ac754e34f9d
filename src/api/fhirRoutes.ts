/** FHIR R4 REST routes (/fhir). Every access goes through the gatekeeper, which logs before serving. */
import { createHash } from 'node:crypto';
import type { Bundle, BundleLink } from '@medplum/fhirtypes';
import type { FastifyInstance } from 'fastify';
import type { Gatekeeper } from '../access/gatekeeper.js';
import { capabilityStatement } from '../fhir/capability.js';
import { badRequest, okOutcome, outcome } from '../fhir/outcomes.js';
import { parseSearch } from '../fhir/search.js';
import { parseIfMatch } from '../node/recordService.js';
import { actorOf, idParam, send, sendResource, typeParam } from './http.js';

/** SHA-256 of the search query with its parameters sorted: what the log keeps of a search. */
function queryHash(type: string, query: Record<string, string | string[]>): `0x${string}` {
  const pairs = Object.entries(query)
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${k}=${x}`))
    .sort();
  return `0x${createHash('sha256')
    .update(`${type}?${pairs.join('&')}`)
    .digest('hex')}`;
}

export function fhirRoutes(
  app: FastifyInstance,
  gate: Gatekeeper,
  software: { name: string; version: string },
): void {
  app.get('/fhir/metadata', async (_request, reply) => send(reply, 200, capabilityStatement(software)));

  app.post('/fhir', async (request, reply) =>
    send(reply, 200, await gate.bundle(actorOf(request), request.body)),
  );

  app.get('/fhir/:type', async (request, reply) => {
    const type = typeParam((request.params as { type: string }).type);
    const actor = actorOf(request);
    const query = request.query as Record<string, string | string[]>;
    const q = parseSearch(type, query);
    const { resources, total } = await gate.search(actor, q, queryHash(type, query));
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
    const actor = actorOf(request);
    if (request.body === undefined) throw badRequest('the body is empty; send a FHIR resource');
    return sendResource(reply, 201, await gate.create(actor, type, request.body));
  });

  app.get('/fhir/:type/:id', async (request, reply) => {
    const p = request.params as { type: string; id: string };
    return sendResource(reply, 200, await gate.read(actorOf(request), typeParam(p.type), idParam(p.id)));
  });

  app.put('/fhir/:type/:id', async (request, reply) => {
    const p = request.params as { type: string; id: string };
    const type = typeParam(p.type);
    const actor = actorOf(request);
    if (request.body === undefined) throw badRequest('the body is empty; send a FHIR resource');
    const ifMatch = parseIfMatch(request.headers['if-match'] as string | undefined);
    const { resource, created } = await gate.update(actor, type, idParam(p.id), request.body, ifMatch);
    return sendResource(reply, created ? 201 : 200, resource);
  });

  app.delete('/fhir/:type/:id', async (request, reply) => {
    const p = request.params as { type: string; id: string };
    gate.delete(actorOf(request), typeParam(p.type), idParam(p.id));
    return send(
      reply,
      200,
      okOutcome(`${p.type}/${p.id} deleted: its keys and content were destroyed (crypto-shredding)`),
    );
  });

  app.get('/fhir/:type/:id/_history', async (request, reply) => {
    const p = request.params as { type: string; id: string };
    const entry = await gate.history(actorOf(request), typeParam(p.type), idParam(p.id));
    return send(reply, 200, { resourceType: 'Bundle', type: 'history', total: entry.length, entry });
  });

  app.get('/fhir/:type/:id/_history/:vid', async (request, reply) => {
    const p = request.params as { type: string; id: string; vid: string };
    const type = typeParam(p.type);
    const actor = actorOf(request);
    if (!/^\d{1,9}$/.test(p.vid)) throw badRequest('the version id must be a number');
    return sendResource(reply, 200, await gate.vread(actor, type, idParam(p.id), Number(p.vid)));
  });
}
