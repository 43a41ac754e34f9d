/**
 * What a request is an attempt to do, derived from its method and path before anything else runs,
 * so that a refused or failed attempt (even an unauthenticated one) can be logged with its action
 * and target.
 */
import { type Address, getAddress, isAddress } from 'viem';
import type { AttemptTarget } from '../access/gatekeeper.js';
import { isResourceType } from '../fhir/resourceTypes.js';
import { FHIR_ID } from '../fhir/validate.js';
import type { LogAction } from '../log/entry.js';

export interface AuditContext {
  action: LogAction;
  target: AttemptTarget | null;
  /** The patient named in the path (/patients/<address>/...), so a refused attempt shows in their log. */
  patient?: Address;
}

export function auditContext(method: string, url: string): AuditContext | undefined {
  const path = url.split('?')[0] ?? '';
  const parts = path.split('/').filter((p) => p.length > 0);
  if (parts[0] === 'patients') {
    const a = parts[1];
    const action: LogAction = parts[2] === 'records' ? 'export' : 'audit-read';
    return a && isAddress(a) ? { action, target: null, patient: getAddress(a) } : { action, target: null };
  }
  if (path === '/fhir/AuditEvent' || parts[0] === 'admin') return { action: 'audit-read', target: null };
  if (parts[0] === 'verify') return { action: 'verify', target: null };
  // A claim submission is an attempt to create a Claim at the insurer (src/api/claimRoutes.ts).
  if (path === '/federation/claims') return { action: 'create', target: { resourceType: 'Claim' } };
  if (path.startsWith('/federation/')) return { action: 'search', target: null };
  // The claims views read the stored Claims (src/api/claimViewRoutes.ts).
  if (path === '/claims/queue' || path === '/claims/submitted')
    return { action: 'search', target: { resourceType: 'Claim' } };
  if (parts[0] !== 'fhir' || parts[1] === 'metadata') return undefined;
  const [, type, id, hist, vid] = parts;
  if (type === undefined) return { action: 'create', target: { resourceType: 'Bundle' } };
  const t = isResourceType(type) ? type : undefined;
  const safeId = id !== undefined && FHIR_ID.test(id) ? id : undefined;
  const target = (extra: Partial<AttemptTarget> = {}): AttemptTarget | null =>
    t ? { resourceType: t, ...(safeId ? { id: safeId } : {}), ...extra } : null;
  if (id === undefined) return { action: method === 'POST' ? 'create' : 'search', target: target() };
  if (t === 'Patient' && id === '$match') return { action: 'discover', target: { resourceType: 'Patient' } };
  if (t === 'Claim' && id === '$submit' && method === 'POST')
    return { action: 'create', target: { resourceType: 'Claim' } };
  if (hist === '$everything') return { action: 'export', target: target() };
  if (hist === '_history') {
    if (vid === undefined) return { action: 'history', target: target() };
    const v = /^\d{1,9}$/.test(vid) ? Number(vid) : undefined;
    return { action: 'vread', target: target(v !== undefined ? { version: v } : {}) };
  }
  if (method === 'PUT') return { action: 'update', target: target() };
  if (method === 'DELETE') return { action: 'delete', target: target() };
  return { action: 'read', target: target() };
}

/** The log reason code of an HTTP status. */
export { reasonCode as reasonOf } from '../fhir/outcomes.js';
