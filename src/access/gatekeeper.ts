/**
 * The gatekeeper: every access to records goes through here. It checks the user's role, and it
 * enforces "log before serve": a read returns data only after its log entry is durably committed,
 * and a write commits the record and its log entry in one transaction. Refused and failed attempts
 * are logged too (`denied`). If the log cannot be written, nothing is served (LogUnavailableError).
 */
import { createHmac } from 'node:crypto';
import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import type { Address } from 'viem';
import { forbidden } from '../errors.js';
import { reasonCode } from '../fhir/outcomes.js';
import { isResourceType, RESOURCE_TYPES, type ResourceType } from '../fhir/resourceTypes.js';
import { MAX_COUNT, parseSearch, type SearchQuery } from '../fhir/search.js';
import { FHIR_ID } from '../fhir/validate.js';
import type { LogAction, LogPurpose, LogTarget } from '../log/entry.js';
import type { LogInput, TransparencyLog } from '../log/transparencyLog.js';
import { processBundle } from '../records/bundleProcessor.js';
import type { RecordService, StoredResource } from '../records/recordService.js';
import type { PreparedVersion, VersionRow } from '../store/recordStore.js';
import { type Action, mayAccess, type UserRole } from './roles.js';

export interface Actor {
  /** Pseudonymous id written to the log (a user's UUID, "operator:import", ...). */
  id: string;
  /** A user role, or 'operator' for local administration (CLI import) which is logged but not role-checked. */
  role: UserRole | 'operator';
  purpose: LogPurpose;
}

/** The default purpose of use of a role (HL7 PurposeOfUse). */
export function defaultPurpose(role: UserRole | 'operator'): LogPurpose {
  if (role === 'billing') return 'payment';
  if (role === 'admin' || role === 'operator') return 'operations';
  return 'treatment';
}

export interface AttemptTarget {
  resourceType: string;
  id?: string;
  version?: number;
}

const hashHex = (h: string): `0x${string}` => `0x${h}`;

export class Gatekeeper {
  constructor(
    private readonly records: RecordService,
    readonly log: TransparencyLog,
    private readonly pseudonymKey: Uint8Array,
  ) {}

  /** A stable pseudonym for a sign-in name that matches no user (never the name itself). */
  pseudonym(username: string): string {
    return `anon:${createHmac('sha256', this.pseudonymKey).update(`login\0${username}`).digest('hex').slice(0, 24)}`;
  }

  private authorize(actor: Actor, action: Action, type: ResourceType): void {
    if (actor.role === 'operator') return;
    if (!mayAccess(actor.role, action, type))
      throw forbidden(`the ${actor.role} role may not ${action} ${type}`);
  }

  private target(row: VersionRow): LogTarget {
    return {
      resourceType: row.resourceType,
      id: row.id,
      version: row.version,
      ciphertextHash: row.deleted ? null : hashHex(row.ciphertextHash),
    };
  }

  private input(
    actor: Actor,
    action: LogAction,
    target: LogTarget | null,
    patient: Address | null,
    outcome: 'permit' | 'deny',
    reason: string,
    queryHash: `0x${string}` | null = null,
  ): LogInput {
    return { actor: actor.id, patient, action, target, purpose: actor.purpose, outcome, reason, queryHash };
  }

  async read(actor: Actor, type: ResourceType, id: string): Promise<StoredResource> {
    this.authorize(actor, 'read', type);
    const { resource, row } = await this.records.readRow(type, id);
    await this.log.append(
      this.input(
        actor,
        'read',
        this.target(row),
        this.records.patientAddressOf(row.patientRef),
        'permit',
        'ok',
      ),
    );
    return resource;
  }

  async vread(actor: Actor, type: ResourceType, id: string, version: number): Promise<StoredResource> {
    this.authorize(actor, 'read', type);
    const { resource, row } = await this.records.vreadRow(type, id, version);
    await this.log.append(
      this.input(
        actor,
        'vread',
        this.target(row),
        this.records.patientAddressOf(row.patientRef),
        'permit',
        'ok',
      ),
    );
    return resource;
  }

  async history(actor: Actor, type: ResourceType, id: string): Promise<BundleEntry[]> {
    this.authorize(actor, 'read', type);
    const entries = await this.records.history(type, id);
    const head = this.records.head(type, id);
    await this.log.append(
      this.input(
        actor,
        'history',
        { resourceType: type, id, version: head?.version ?? 0, ciphertextHash: null },
        this.records.patientAddressOf(head?.patientRef ?? ''),
        'permit',
        'ok',
      ),
    );
    return entries;
  }

  /** Search; one entry per returned record (or one for an empty result), committed before returning. */
  async search(
    actor: Actor,
    q: SearchQuery,
    queryHash: `0x${string}`,
  ): Promise<{ resources: StoredResource[]; total: number }> {
    this.authorize(actor, 'read', q.resourceType);
    const { results, total } = await this.records.searchRows(q);
    const inputs =
      results.length === 0
        ? [
            this.input(
              actor,
              'search',
              { resourceType: q.resourceType, id: '', version: 0, ciphertextHash: null },
              null,
              'permit',
              'ok',
              queryHash,
            ),
          ]
        : results.map((r) =>
            this.input(
              actor,
              'search',
              this.target(r.row),
              this.records.patientAddressOf(r.row.patientRef),
              'permit',
              'ok',
              queryHash,
            ),
          );
    await this.log.appendAll(inputs);
    return { resources: results.map((r) => r.resource), total };
  }

  /**
   * A patient's own records held here (every type, newest first per type, up to `perType` each),
   * read by the patient themself: one entry per record, committed before returning.
   */
  async patientRecords(
    patient: Address,
    perType = MAX_COUNT,
  ): Promise<{ resources: StoredResource[]; truncated: boolean }> {
    const actor = { id: `patient:${patient}`, role: 'operator', purpose: 'none' } as const;
    const found: { resource: StoredResource; row: VersionRow }[] = [];
    let truncated = false;
    for (const id of this.records.patientIdsForAddress(patient)) {
      const head = this.records.head('Patient', id);
      if (!head || head.deleted) continue; // erased: nothing to show
      found.push(await this.records.readRow('Patient', id));
    }
    for (const type of RESOURCE_TYPES) {
      if (type === 'Patient') continue;
      const q = parseSearch(type, { patient, _count: String(perType) });
      const { results, total } = await this.records.searchRows(q);
      if (total > results.length) truncated = true;
      found.push(...results);
    }
    await this.log.appendAll(
      found.map((r) => this.input(actor, 'export', this.target(r.row), patient, 'permit', 'ok')),
    );
    return { resources: found.map((r) => r.resource), truncated };
  }

  async create(actor: Actor, type: ResourceType, body: unknown): Promise<StoredResource> {
    this.authorize(actor, 'write', type);
    const { prepared, resource } = await this.records.prepare(body, { type });
    this.commitLogged(actor, [prepared]);
    return resource;
  }

  async update(
    actor: Actor,
    type: ResourceType,
    id: string,
    body: unknown,
    ifMatch?: number,
  ): Promise<{ resource: StoredResource; created: boolean }> {
    this.authorize(actor, 'write', type);
    const { prepared, resource } = await this.records.prepare(body, {
      type,
      id,
      ...(ifMatch !== undefined ? { ifMatch } : {}),
    });
    this.commitLogged(actor, [prepared]);
    return { resource, created: prepared.expectedPrevious === 0 };
  }

  delete(actor: Actor, type: ResourceType, id: string): void {
    this.authorize(actor, 'delete', type);
    this.commitLogged(actor, [this.records.prepareDelete(type, id)]);
  }

  bundle(actor: Actor, body: unknown): Promise<Bundle> {
    return processBundle(
      this.records,
      body,
      (method, type) =>
        this.authorize(actor, method === 'GET' ? 'read' : method === 'DELETE' ? 'delete' : 'write', type),
      {
        commit: (v) => this.commitLogged(actor, v),
        read: (t, id) => this.read(actor, t, id),
        denied: (method, url, err) => {
          const [type, id] = url.replace(/^\//, '').split('/');
          const action =
            method === 'GET'
              ? 'read'
              : method === 'DELETE'
                ? 'delete'
                : method === 'PUT'
                  ? 'update'
                  : 'create';
          const target =
            type && isResourceType(type)
              ? { resourceType: type, ...(id && FHIR_ID.test(id) ? { id } : {}) }
              : null;
          return this.denied(actor, action, target, reasonCode(err.status));
        },
      },
    );
  }

  /** Write versions and their log entries in one transaction. */
  private commitLogged(actor: Actor, versions: readonly PreparedVersion[]): void {
    if (versions.length === 0) return;
    const inputs = versions.map((v) =>
      this.input(
        actor,
        v.row.deleted ? 'delete' : v.expectedPrevious === 0 ? 'create' : 'update',
        this.target(v.row),
        this.records.patientAddressOf(v.row.patientRef, versions),
        'permit',
        'ok',
      ),
    );
    this.log.commitWith(inputs, () => this.records.write(versions));
    this.records.finish(versions);
  }

  /** Log a refused or failed attempt (role, not found, bad input, unauthenticated, ...). */
  async denied(
    actor: Actor,
    action: LogAction,
    target: AttemptTarget | null,
    reason: string,
    /** The patient the attempt was about, when the request named one (else taken from the target record). */
    patient?: Address,
  ): Promise<void> {
    const head = target?.id ? this.records.head(target.resourceType as ResourceType, target.id) : undefined;
    await this.log.append(
      this.input(
        actor,
        action,
        target
          ? {
              resourceType: target.resourceType,
              id: target.id ?? '',
              version: target.version ?? 0,
              ciphertextHash: null,
            }
          : null,
        patient ?? this.records.patientAddressOf(head?.patientRef ?? ''),
        'deny',
        reason,
      ),
    );
  }

  /** Log a sign-in or failed sign-in. */
  async login(actorId: string, ok: boolean, reason: string): Promise<void> {
    await this.log.append({
      actor: actorId,
      patient: null,
      action: ok ? 'login' : 'login-failed',
      target: null,
      purpose: 'none',
      outcome: ok ? 'permit' : 'deny',
      reason,
      queryHash: null,
    });
  }
}
