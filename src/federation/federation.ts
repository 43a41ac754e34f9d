/**
 * Cross-member reads. A clinician's node asks every other active member for the patient's records
 * with a member-signed request; each custodian checks the patient's consent on chain for
 * (patient, requesting member, category, purpose, now), logs every permit and deny BEFORE
 * answering, and answers with ciphertext plus the data key wrapped to the requester's X25519 key.
 * The requester checks and decrypts, logs the receipt, and serves its user.
 *
 * Break-glass: an emergency clinician may read without consent by giving a reason; both ends log
 * it as `break-glass` (the reason itself only as a hash: entries hold no free text).
 */
import { createHash } from 'node:crypto';
import { matchesSearchRequest, parseSearchRequest } from '@medplum/core';
import { type Address, getAddress, type Hex, isAddress, type LocalAccount } from 'viem';
import { memberAuthHeader } from '../access/memberAuth.js';
import type { ConsortiumView, MemberInfo } from '../chain/consortium.js';
import type { Category, Purpose } from '../chain/scopes.js';
import { badRequest, forbidden } from '../errors.js';
import { isResourceType, PATIENT_ADDRESS_SYSTEM, type ResourceType } from '../fhir/resourceTypes.js';
import { parseSearch } from '../fhir/search.js';
import { decodeEntry, type LogPurpose, type LogTarget } from '../log/entry.js';
import { leafHash, verifyInclusion } from '../log/merkle.js';
import type { LogInput, TransparencyLog } from '../log/transparencyLog.js';
import { recordCategory } from '../records/recordCategory.js';
import type { RecordService, StoredResource } from '../records/recordService.js';
import { type ReplicaAnswer, replicasOf } from './replication.js';

export interface FederatedQuery {
  patient: Address;
  resourceType: ResourceType;
  /** The other search parameters (code, date, _id, _lastUpdated), applied by the custodian. */
  params: Record<string, string[]>;
  purpose: Purpose | 'emergency';
  /** SHA-256 of the break-glass reason, when this is a break-glass read. */
  breakGlass: Hex | null;
}

export interface ForeignRecord {
  resourceType: string;
  id: string;
  version: number;
  patientRef: string;
  nonce: string;
  ciphertext: string;
  ciphertextHash: string;
  enc: string;
  wrapped: string;
}

export interface FederatedAnswer {
  records: ForeignRecord[];
  denied: number;
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const unb64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
const PURPOSES: readonly string[] = ['treatment', 'payment', 'operations', 'research', 'emergency'];

export const reasonHash = (reason: string): Hex =>
  `0x${createHash('sha256').update(reason, 'utf8').digest('hex')}`;

export function parseFederatedQuery(body: unknown): FederatedQuery {
  const b = body as Record<string, unknown> | undefined;
  if (!b || typeof b !== 'object') throw badRequest('send {patient, resourceType, purpose}');
  if (typeof b.patient !== 'string' || !isAddress(b.patient))
    throw badRequest('patient must be a chain address');
  if (typeof b.resourceType !== 'string' || !isResourceType(b.resourceType))
    throw badRequest('resourceType is not supported');
  if (typeof b.purpose !== 'string' || !PURPOSES.includes(b.purpose))
    throw badRequest(`purpose must be one of ${PURPOSES.join(', ')}`);
  const bg = b.breakGlass ?? null;
  if (bg !== null && (typeof bg !== 'string' || !/^0x[0-9a-f]{64}$/.test(bg)))
    throw badRequest('breakGlass must be the SHA-256 of the reason');
  if ((b.purpose === 'emergency') !== (bg !== null))
    throw badRequest('purpose emergency goes with breakGlass, and only with it');
  const params = (b.params ?? {}) as Record<string, unknown>;
  if (typeof params !== 'object' || Array.isArray(params))
    throw badRequest('params must be an object of string arrays');
  for (const [k, v] of Object.entries(params)) {
    if (['patient', 'subject', '_count', '_offset'].includes(k.split(':')[0] as string))
      throw badRequest(`params may not set ${k}`);
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
      throw badRequest(`params.${k} must be an array of strings`);
  }
  return {
    patient: getAddress(b.patient),
    resourceType: b.resourceType,
    params: params as Record<string, string[]>,
    purpose: b.purpose as FederatedQuery['purpose'],
    breakGlass: bg as Hex | null,
  };
}

/** Custodian side: answer `caller` for the patient's records of one type, logging every decision first. */
export async function answerFederated(
  ctx: { records: RecordService; log: TransparencyLog; consortium: ConsortiumView; now?: () => number },
  caller: Address,
  q: FederatedQuery,
): Promise<FederatedAnswer> {
  const requester = await ctx.consortium.member(caller);
  // The same search rules as for local users; the patient scope is added here, never by the caller.
  const scoped = parseSearch(q.resourceType, { ...q.params, _count: '100' });
  const patientClause =
    q.resourceType === 'Patient'
      ? {
          kind: 'token' as const,
          param: 'identifier',
          values: [`${PATIENT_ADDRESS_SYSTEM}|${q.patient.toLowerCase()}`],
        }
      : { kind: 'reference' as const, param: 'patient', values: [q.patient] };
  const { results } = await ctx.records.searchRows({
    ...scoped,
    clauses: [...scoped.clauses, patientClause],
  });
  const at = BigInt(Math.floor((ctx.now ?? Date.now)() / 1000));
  const decisions = new Map<Category, boolean>();
  const logs: LogInput[] = [];
  const permitted: typeof results = [];
  for (const r of results) {
    const category = recordCategory(r.resource);
    let ok: boolean;
    if (q.breakGlass) ok = true;
    else {
      if (!decisions.has(category)) {
        decisions.set(
          category,
          await ctx.consortium.isPermitted(q.patient, caller, category, q.purpose as Purpose, at),
        );
      }
      ok = decisions.get(category) as boolean;
    }
    logs.push({
      actor: `member:${caller}`,
      patient: q.patient,
      action: q.breakGlass ? 'break-glass' : 'search',
      target: {
        resourceType: r.row.resourceType,
        id: r.row.id,
        version: r.row.version,
        ciphertextHash: `0x${r.row.ciphertextHash}`,
      },
      purpose: q.purpose as LogPurpose,
      outcome: ok ? 'permit' : 'deny',
      // No category in the reason: the log is readable by members, and a category next to the patient's
      // address would disclose a sensitive diagnosis class.
      reason: q.breakGlass ? 'break-glass' : ok ? 'consent' : 'no-consent',
      queryHash: q.breakGlass,
    });
    if (ok) permitted.push(r);
  }
  // Log before serve: every decision is committed before any ciphertext leaves.
  await ctx.log.appendAll(logs);
  const denied = results.length - permitted.length;
  if (permitted.length === 0 && denied > 0) {
    throw forbidden(
      `no consent from the patient for ${requester.name || caller} to read these ${q.resourceType} records for ${q.purpose}`,
    );
  }
  const records: ForeignRecord[] = [];
  for (const r of permitted) {
    const wrap = await ctx.records.wrapFor(r.row, requester.encryptionKey);
    records.push({
      resourceType: r.row.resourceType,
      id: r.row.id,
      version: r.row.version,
      patientRef: r.row.patientRef,
      nonce: b64(r.row.nonce as Uint8Array),
      ciphertext: b64(r.row.ciphertext as Uint8Array),
      ciphertextHash: r.row.ciphertextHash,
      enc: b64(wrap.enc),
      wrapped: b64(wrap.wrapped),
    });
  }
  return { records, denied };
}

export interface RemoteOutcome {
  member: string;
  status: 'ok' | 'denied' | 'unreachable' | 'error' | 'replica';
  message?: string;
}

/** Requester side: ask every other active member, decrypt what comes back, log the receipts. */
export async function federatedSearch(
  ctx: {
    records: RecordService;
    log: TransparencyLog;
    consortium: ConsortiumView;
    signer: LocalAccount;
    timeoutMs?: number;
  },
  actor: { id: string },
  q: FederatedQuery,
): Promise<{ resources: StoredResource[]; outcomes: RemoteOutcome[] }> {
  const members = (await ctx.consortium.activeMembers()).filter(
    (m) => m.address !== ctx.signer.address && /^https?:\/\//.test(m.endpoint),
  );
  const answers: { m: MemberInfo; body?: FederatedAnswer; outcome: RemoteOutcome }[] = await Promise.all(
    members.map(async (m) => {
      const path = '/federation/search';
      try {
        const payload = JSON.stringify(q);
        const r = await fetch(`${m.endpoint.replace(/\/$/, '')}${path}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: await memberAuthHeader(ctx.signer, m.address, 'POST', path, payload),
          },
          body: payload,
          signal: AbortSignal.timeout(ctx.timeoutMs ?? 10_000),
        });
        const body = (await r.json()) as FederatedAnswer & { issue?: { details?: { text?: string } }[] };
        // 403: no consent; 401: the member does not accept us (e.g. we were removed from the consortium).
        if (r.status === 403 || r.status === 401)
          return {
            m,
            outcome: {
              member: m.name,
              status: 'denied' as const,
              message: body.issue?.[0]?.details?.text ?? 'denied',
            },
          };
        if (!r.ok)
          return {
            m,
            outcome: {
              member: m.name,
              status: 'error' as const,
              message: body.issue?.[0]?.details?.text ?? `status ${r.status}`,
            },
          };
        return { m, body, outcome: { member: m.name, status: 'ok' as const } };
      } catch {
        return {
          m,
          outcome: {
            member: m.name,
            status: 'unreachable' as const,
            message: `${m.name} did not answer; its records are not included`,
          },
        };
      }
    }),
  );
  const resources: StoredResource[] = [];
  const logs: LogInput[] = [];
  for (const a of answers) {
    if (a.outcome.status === 'denied') {
      logs.push({
        actor: actor.id,
        patient: q.patient,
        action: q.breakGlass ? 'break-glass' : 'search',
        target: { resourceType: q.resourceType, id: '', version: 0, ciphertextHash: null },
        purpose: q.purpose as LogPurpose,
        outcome: 'deny',
        reason: 'remote-no-consent',
        queryHash: q.breakGlass,
      });
    }
    for (const rec of a.body?.records ?? []) {
      try {
        const resource = await openSent(ctx.records, rec, a.m.address);
        resources.push(resource);
        logs.push({
          actor: actor.id,
          patient: q.patient,
          action: q.breakGlass ? 'break-glass' : 'search',
          target: {
            resourceType: rec.resourceType,
            id: rec.id,
            version: rec.version,
            ciphertextHash: `0x${rec.ciphertextHash}`,
          },
          purpose: q.purpose as LogPurpose,
          outcome: 'permit',
          reason: 'received',
          queryHash: q.breakGlass,
        });
      } catch {
        a.outcome = {
          member: a.m.name,
          status: 'error',
          message: `a record from ${a.m.name} failed its integrity check and was dropped`,
        };
      }
    }
  }
  // Members that did not answer: ask their replicas (not for break-glass: replicas hold no wrap for it).
  if (!q.breakGlass) {
    const everyone = await ctx.consortium.activeMembers();
    for (const a of answers) {
      if (a.outcome.status !== 'unreachable') continue;
      const got = await fromReplicas(ctx, a.m, everyone, q);
      if (!got) continue;
      a.outcome = got.outcome;
      for (const resource of got.resources) {
        resources.push(resource.resource);
        logs.push({
          actor: actor.id,
          patient: q.patient,
          action: 'search',
          target: resource.target,
          purpose: q.purpose as LogPurpose,
          outcome: 'permit',
          reason: 'received-from-replica',
          queryHash: null,
        });
      }
      if (got.outcome.status === 'denied') {
        logs.push({
          actor: actor.id,
          patient: q.patient,
          action: 'search',
          target: { resourceType: q.resourceType, id: '', version: 0, ciphertextHash: null },
          purpose: q.purpose as LogPurpose,
          outcome: 'deny',
          reason: 'remote-no-consent',
          queryHash: null,
        });
      }
    }
  }
  // Log the receipts before serving the user.
  if (logs.length > 0) await ctx.log.appendAll(logs);
  return { resources, outcomes: answers.map((a) => a.outcome) };
}

/**
 * Ask the replicas of an unreachable custodian. Every record must come with the custodian's own
 * create/update entry, proven included in the head the custodian anchored on chain, and its
 * ciphertext must hash to the value in that entry; otherwise it is dropped.
 */
async function fromReplicas(
  ctx: { records: RecordService; consortium: ConsortiumView; signer: LocalAccount; timeoutMs?: number },
  custodian: MemberInfo,
  everyone: readonly MemberInfo[],
  q: FederatedQuery,
): Promise<
  { outcome: RemoteOutcome; resources: { resource: StoredResource; target: LogTarget }[] } | undefined
> {
  const head = await ctx.consortium.latestHead(custodian.address);
  const filterParams = new URLSearchParams();
  for (const [k, vs] of Object.entries(q.params)) for (const v of vs) filterParams.append(k, v);
  const filter =
    filterParams.size > 0 ? parseSearchRequest(`${q.resourceType}?${filterParams.toString()}`) : undefined;
  for (const replica of replicasOf(custodian.address, everyone)) {
    if (replica.address === ctx.signer.address || !/^https?:\/\//.test(replica.endpoint)) continue;
    const path = '/federation/replica/search';
    const payload = JSON.stringify({
      custodian: custodian.address,
      patient: q.patient,
      resourceType: q.resourceType,
      purpose: q.purpose,
    });
    let r: Response;
    try {
      r = await fetch(`${replica.endpoint.replace(/\/$/, '')}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: await memberAuthHeader(ctx.signer, replica.address, 'POST', path, payload),
        },
        body: payload,
        signal: AbortSignal.timeout(ctx.timeoutMs ?? 10_000),
      });
    } catch {
      continue;
    }
    if (r.status === 403 || r.status === 401) {
      return {
        outcome: {
          member: custodian.name,
          status: 'denied',
          message: `${custodian.name} is offline and its replica at ${replica.name} refused: no consent`,
        },
        resources: [],
      };
    }
    if (!r.ok) continue;
    const answer = (await r.json()) as ReplicaAnswer;
    if (answer.anchoredSize !== head.treeSize) continue;
    const resources: { resource: StoredResource; target: LogTarget }[] = [];
    let dropped = 0;
    for (const rec of answer.records) {
      const entryBytes = unb64(rec.entry);
      let ok = false;
      try {
        const e = decodeEntry(entryBytes);
        ok =
          e.member === custodian.address &&
          e.index === rec.entryIndex &&
          (e.action === 'create' || e.action === 'update') &&
          e.target?.resourceType === rec.resourceType &&
          e.target.id === rec.id &&
          e.target.version === rec.version &&
          e.target.ciphertextHash === `0x${rec.ciphertextHash}` &&
          verifyInclusion(
            leafHash(entryBytes),
            rec.entryIndex,
            head.treeSize,
            rec.path.map((p) => unb64hex(p)),
            unb64hex(head.rootHash),
          );
      } catch {
        ok = false;
      }
      if (!ok) {
        dropped++;
        continue;
      }
      try {
        const resource = await openSent(ctx.records, rec, custodian.address);
        // A replica holds no search index: apply the reader's other search parameters here.
        if (filter && !matchesSearchRequest(resource, filter)) continue;
        resources.push({
          resource,
          target: {
            resourceType: rec.resourceType,
            id: rec.id,
            version: rec.version,
            ciphertextHash: `0x${rec.ciphertextHash}`,
          },
        });
      } catch {
        dropped++;
      }
    }
    return {
      outcome: {
        member: custodian.name,
        status: 'replica',
        message: `${custodian.name} is offline; served by its replica at ${replica.name}${dropped ? ` (${dropped} record(s) failed the integrity check and were dropped)` : ''}`,
      },
      resources,
    };
  }
  return undefined;
}

const unb64hex = (h: string) => new Uint8Array(Buffer.from(h.replace(/^0x/, ''), 'hex'));

/** Open a record another member (or a replica) sent wrapped to us, marking where it came from. */
async function openSent(
  records: RecordService,
  rec: ForeignRecord,
  custodian: Address,
): Promise<StoredResource> {
  const resource = await records.openForeign({
    binding: { resourceType: rec.resourceType, id: rec.id, version: rec.version, patient: rec.patientRef },
    nonce: unb64(rec.nonce),
    ciphertext: unb64(rec.ciphertext),
    ciphertextHash: rec.ciphertextHash,
    wrap: { enc: unb64(rec.enc), wrapped: unb64(rec.wrapped) },
  });
  resource.meta = { ...(resource.meta ?? {}), source: `urn:medchain:member:${custodian}` };
  return resource;
}
