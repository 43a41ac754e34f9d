/**
 * `POST /fhir` with a Bundle: `transaction` (all or nothing: every entry is validated, encrypted
 * and then committed in one SQLite transaction) or `batch` (each entry on its own). `urn:uuid:`
 * fullUrls of created resources are resolved: references to them are rewritten to the new ids.
 * In a transaction, references to what its entries write resolve (whatever the entry order) and
 * references to what it deletes do not (src/records/referenceCheck.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, BundleEntryResponse } from '@medplum/fhirtypes';
import { badRequest, MedchainError, notSupported } from '../errors.js';
import { errorOutcome, type HttpFailure, httpFailure, okOutcome } from '../fhir/outcomes.js';
import { isResourceType, type ResourceType } from '../fhir/resourceTypes.js';
import { FHIR_ID } from '../fhir/validate.js';
import type { PreparedVersion } from '../store/recordStore.js';
import { parseIfMatch, type RecordService, type StoredResource } from './recordService.js';
import type { PlannedWrites } from './referenceCheck.js';

export const MAX_BUNDLE_ENTRIES = 1000;

type Planned =
  | { method: 'POST'; type: ResourceType; id: string; resource: unknown }
  | { method: 'PUT'; type: ResourceType; id: string; resource: unknown; ifMatch?: number }
  | { method: 'DELETE'; type: ResourceType; id: string }
  | { method: 'GET'; type: ResourceType; id: string };

/** Replace every `"reference": "urn:uuid:..."` in `value` using `ids`. */
function resolveReferences(value: unknown, ids: Map<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveReferences(v, ids));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'reference' && typeof v === 'string' && v.startsWith('urn:uuid:')) {
      const target = ids.get(v);
      if (!target)
        throw badRequest(`reference ${v.slice(0, 60)} does not match any entry's fullUrl in this bundle`);
      out[k] = target;
    } else out[k] = resolveReferences(v, ids);
  }
  return out;
}

function typeAndId(url: string, where: string): { type: ResourceType; id?: string } {
  const [type, id, extra] = url.replace(/^\//, '').split('/');
  if (!type || !isResourceType(type) || extra !== undefined)
    throw badRequest(
      `${where}: request.url "${url.slice(0, 80)}" is not Type or Type/id of a supported type`,
    );
  if (id !== undefined && !FHIR_ID.test(id))
    throw badRequest(`${where}: "${id.slice(0, 40)}" is not a valid id`);
  return id === undefined ? { type } : { type, id };
}

/** Called for every entry before anything runs; throws (e.g. 403) to refuse it. */
export type BundleAuthorizer = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', type: ResourceType) => void;

function plan(bundle: Bundle, authorize: BundleAuthorizer): { planned: Planned[]; ids: Map<string, string> } {
  const entries = bundle.entry ?? [];
  if (entries.length > MAX_BUNDLE_ENTRIES)
    throw badRequest(`a bundle may hold at most ${MAX_BUNDLE_ENTRIES} entries`);
  const ids = new Map<string, string>();
  const planned: Planned[] = entries.map((e: BundleEntry, i) => {
    const where = `entry[${i}]`;
    const method = e.request?.method;
    const url = e.request?.url;
    if (!method || typeof url !== 'string')
      throw badRequest(`${where}: request.method and request.url are required`);
    const target = typeAndId(url, where);
    if (method === 'GET' || method === 'POST' || method === 'PUT' || method === 'DELETE')
      authorize(method, target.type);
    if (method === 'POST') {
      if (target.id) throw badRequest(`${where}: POST goes to the type (${target.type}), not an id`);
      const id = randomUUID();
      if (e.fullUrl?.startsWith('urn:uuid:')) ids.set(e.fullUrl, `${target.type}/${id}`);
      return { method, type: target.type, id, resource: e.resource };
    }
    if (!target.id) throw badRequest(`${where}: ${method} needs Type/id`);
    if (method === 'PUT') {
      const ifMatch = parseIfMatch(e.request?.ifMatch);
      return {
        method,
        type: target.type,
        id: target.id,
        resource: e.resource,
        ...(ifMatch !== undefined ? { ifMatch } : {}),
      };
    }
    if (method === 'DELETE' || method === 'GET') return { method, type: target.type, id: target.id };
    throw notSupported(`${where}: method ${method} is not supported in bundles`);
  });
  return { planned, ids };
}

function response(status: string, r?: StoredResource): BundleEntryResponse {
  return r
    ? {
        status,
        location: `${r.resourceType}/${r.id}/_history/${r.meta?.versionId}`,
        etag: `W/"${r.meta?.versionId}"`,
        lastModified: r.meta?.lastUpdated as string,
      }
    : { status };
}

/** What a transaction's entries write and delete, by "Type/id" (the last entry about a record wins). */
function plannedWrites(planned: readonly Planned[]): PlannedWrites {
  const out = new Map<string, 'write' | 'delete'>();
  for (const p of planned) {
    if (p.method === 'POST' || p.method === 'PUT') out.set(`${p.type}/${p.id}`, 'write');
    else if (p.method === 'DELETE') out.set(`${p.type}/${p.id}`, 'delete');
  }
  return out;
}

async function prepareOne(
  svc: RecordService,
  p: Planned,
  ids: Map<string, string>,
  planned?: PlannedWrites,
): Promise<{ prepared?: PreparedVersion; resource?: StoredResource; status: string }> {
  if (p.method === 'GET') return { status: '200 OK' };
  if (p.method === 'DELETE') return { prepared: svc.prepareDelete(p.type, p.id), status: '204 No Content' };
  const body = resolveReferences(p.resource, ids);
  const { prepared, resource } = await svc.prepare(body, {
    type: p.type,
    id: p.id,
    ...(p.method === 'PUT' && p.ifMatch !== undefined ? { ifMatch: p.ifMatch } : {}),
    ...(planned ? { planned } : {}),
  });
  return { prepared, resource, status: prepared.expectedPrevious === 0 ? '201 Created' : '200 OK' };
}

/** How a bundle's writes are committed and its reads served (the gatekeeper logs both). */
export interface BundleHooks {
  commit(versions: readonly PreparedVersion[]): void | Promise<void>;
  read(type: ResourceType, id: string): Promise<StoredResource>;
  /** A batch entry was refused or failed: log it before its response is written. */
  denied?(method: string, url: string, failure: HttpFailure): Promise<void>;
}

/** Run a transaction or batch Bundle; returns the response Bundle. */
export async function processBundle(
  svc: RecordService,
  bundle: unknown,
  authorize: BundleAuthorizer,
  hooks: BundleHooks = { commit: (v) => svc.commit(v), read: (t, id) => svc.read(t, id) },
): Promise<Bundle> {
  if (typeof bundle !== 'object' || bundle === null || (bundle as Bundle).resourceType !== 'Bundle') {
    throw badRequest('POST /fhir takes a Bundle of type transaction or batch');
  }
  const b = bundle as Bundle;
  if (b.type !== 'transaction' && b.type !== 'batch')
    throw badRequest(`Bundle.type must be transaction or batch, got ${String(b.type)}`);
  if (b.entry !== undefined && !Array.isArray(b.entry)) throw badRequest('Bundle.entry must be an array');

  if (b.type === 'transaction') {
    const { planned, ids } = plan(b, authorize);
    const seen = new Set<string>();
    for (const p of planned) {
      const key = `${p.type}/${p.id}`;
      if (p.method !== 'GET' && seen.has(key)) throw badRequest(`${key} appears twice in one transaction`);
      seen.add(key);
    }
    const writes = plannedWrites(planned);
    const results = [];
    for (const [i, p] of planned.entries()) {
      try {
        results.push(await prepareOne(svc, p, ids, writes));
      } catch (err) {
        if (err instanceof MedchainError)
          err.message = `entry[${i}] (${p.method} ${p.type}): ${err.message}; nothing was stored`;
        throw err;
      }
    }
    await hooks.commit(results.flatMap((r) => (r.prepared ? [r.prepared] : [])));
    const entry: BundleEntry[] = [];
    for (const [i, r] of results.entries()) {
      const p = planned[i] as Planned;
      if (p.method === 'GET') {
        const res = await hooks.read(p.type, p.id);
        entry.push({ resource: res, response: response('200 OK', res) });
      } else
        entry.push({
          ...(r.resource ? { resource: r.resource } : {}),
          response: response(r.status, r.resource),
        });
    }
    return { resourceType: 'Bundle', type: 'transaction-response', entry };
  }

  // batch: each entry on its own; a failure is reported in that entry's response.
  const entries = b.entry ?? [];
  if (entries.length > MAX_BUNDLE_ENTRIES)
    throw badRequest(`a bundle may hold at most ${MAX_BUNDLE_ENTRIES} entries`);
  const out: BundleEntry[] = [];
  for (const [i, e] of entries.entries()) {
    try {
      const { planned, ids } = plan({ resourceType: 'Bundle', type: 'batch', entry: [e] }, authorize);
      const p = planned[0] as Planned;
      if (p.method === 'GET') {
        const res = await hooks.read(p.type, p.id);
        out.push({ resource: res, response: response('200 OK', res) });
        continue;
      }
      const r = await prepareOne(svc, p, ids);
      if (r.prepared) await hooks.commit([r.prepared]);
      out.push({ ...(r.resource ? { resource: r.resource } : {}), response: response(r.status, r.resource) });
    } catch (err) {
      // Our own faults (and an unwritable log) fail the whole request; the entry's own failures are its answer.
      const f = httpFailure(err);
      if (!(err instanceof MedchainError) || f.status >= 500) throw err;
      await hooks.denied?.(String(e.request?.method ?? ''), String(e.request?.url ?? ''), f);
      out.push({
        response: {
          status: String(f.status),
          outcome: errorOutcome({ ...f, message: `entry[${i}]: ${f.message}` }),
        },
      });
    }
  }
  return { resourceType: 'Bundle', type: 'batch-response', entry: out };
}

export { okOutcome };
