/** FHIR R4 REST routes (/fhir). Every access goes through the gatekeeper, which logs before serving. */
import { randomUUID } from 'node:crypto';
import { parseSearchRequest, type SearchRequest } from '@medplum/core';
import type { Bundle, BundleEntry, BundleLink, Patient } from '@medplum/fhirtypes';
import type { FastifyInstance, FastifyRequest, RouteHandlerMethod } from 'fastify';
import { type Address, getAddress, type Hex, isAddress } from 'viem';
import { reasonHash } from '../access/accessLog.js';
import type { Gatekeeper } from '../access/gatekeeper.js';
import type { AccessPurpose } from '../access/purposeOfUse.js';
import { mayAccess, type UserRole } from '../access/roles.js';
import { badRequest } from '../errors.js';
import type { RemoteOutcome } from '../federation/requester.js';
import { capabilityStatement } from '../fhir/capability.js';
import { foreignRecordQuery } from '../fhir/foreignReferences.js';
import { type RestRoute, SYSTEM_ROUTES, TYPE_INTERACTIONS, TYPE_OPERATIONS } from '../fhir/interactions.js';
import { okOutcome } from '../fhir/outcomes.js';
import { PATIENT_ADDRESS_SYSTEM, RESOURCE_TYPES } from '../fhir/resourceTypes.js';
import { parseSearch, type SearchQuery } from '../fhir/search.js';
import { parseIfMatch, type StoredResource } from '../records/recordService.js';
import { actorOf, idParam, send, sendResource, sendStoredJson, typeParam } from './http.js';
import { NOTE_SYSTEM, remoteOutcomeEntries } from './remoteOutcomes.js';
import type { ApiDeps } from './server.js';

/** The validated break-glass reason header, as its hash (the reason itself is never stored). */
function breakGlassOf(request: FastifyRequest): Hex | null {
  const bg = request.headers['x-break-glass-reason'];
  if (bg === undefined) return null;
  if (typeof bg !== 'string' || bg.trim().length < 10 || bg.length > 500) {
    throw badRequest(
      'X-Break-Glass-Reason must say why, in 10 to 500 characters; it is logged and reported to the patient',
    );
  }
  return reasonHash(bg.trim());
}

/** The user's own search parameters, applied by this node to what other members release. */
function remoteFilter(type: string, query: Record<string, string | string[]>): SearchRequest | undefined {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (['patient', 'subject', '_count', '_offset', '_format'].includes(k.split(':')[0] as string)) continue;
    for (const x of Array.isArray(v) ? v : [v]) p.append(k, x);
  }
  return p.size > 0 ? parseSearchRequest(`${type}?${p.toString()}`) : undefined;
}

/** The single chain address a search is scoped to (patient= or subject=), if any: what other members are asked about. */
function federatedPatient(q: SearchQuery): Address | undefined {
  const values = q.clauses.flatMap((c) => (c.kind === 'reference' ? c.values : []));
  return values.length === 1 && isAddress(values[0] as string) ? getAddress(values[0] as string) : undefined;
}

/** This node's FHIR base URL as the client addressed it. */
const baseOf = (request: FastifyRequest): string => `${request.protocol}://${request.host}/fhir`;

/**
 * A searchset match entry with its fullUrl: a local record's absolute URL here; for a record
 * another member released about the patient at `foreignPatient`, the search here that returns it
 * (src/fhir/foreignReferences.ts; the record's references were rewritten the same way).
 */
function matchEntry(base: string, r: StoredResource, foreignPatient?: Address): BundleEntry {
  const fullUrl = foreignPatient
    ? `${base}/${foreignRecordQuery(r.resourceType, r.id, foreignPatient)}`
    : `${base}/${r.resourceType}/${r.id}`;
  return { fullUrl, resource: r, search: { mode: 'match' } };
}

/** Outcome entries (no server location) get a fresh `urn:uuid:` fullUrl, so every entry has one. */
const withUuid = (entries: BundleEntry[]): BundleEntry[] =>
  entries.map((e) => ({ fullUrl: `urn:uuid:${randomUUID()}`, ...e }));

export function fhirRoutes(
  app: FastifyInstance,
  gate: Gatekeeper,
  software: { name: string; version: string },
  federated?: ApiDeps['federatedSearch'],
): void {
  // Type-level routes answer at [base]/Type and [base]/Type/ alike, as servers in the field do.
  const on = (route: RestRoute, handler: RouteHandlerMethod) => {
    app.route({ ...route, handler });
    if (route.url === '/fhir/:type') app.route({ ...route, url: '/fhir/:type/', handler });
  };
  app.get('/fhir/metadata', async (request, reply) =>
    send(reply, 200, capabilityStatement(software, baseOf(request), { chain: federated !== undefined })),
  );

  // Transaction and batch at [base] and [base]/ (FHIR R4 http.html#transaction: clients in the
  // field post to either).
  for (const route of SYSTEM_ROUTES)
    app.route({
      ...route,
      handler: async (request, reply) => send(reply, 200, await gate.bundle(actorOf(request), request.body)),
    });

  on(TYPE_INTERACTIONS['search-type'], async (request, reply) => {
    const type = typeParam((request.params as { type: string }).type);
    const actor = actorOf(request);
    const query = request.query as Record<string, string | string[]>;
    const q = parseSearch(type, query);
    const breakGlass = breakGlassOf(request);
    const address = federatedPatient(q);
    if (breakGlass && !(federated && address))
      throw badRequest('break the glass on a search for one patient by chain address (patient=0x...)');
    // Other members are asked first: if this user may not ask them (role, purpose, break-glass),
    // nothing is searched or logged as served.
    let remote: StoredResource[] = [];
    let outcomes: RemoteOutcome[] = [];
    const purpose = breakGlass ? 'emergency' : actor.purpose;
    if (federated && address && q.offset === 0) {
      ({ resources: remote, outcomes } = await federated(
        actor,
        {
          patient: address,
          resourceTypes: [type],
          purpose: purpose as AccessPurpose,
          userRole: actor.role as UserRole,
          breakGlass,
        },
        remoteFilter(type, query),
      ));
    }
    const local = await gate.search(actor, q, gate.queryHash(type, query));
    const total = local.total + remote.length;
    const fhirBase = baseOf(request);
    const base = `${fhirBase}/${type}`;
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
        ...local.resources.map((r) => matchEntry(fhirBase, r)),
        ...remote.map((r) => matchEntry(fhirBase, r, address)),
        ...withUuid(
          q.countCapped
            ? [
                {
                  resource: {
                    resourceType: 'OperationOutcome' as const,
                    issue: [
                      {
                        severity: 'warning' as const,
                        code: 'informational' as const,
                        details: {
                          text: `_count lowered to the maximum of ${q.count}`,
                          coding: [{ system: NOTE_SYSTEM, code: 'count-capped' }],
                        },
                      },
                    ],
                  },
                  search: { mode: 'outcome' as const },
                },
              ]
            : [],
        ),
        ...withUuid(remoteOutcomeEntries(outcomes, purpose)),
      ],
    };
    return send(reply, 200, bundle);
  });

  // Everything about one patient: local records of every type the role may read, plus what other
  // members share under the patient's consent (when the Patient is linked to a chain address).
  on(TYPE_OPERATIONS.Patient.everything.route, async (request, reply) => {
    const actor = actorOf(request);
    const id = idParam((request.params as { id: string }).id);
    const patient = await gate.read(actor, 'Patient', id);
    const address = (patient as Patient).identifier?.find((i) => i.system === PATIENT_ADDRESS_SYSTEM)?.value;
    const types = RESOURCE_TYPES.filter(
      (t) => t !== 'Patient' && (actor.role === 'operator' || mayAccess(actor.role, 'read', t)),
    );
    const fhirBase = baseOf(request);
    const entry: BundleEntry[] = [matchEntry(fhirBase, patient)];
    let outcomeEntries: BundleEntry[] = [];
    if (federated && address && isAddress(address) && types.length > 0) {
      const remote = await federated(actor, {
        patient: getAddress(address),
        resourceTypes: types,
        purpose: actor.purpose as AccessPurpose,
        userRole: actor.role as UserRole,
        breakGlass: null,
      });
      for (const r of remote.resources) entry.push(matchEntry(fhirBase, r, getAddress(address)));
      outcomeEntries = withUuid(remoteOutcomeEntries(remote.outcomes, actor.purpose));
    }
    for (const type of types) {
      const q = parseSearch(type, { patient: `Patient/${id}`, _count: '100' });
      const local = await gate.search(
        actor,
        q,
        gate.queryHash(type, { patient: `Patient/${id}`, $everything: 'true' }),
      );
      for (const r of local.resources) entry.push(matchEntry(fhirBase, r));
    }
    return send(reply, 200, {
      resourceType: 'Bundle',
      type: 'searchset',
      total: entry.length,
      entry: [...entry, ...outcomeEntries],
    });
  });

  on(TYPE_INTERACTIONS.create, async (request, reply) => {
    const type = typeParam((request.params as { type: string }).type);
    const actor = actorOf(request);
    if (request.body === undefined) throw badRequest('the body is empty; send a FHIR resource');
    return sendResource(reply, 201, await gate.create(actor, type, request.body));
  });

  on(TYPE_INTERACTIONS.read, async (request, reply) => {
    const p = request.params as { type: string; id: string };
    // Released whole: the decrypted JSON goes out as stored, not parsed and serialized again.
    const { row, json } = await gate.readJson(actorOf(request), typeParam(p.type), idParam(p.id));
    return sendStoredJson(reply, 200, row, json);
  });

  on(TYPE_INTERACTIONS.update, async (request, reply) => {
    const p = request.params as { type: string; id: string };
    const type = typeParam(p.type);
    const actor = actorOf(request);
    if (request.body === undefined) throw badRequest('the body is empty; send a FHIR resource');
    const ifMatch = parseIfMatch(request.headers['if-match'] as string | undefined);
    const { resource, created } = await gate.update(actor, type, idParam(p.id), request.body, ifMatch);
    return sendResource(reply, created ? 201 : 200, resource);
  });

  on(TYPE_INTERACTIONS.delete, async (request, reply) => {
    const p = request.params as { type: string; id: string };
    await gate.delete(actorOf(request), typeParam(p.type), idParam(p.id));
    return send(
      reply,
      200,
      okOutcome(`${p.type}/${p.id} deleted: its keys and content were destroyed (crypto-shredding)`),
    );
  });

  on(TYPE_INTERACTIONS['history-instance'], async (request, reply) => {
    const p = request.params as { type: string; id: string };
    const type = typeParam(p.type);
    const id = idParam(p.id);
    // fullUrl is the version-independent URL (FHIR R4 bdl-8); the version is in meta and request.
    const fullUrl = `${baseOf(request)}/${type}/${id}`;
    const entry = (await gate.history(actorOf(request), type, id)).map((e) => ({ ...e, fullUrl }));
    return send(reply, 200, { resourceType: 'Bundle', type: 'history', total: entry.length, entry });
  });

  on(TYPE_INTERACTIONS.vread, async (request, reply) => {
    const p = request.params as { type: string; id: string; vid: string };
    const type = typeParam(p.type);
    const actor = actorOf(request);
    if (!/^\d{1,9}$/.test(p.vid)) throw badRequest('the version id must be a number');
    return sendResource(reply, 200, await gate.vread(actor, type, idParam(p.id), Number(p.vid)));
  });
}
