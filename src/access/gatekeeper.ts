/**
 * The gatekeeper: the policy enforcement point. Every path that releases records comes here —
 * the member's own users (read, vread, history, search, $everything, Bundles), the patient's own
 * access, the custodian's answer to another member, a replica's answer — and each:
 *
 *   1. asks the ONE access decision (src/access/policy.ts) with the chain state it needs;
 *   2. restricts what it looks at to the categories permitted BEFORE matching anything, so a
 *      hidden record changes neither what is found, nor the totals, nor the log's entry count;
 *   3. logs every permit and deny durably ("log before serve"), then opens only what it releases.
 *
 * Writes commit the record version and its log entry in one transaction. Refused and failed
 * attempts are logged too. If the log cannot be written, nothing is served (LogUnavailableError).
 */
import { createHmac } from 'node:crypto';
import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import type { Address, Hex } from 'viem';
import type { GrantTerms } from '../chain/consentModel.js';
import { MEMBER_ROLES, rolesToMask } from '../chain/scopes.js';
import { AccessDeniedError, conflict, tooMany } from '../errors.js';
import {
  isResourceType,
  PATIENT_ADDRESS_SYSTEM,
  RESOURCE_TYPES,
  type ResourceType,
} from '../fhir/resourceTypes.js';
import { MAX_COUNT, type SearchQuery } from '../fhir/search.js';
import { FHIR_ID } from '../fhir/validate.js';
import type { LogAction, LogPurpose, LogTarget } from '../log/entry.js';
import type { LogInput, TransparencyLog } from '../log/transparencyLog.js';
import { processBundle } from '../records/bundleProcessor.js';
import { categoriesOfType } from '../records/recordCategory.js';
import type { RecordService, StoredResource } from '../records/recordService.js';
import {
  ALL_CATEGORY_BITS,
  type PatientRecordKeyRow,
  type PreparedVersion,
  type VersionRow,
} from '../store/recordStore.js';
import { entry, queryHash, targetOf, typeTarget } from './accessLog.js';
import {
  ALL_CATEGORIES,
  covers,
  type Decision,
  decide,
  decideDiscovery,
  type MemberRequester,
  type Requester,
  released,
} from './policy.js';
import { type AccessPurpose, defaultPurposeOf } from './purposeOfUse.js';
import { type Action, mayAccess, releasedToMembers, type UserRole } from './roles.js';
import { SlidingWindow } from './slidingWindow.js';

export interface Actor {
  /** Pseudonymous id written to the log (a user's UUID, "operator:import", ...). */
  id: string;
  /** A user role, or 'operator' for local administration (CLI import) which is logged but not role-checked. */
  role: UserRole | 'operator';
  purpose: LogPurpose;
}

/** The default purpose of use of a role (HL7 PurposeOfUse; src/access/purposeOfUse.ts). */
export function defaultPurpose(role: UserRole | 'operator'): LogPurpose {
  return role === 'operator' ? 'operations' : defaultPurposeOf(role);
}

export interface AttemptTarget {
  resourceType: string;
  id?: string;
  version?: number;
}

/** What the gatekeeper needs from the chain to decide for another member. */
export interface AccessChain {
  member(address: Address): Promise<{ active: boolean; roles: number; admission: number; name: string }>;
  grantOf(patient: Address, grantee: Address): Promise<GrantTerms | undefined>;
}

/** A request from another member (or for it, at a replica): the patient and resource types only. */
export interface ReleaseRequest {
  patient: Address;
  resourceTypes: readonly ResourceType[];
  purpose: AccessPurpose;
  /** The user role the requesting member acts for (as it claims; bounded by its Registry roles). */
  userRole: UserRole;
  /** SHA-256 of the break-glass reason, when this is a break-glass read. */
  breakGlass: Hex | null;
}

/** Categories a member did not share for one resource type (from the decision alone, never the data). */
export interface Refusal {
  resourceType: ResourceType;
  /** Category mask withheld. */
  categories: number;
  /** Why: 'no-consent', 'withheld' (partly shared), 'purpose-member', 'break-glass-member', ... */
  reason: string;
}

/** A patient discovery request from another member: opaque tokens, the purpose and role acted for. */
export interface DiscoveryQuery {
  /** The id of the consortium key the tokens were made under. */
  kid: string;
  /** Discovery tokens (hex HMACs of match keys, src/crypto/discoveryToken.ts), sorted. */
  tokens: readonly string[];
  purpose: AccessPurpose;
  userRole: UserRole;
}

/** Discovery requests one member may send another per minute (answering side). */
export const MEMBER_DISCOVERY_PER_MINUTE = 60;
/**
 * Discovery tokens one member may send another per minute (answering side). Each token is a guess
 * the answerer tests, and nothing ties a request's tokens to one person: this bounds the guesses,
 * not only the requests (a search for one person sends 1 to 3 tokens with one given name).
 */
export const MEMBER_DISCOVERY_TOKENS_PER_MINUTE = 240;
/** Discovery searches one user may start per minute at their own node. */
export const USER_DISCOVERY_PER_MINUTE = 20;

/** Words of a discovery refusal: the same whatever the demographics and whatever matches. */
const DISCOVERY_REFUSAL = 'patient discovery is for treatment, by a care member’s clinical staff';

/** Most records of one type a member releases to another in one answer (newest first). */
export const MAX_RELEASED_PER_TYPE = 1000;

/** Break-glass reads one user may start per hour at their own node. */
export const USER_BREAK_GLASS_PER_HOUR = 10;

/** Registry roles that make a member a provider of care (may ask an insurer about eligibility, submit claims). */
export const PROVIDER_ROLES = rolesToMask(['HOSPITAL', 'CLINIC', 'LAB', 'PHARMACY']);

const HOUR = 3_600_000;
const MINUTE = 60_000;
const nowSeconds = (now: () => number) => BigInt(Math.floor(now() / 1000));

/** The query for every live record of `type` about the patient at `address`. */
export function patientQuery(
  type: ResourceType,
  address: Address,
  count = MAX_RELEASED_PER_TYPE,
): SearchQuery {
  return {
    resourceType: type,
    clauses: [
      type === 'Patient'
        ? {
            kind: 'token',
            param: 'identifier',
            values: [`${PATIENT_ADDRESS_SYSTEM}|${address.toLowerCase()}`],
          }
        : { kind: 'reference', param: 'patient', values: [address] },
    ],
    count,
    offset: 0,
    countCapped: false,
  };
}

/** A user-facing sentence for a refusal by this member's own rules. */
function refusalText(d: Extract<Decision, { permit: false }>, role: UserRole | 'operator'): string {
  switch (d.reason) {
    case 'purpose-role':
      return `the ${role} role may not act for ${d.purpose}; it acts for its own purpose of use`;
    case 'break-glass-role':
      return 'only the emergency-clinician role may break the glass';
    case 'break-glass-member':
      return 'only hospitals and clinics may break the glass';
    case 'break-glass-limit':
      return 'too many break-glass reads in the last hour; ask the patient for consent';
    default:
      return 'not permitted';
  }
}

export class Gatekeeper {
  private chain: AccessChain | undefined;
  /** Break-glass permits given per requesting member (custodian side). */
  private readonly memberBreakGlass = new SlidingWindow(HOUR);
  /** Break-glass reads started per user (requester side). */
  private readonly userBreakGlass = new SlidingWindow(HOUR);
  /** Discovery requests answered per requesting member, and started per user. */
  private readonly memberDiscovery = new SlidingWindow(MINUTE);
  /** Discovery tokens received per requesting member (answering side). */
  private readonly memberDiscoveryTokens = new SlidingWindow(MINUTE);
  private readonly userDiscovery = new SlidingWindow(MINUTE);

  constructor(
    private readonly records: RecordService,
    readonly log: TransparencyLog,
    private readonly pseudonymKey: Uint8Array,
    private readonly now: () => number = Date.now,
  ) {}

  /** Connect the chain: needed to answer other members and to check this member's own roles. */
  attachChain(chain: AccessChain): void {
    this.chain = chain;
  }

  /** A stable pseudonym for a sign-in name that matches no user (never the name itself). */
  pseudonym(username: string): string {
    return `anon:${createHmac('sha256', this.pseudonymKey).update(`login\0${username}`).digest('hex').slice(0, 24)}`;
  }

  /**
   * What the log keeps of a discovery: its sorted tokens under this member's own key. Not a plain
   * hash of the tokens: every member holds the consortium key, so a replica of this log could
   * otherwise test guessed demographics against it and tie them to the user who searched.
   */
  private discoveryHash(tokens: readonly string[]): Hex {
    return queryHash(this.pseudonymKey, 'Patient/$match', { token: [...tokens] });
  }

  /** What the log keeps of a search query: keyed, so the log cannot be used to test guesses. */
  queryHash(type: string, query: Record<string, string | string[]>): Hex {
    return queryHash(this.pseudonymKey, type, query);
  }

  // ------------------------------------------------------------------ the decision, for each kind of asker

  /** This member's own Registry roles (all roles for a node with no chain: there is no one else to ask). */
  private async selfRequester(): Promise<Requester> {
    const me = this.chain ? await this.chain.member(this.log.member) : undefined;
    return {
      kind: 'member',
      address: this.log.member,
      roles: me ? me.roles : rolesToMask(MEMBER_ROLES),
      active: me?.active ?? true,
      admission: me?.admission ?? 0,
      self: true,
    };
  }

  /** The decision for this member's own user (the custodian's rule), thrown as AccessDenied when it denies. */
  private async decideLocal(actor: Actor, breakGlass = false): Promise<Decision> {
    // The operator's decision needs no chain state either, glass or not.
    if (!breakGlass || actor.role === 'operator') return this.decideOwn(actor);
    return this.decideOwn(actor, await this.selfRequester());
  }

  /**
   * `decideLocal`, given this member's Registry standing when the user breaks the glass (`self`);
   * without it, at once: no chain state is needed then (the single read asks it on every request).
   */
  private decideOwn(actor: Actor, self?: Requester): Decision {
    const breakGlass = self !== undefined;
    if (actor.role === 'operator') {
      return {
        permit: true,
        categories: ALL_CATEGORIES,
        withheld: 0,
        purpose: 'operations',
        breakGlass: false,
        basis: 'custodian',
      };
    }
    const d = decide(
      {
        requester: self ?? {
          kind: 'member',
          address: this.log.member,
          roles: 0,
          active: true,
          admission: 0,
          self: true,
        },
        userRole: actor.role,
        purpose: (breakGlass ? 'emergency' : actor.purpose) as AccessPurpose,
        breakGlass,
        patient: null,
        categories: ALL_CATEGORIES,
        at: nowSeconds(this.now),
      },
      {
        grant: undefined,
        breakGlassRecent: breakGlass ? this.userBreakGlass.count(actor.id, this.now()) : 0,
      },
    );
    if (!d.permit) throw new AccessDeniedError(refusalText(d, actor.role), d.reason);
    return d;
  }

  private authorize(actor: Actor, action: Action, type: ResourceType): void {
    if (actor.role === 'operator') return;
    if (!mayAccess(actor.role, action, type))
      throw new AccessDeniedError(`the ${actor.role} role may not ${action} ${type}`, 'role');
  }

  private patientOf(row: { patientRef: string; patientAddress?: string | null }): Address | null {
    return this.records.patientAddressOfRow(row);
  }

  /** Refuse a row the decision does not cover (checked before anything is logged or opened). */
  private check(d: Decision, row: VersionRow): VersionRow {
    if (!covers(d, row.categories ?? ALL_CATEGORY_BITS))
      throw new AccessDeniedError('not permitted by the patient’s consent', 'no-consent');
    return row;
  }

  // ------------------------------------------------------------------ this member's own users

  async read(actor: Actor, type: ResourceType, id: string): Promise<StoredResource> {
    return this.records.open(await this.readLogged(actor, type, id));
  }

  /**
   * `read`, with the record as its stored JSON bytes, for a caller that sends it whole (the REST
   * read: no parse and re-serialization), and its row (version, last update) for the headers.
   */
  async readJson(actor: Actor, type: ResourceType, id: string): Promise<{ row: VersionRow; json: Buffer }> {
    const row = await this.readLogged(actor, type, id);
    return { row, json: await this.records.openJson(row) };
  }

  /**
   * Decide and log a read of the current version; resolves with its row once the entry is durable.
   * A row kept in memory is confirmed against the store file after its entry is durable, by one
   * check for every read of the log batch; if another connection changed the file meanwhile, the
   * read is made again from the store (and logged again): nothing unconfirmed is served.
   */
  private async readLogged(actor: Actor, type: ResourceType, id: string, kept = true): Promise<VersionRow> {
    this.authorize(actor, 'read', type);
    const d = this.decideOwn(actor);
    const k = kept ? this.records.keptRow(type, id) : undefined;
    const row = this.check(d, k ? k.row : this.records.currentRow(type, id));
    await this.log.append(
      entry(actor.id, 'read', targetOf(row), this.patientOf(row), actor.purpose, 'permit', 'ok'),
    );
    if (k && !this.records.confirmKept(k.ticket)) return this.readLogged(actor, type, id, false);
    return row;
  }

  async vread(actor: Actor, type: ResourceType, id: string, version: number): Promise<StoredResource> {
    this.authorize(actor, 'read', type);
    const d = await this.decideLocal(actor);
    const row = this.check(d, this.records.versionRow(type, id, version));
    await this.log.append(
      entry(actor.id, 'vread', targetOf(row), this.patientOf(row), actor.purpose, 'permit', 'ok'),
    );
    return this.records.open(row);
  }

  async history(actor: Actor, type: ResourceType, id: string): Promise<BundleEntry[]> {
    this.authorize(actor, 'read', type);
    const d = await this.decideLocal(actor);
    const rows = this.records
      .historyRows(type, id)
      .filter((r) => r.deleted || covers(d, r.categories ?? ALL_CATEGORY_BITS));
    const head = rows[0];
    await this.log.append(
      entry(
        actor.id,
        'history',
        { ...typeTarget(type), id, version: head?.version ?? 0 },
        head ? this.patientOf(head) : null,
        actor.purpose,
        'permit',
        'ok',
      ),
    );
    return this.records.history(type, id, rows);
  }

  /** Search; one entry per returned record (or one for an empty result), committed before returning. */
  async search(
    actor: Actor,
    q: SearchQuery,
    queryHash: Hex,
  ): Promise<{ resources: StoredResource[]; total: number }> {
    const [found] = await this.searchAll(actor, [{ query: q, queryHash }]);
    return found as { resources: StoredResource[]; total: number };
  }

  /**
   * Several searches, each as `search` (its decision, its entries), their entries committed
   * together (one group commit) before any result is returned.
   */
  async searchAll(
    actor: Actor,
    searches: readonly { query: SearchQuery; queryHash: Hex }[],
  ): Promise<{ resources: StoredResource[]; total: number }[]> {
    for (const s of searches) this.authorize(actor, 'read', s.query.resourceType);
    const d = await this.decideLocal(actor);
    const found = searches.map(({ query: q, queryHash }) => {
      const { rows, total } = this.records.searchStored(q, released(d));
      for (const r of rows) this.check(d, r);
      const inputs =
        rows.length === 0
          ? [
              entry(
                actor.id,
                'search',
                typeTarget(q.resourceType),
                null,
                actor.purpose,
                'permit',
                'ok',
                queryHash,
              ),
            ]
          : rows.map((r) =>
              entry(
                actor.id,
                'search',
                targetOf(r),
                this.patientOf(r),
                actor.purpose,
                'permit',
                'ok',
                queryHash,
              ),
            );
      return { rows, total, inputs };
    });
    await this.log.appendAll(found.flatMap((f) => f.inputs));
    return Promise.all(
      found.map(async (f) => ({
        resources: await Promise.all(f.rows.map((r) => this.records.open(r))),
        total: f.total,
      })),
    );
  }

  /**
   * Check that `actor` may ask other members (purpose bound to role; break-glass only for an
   * emergency clinician of a hospital or clinic, within the per-user limit). Counts a break-glass.
   */
  async authorizeOutgoing(actor: Actor, breakGlass: boolean): Promise<void> {
    await this.decideLocal(actor, breakGlass);
    if (breakGlass) this.userBreakGlass.add(actor.id, this.now());
  }

  // ------------------------------------------------------------------ the patient

  /**
   * A patient's own records held here (every type, newest first per type, up to `perType` each),
   * read by the patient themself: one entry per record, committed before returning.
   */
  async patientRecords(
    patient: Address,
    perType = MAX_COUNT,
  ): Promise<{ resources: StoredResource[]; truncated: boolean }> {
    const d = decide(
      {
        requester: { kind: 'patient', address: patient },
        userRole: null,
        purpose: 'treatment',
        breakGlass: false,
        patient,
        categories: ALL_CATEGORIES,
        at: nowSeconds(this.now),
      },
      { grant: undefined, breakGlassRecent: 0 },
    );
    const rows: VersionRow[] = [];
    let truncated = false;
    for (const type of RESOURCE_TYPES) {
      const found = this.records.searchStored(patientQuery(type, patient, perType), released(d));
      if (found.total > found.rows.length) truncated = true;
      rows.push(...found.rows.map((r) => this.check(d, r)));
    }
    await this.log.appendAll(
      rows.map((r) => entry(`patient:${patient}`, 'export', targetOf(r), patient, 'none', 'permit', 'ok')),
    );
    return { resources: await Promise.all(rows.map((r) => this.records.open(r))), truncated };
  }

  /**
   * The patient's record keys held here, each sealed to the patient's X25519 key (HPKE): with them
   * the patient opens their own copy of every record's data key without this member. Logged.
   */
  async patientKeys(patient: Address): Promise<PatientRecordKeyRow[]> {
    const keys = this.records
      .patientIdsForAddress(patient)
      .flatMap((id) => this.records.patientKeyEnvelopes(`Patient/${id}`));
    await this.log.append(
      entry(`patient:${patient}`, 'export', null, patient, 'none', 'permit', 'record-keys'),
    );
    return keys;
  }

  // ------------------------------------------------------------------ other members

  /** Another member as the decision sees it: its Registry roles while active, its admission. */
  private async memberRequester(caller: Address): Promise<MemberRequester> {
    if (!this.chain) throw new AccessDeniedError('this node is not connected to the chain', 'no-chain');
    const m = await this.chain.member(caller);
    return {
      kind: 'member',
      address: caller,
      roles: m.active ? m.roles : 0,
      active: m.active,
      admission: m.admission,
      self: false,
    };
  }

  private async memberDecision(caller: Address, q: ReleaseRequest): Promise<Decision> {
    if (!this.chain) throw new AccessDeniedError('this node is not connected to the chain', 'no-chain');
    const [requester, grant] = await Promise.all([
      this.memberRequester(caller),
      q.breakGlass ? Promise.resolve(undefined) : this.chain.grantOf(q.patient, caller),
    ]);
    return decide(
      {
        requester,
        userRole: q.userRole,
        purpose: q.purpose,
        breakGlass: q.breakGlass !== null,
        patient: q.patient,
        categories: ALL_CATEGORIES,
        at: nowSeconds(this.now),
      },
      { grant, breakGlassRecent: this.memberBreakGlass.count(caller, this.now()) },
    );
  }

  /** What is withheld for each type asked, and the entries that record it (one per type, data-independent). */
  private refusals(
    caller: Address,
    q: ReleaseRequest,
    d: Decision,
  ): { refusals: Refusal[]; logs: LogInput[] } {
    const refusals: Refusal[] = [];
    for (const t of q.resourceTypes) {
      if (!releasedToMembers(t)) {
        refusals.push({
          resourceType: t,
          categories: categoriesOfType(t),
          reason: 'not-released-to-members',
        });
        continue;
      }
      const categories = categoriesOfType(t) & ~released(d);
      if (categories === 0) continue;
      // Nothing of this type released at all reads as no consent for it; some released, as withheld.
      const reason = !d.permit ? d.reason : categories === categoriesOfType(t) ? 'no-consent' : 'withheld';
      refusals.push({ resourceType: t, categories, reason });
    }
    const logs = refusals.map((r) =>
      entry(
        `member:${caller}`,
        q.breakGlass ? 'break-glass' : 'search',
        typeTarget(r.resourceType),
        q.patient,
        q.purpose,
        'deny',
        r.reason,
        q.breakGlass,
      ),
    );
    return { refusals, logs };
  }

  /**
   * The custodian's answer to another member: decide, find the patient's records of the types
   * asked among the categories permitted only, log every record released (and one deny per type
   * with anything withheld) BEFORE returning the rows to be sealed for the requester.
   */
  async releaseToMember(
    caller: Address,
    q: ReleaseRequest,
  ): Promise<{ decision: Decision; rows: VersionRow[]; refusals: Refusal[]; truncated: boolean }> {
    const d = await this.memberDecision(caller, q);
    const rows: VersionRow[] = [];
    let truncated = false;
    if (d.permit) {
      for (const t of q.resourceTypes.filter(releasedToMembers)) {
        const found = this.records.searchStored(patientQuery(t, q.patient), d.categories);
        if (found.total > found.rows.length) truncated = true;
        rows.push(...found.rows.filter((r) => covers(d, r.categories ?? ALL_CATEGORY_BITS)));
      }
    }
    const { refusals, logs } = this.refusals(caller, q, d);
    const reason = d.permit && d.breakGlass ? 'break-glass' : 'consent';
    await this.log.appendAll([
      ...rows.map((r) =>
        entry(
          `member:${caller}`,
          q.breakGlass ? 'break-glass' : 'search',
          targetOf(r),
          q.patient,
          q.purpose,
          'permit',
          reason,
          q.breakGlass,
        ),
      ),
      ...logs,
    ]);
    if (d.permit && d.breakGlass) this.memberBreakGlass.add(caller, this.now());
    return { decision: d, rows, refusals, truncated };
  }

  /**
   * A replica's answer for a custodian that is down: the same decision against the CURRENT grant,
   * applied to the category mask carried with each record; a wrap made under other grant terms
   * (`grantTerms` differs from the current grant's fingerprint) is not used. Logged here first.
   */
  async releaseFromReplica<
    R extends {
      resourceType: string;
      id: string;
      version: number;
      ciphertextHash: string;
      categories: number;
      grantTerms: string;
    },
  >(
    caller: Address,
    q: ReleaseRequest,
    candidates: readonly R[],
    fingerprint: (grant: GrantTerms) => string,
  ): Promise<{ decision: Decision; released: R[]; refusals: Refusal[] }> {
    const d = await this.memberDecision(caller, q);
    const grant = d.permit && this.chain ? await this.chain.grantOf(q.patient, caller) : undefined;
    const current = grant ? fingerprint(grant) : null;
    const out = candidates.filter(
      (c) =>
        isResourceType(c.resourceType) &&
        releasedToMembers(c.resourceType) &&
        covers(d, c.categories) &&
        c.grantTerms === current,
    );
    const { refusals, logs } = this.refusals(caller, q, d);
    await this.log.appendAll([
      ...out.map((c) =>
        entry(
          `member:${caller}`,
          'search',
          {
            resourceType: c.resourceType,
            id: c.id,
            version: c.version,
            ciphertextHash: `0x${c.ciphertextHash}`,
          },
          q.patient,
          q.purpose,
          'permit',
          'replica-consent',
        ),
      ),
      ...logs,
    ]);
    return { decision: d, released: out, refusals };
  }

  /**
   * The requester's side: log what other members (or their replicas) sent and what they withheld,
   * before any of it is served to `actor`.
   */
  async logReceived(
    actor: Actor,
    q: { patient: Address; purpose: AccessPurpose; breakGlass: Hex | null },
    received: readonly { target: LogTarget; viaReplica: boolean }[],
    refused: readonly { resourceType: string }[],
  ): Promise<void> {
    const action = q.breakGlass ? 'break-glass' : 'search';
    const inputs = [
      ...received.map((r) =>
        entry(
          actor.id,
          action,
          r.target,
          q.patient,
          q.purpose,
          'permit',
          r.viaReplica ? 'received-from-replica' : 'received',
          q.breakGlass,
        ),
      ),
      ...refused.map((r) =>
        entry(
          actor.id,
          action,
          typeTarget(r.resourceType),
          q.patient,
          q.purpose,
          'deny',
          'remote-no-consent',
          q.breakGlass,
        ),
      ),
    ];
    if (inputs.length > 0) await this.log.appendAll(inputs);
  }

  // ------------------------------------------------------------------ patient discovery

  /**
   * Another member asks whether this member may hold records of a patient matching some tokens.
   * Decided (src/access/policy.ts decideDiscovery) and throttled before anything is matched, so a
   * refusal is the same whatever matches; then one entry per matching patient (the patient sees
   * in their access list that the member asked), or one with no patient when nothing matched, all
   * logged BEFORE the addresses are returned.
   */
  async discoverForMember(
    caller: Address,
    q: DiscoveryQuery,
    /** The id of the consortium key this member's tokens are under (undefined: it holds none). */
    heldKid: string | undefined,
    match: () => Address[],
  ): Promise<Address[]> {
    if (!this.chain) throw new AccessDeniedError('this node is not connected to the chain', 'no-chain');
    const actor = `member:${caller}`;
    const qh = this.discoveryHash(q.tokens);
    const d = decideDiscovery({
      requester: await this.memberRequester(caller),
      userRole: q.userRole,
      purpose: q.purpose,
    });
    const refuse = async (reason: string) =>
      this.log.append(entry(actor, 'discover', typeTarget('Patient'), null, q.purpose, 'deny', reason, qh));
    if (!d.permit) {
      await refuse(d.reason);
      throw new AccessDeniedError(DISCOVERY_REFUSAL, d.reason);
    }
    const now = this.now();
    if (
      this.memberDiscovery.count(caller, now) >= MEMBER_DISCOVERY_PER_MINUTE ||
      this.memberDiscoveryTokens.count(caller, now) + q.tokens.length > MEMBER_DISCOVERY_TOKENS_PER_MINUTE
    ) {
      await refuse('rate-limited');
      throw tooMany('too many patient discovery requests from this member; try again in a minute', 60);
    }
    this.memberDiscovery.add(caller, now);
    for (let i = 0; i < q.tokens.length; i++) this.memberDiscoveryTokens.add(caller, now);
    if (heldKid !== q.kid) {
      await refuse('consortium-key');
      throw conflict(
        heldKid
          ? `this member's discovery tokens are under consortium key ${heldKid}, not ${q.kid}; the consortium is rotating its key, try again once both members hold the new one`
          : 'this member holds no consortium key, so it takes no part in patient discovery',
      );
    }
    // Only a member that gives care says it may hold a patient's records: an insurer holds its
    // enrollees' Patients, and answering would tell any clinician who insures whom.
    const self = await this.selfRequester();
    const care =
      self.kind === 'member' &&
      decideDiscovery({ requester: { ...self, self: false }, userRole: 'clinician', purpose: 'treatment' })
        .permit;
    const found = care ? match() : [];
    await this.log.appendAll(
      found.length === 0
        ? [entry(actor, 'discover', typeTarget('Patient'), null, q.purpose, 'permit', 'no-match', qh)]
        : found.map((a) =>
            entry(actor, 'discover', typeTarget('Patient'), a, q.purpose, 'permit', 'may-hold', qh),
          ),
    );
    return found;
  }

  /**
   * May `actor` search for a patient by demographics across members? Their role and this member's
   * own Registry roles must act for treatment; at most USER_DISCOVERY_PER_MINUTE a minute. A
   * refusal is logged before it is thrown.
   */
  async authorizeDiscovery(actor: Actor, tokens: readonly string[]): Promise<void> {
    const qh = this.discoveryHash(tokens);
    const refuse = async (reason: string) =>
      this.log.append(
        entry(actor.id, 'discover', typeTarget('Patient'), null, actor.purpose, 'deny', reason, qh),
      );
    if (actor.role === 'operator') {
      await refuse('purpose-role');
      throw new AccessDeniedError(DISCOVERY_REFUSAL, 'purpose-role');
    }
    const self = await this.selfRequester();
    if (self.kind !== 'member') throw new Error('unreachable: this member decides as a member');
    const d = decideDiscovery({
      requester: { ...self, self: false },
      userRole: actor.role,
      purpose: actor.purpose as AccessPurpose,
    });
    if (!d.permit) {
      await refuse(d.reason);
      throw new AccessDeniedError(DISCOVERY_REFUSAL, d.reason);
    }
    const now = this.now();
    if (this.userDiscovery.count(actor.id, now) >= USER_DISCOVERY_PER_MINUTE) {
      await refuse('rate-limited');
      throw tooMany('too many patient searches in the last minute; try again shortly', 60);
    }
    this.userDiscovery.add(actor.id, now);
  }

  /** The asker's side: one entry per patient found (or one when none was), before `actor` sees them. */
  async logDiscovered(actor: Actor, tokens: readonly string[], found: readonly Address[]): Promise<void> {
    const qh = this.discoveryHash(tokens);
    await this.log.appendAll(
      found.length === 0
        ? [entry(actor.id, 'discover', typeTarget('Patient'), null, actor.purpose, 'permit', 'no-match', qh)]
        : found.map((a) =>
            entry(actor.id, 'discover', typeTarget('Patient'), a, actor.purpose, 'permit', 'discovered', qh),
          ),
    );
  }

  // ------------------------------------------------------------------ writes

  async create(actor: Actor, type: ResourceType, body: unknown): Promise<StoredResource> {
    this.authorize(actor, 'write', type);
    await this.decideLocal(actor);
    const { prepared, resource } = await this.records.prepare(body, { type });
    await this.commitLogged(actor, [prepared]);
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
    await this.decideLocal(actor);
    const { prepared, resource } = await this.records.prepare(body, {
      type,
      id,
      ...(ifMatch !== undefined ? { ifMatch } : {}),
    });
    await this.commitLogged(actor, [prepared]);
    return { resource, created: prepared.expectedPrevious === 0 };
  }

  /**
   * Several writes (each as `update`) committed atomically in one group commit, with one log entry
   * each: all or none. A write may reference a record another one of them writes.
   */
  async updateAll(
    actor: Actor,
    writes: readonly { type: ResourceType; id: string; body: unknown; ifMatch?: number }[],
  ): Promise<{ resource: StoredResource; created: boolean }[]> {
    for (const w of writes) this.authorize(actor, 'write', w.type);
    await this.decideLocal(actor);
    const planned = new Map(writes.map((w) => [`${w.type}/${w.id}`, 'write' as const]));
    const done: { prepared: PreparedVersion; resource: StoredResource }[] = [];
    for (const w of writes)
      done.push(
        await this.records.prepare(w.body, {
          type: w.type,
          id: w.id,
          planned,
          ...(w.ifMatch !== undefined ? { ifMatch: w.ifMatch } : {}),
        }),
      );
    await this.commitLogged(
      actor,
      done.map((d) => d.prepared),
    );
    return done.map((d) => ({ resource: d.resource, created: d.prepared.expectedPrevious === 0 }));
  }

  async delete(actor: Actor, type: ResourceType, id: string): Promise<void> {
    this.authorize(actor, 'delete', type);
    await this.decideLocal(actor);
    await this.commitLogged(actor, [this.records.prepareDelete(type, id)]);
  }

  async bundle(actor: Actor, body: unknown): Promise<Bundle> {
    await this.decideLocal(actor);
    return processBundle(
      this.records,
      body,
      (method, type) =>
        this.authorize(actor, method === 'GET' ? 'read' : method === 'DELETE' ? 'delete' : 'write', type),
      {
        commit: (v) => this.commitLogged(actor, v),
        read: (t, id) => this.read(actor, t, id),
        denied: (method, url, failure) => {
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
          return this.denied(actor, action, target, failure.reason);
        },
      },
    );
  }

  /** Write versions and their log entries atomically, in the next group commit (one fsync for many writes). */
  private async commitLogged(actor: Actor, versions: readonly PreparedVersion[]): Promise<void> {
    if (versions.length === 0) return;
    const inputs = versions.map((v) =>
      entry(
        actor.id,
        v.row.deleted ? 'delete' : v.expectedPrevious === 0 ? 'create' : 'update',
        targetOf(v.row),
        this.records.patientAddressOf(v.row.patientRef, versions),
        actor.purpose,
        'permit',
        'ok',
      ),
    );
    await this.log.commitQueued(inputs, () => this.records.write(versions));
    this.records.finish(versions);
  }

  // ------------------------------------------------------------------ insurance eligibility

  /**
   * The insurer's read of its own enrollment for another member's eligibility request (issue 13),
   * under the purpose `payment`: only a member with a provider role may ask (an insurer asking
   * would learn who is insured where), then the patient's Coverages held here are read, one log
   * entry per Coverage (or one naming only the type when there is none), logged BEFORE they are
   * used. Only the answer built from them (in force or not on a date) leaves this node.
   */
  async coverageForEligibility(
    caller: Address,
    patient: Address,
  ): Promise<{ enrolled: boolean; coverages: StoredResource[] }> {
    const actor = `member:${caller}`;
    const m = this.chain ? await this.chain.member(caller) : undefined;
    if (m && (!m.active || (m.roles & PROVIDER_ROLES) === 0)) {
      await this.log.append(
        entry(actor, 'search', typeTarget('Coverage'), patient, 'payment', 'deny', 'not-a-provider'),
      );
      throw new AccessDeniedError(
        'eligibility is answered to providers (hospitals, clinics, labs, pharmacies) only',
        'not-a-provider',
      );
    }
    const enrolled = this.records.searchStored(patientQuery('Patient', patient, 1)).total > 0;
    const rows = enrolled ? this.records.searchStored(patientQuery('Coverage', patient)).rows : [];
    await this.log.appendAll(
      rows.length === 0
        ? [
            entry(
              actor,
              'search',
              typeTarget('Coverage'),
              patient,
              'payment',
              'permit',
              enrolled ? 'eligibility' : 'not-enrolled',
            ),
          ]
        : rows.map((r) => entry(actor, 'search', targetOf(r), patient, 'payment', 'permit', 'eligibility')),
    );
    return { enrolled, coverages: await Promise.all(rows.map((r) => this.records.open(r))) };
  }

  // ------------------------------------------------------------------ refusals and sign-ins

  /** Log a refused or failed attempt (role, not found, bad input, ...). */
  async denied(
    actor: Actor,
    action: LogAction,
    target: AttemptTarget | null,
    reason: string,
    /** The patient the attempt was about, when the request named one (else taken from the target record). */
    patient?: Address,
  ): Promise<void> {
    const head =
      target?.id && isResourceType(target.resourceType)
        ? this.records.head(target.resourceType, target.id)
        : undefined;
    await this.log.append(
      entry(
        actor.id,
        action,
        target
          ? {
              resourceType: target.resourceType,
              id: target.id ?? '',
              version: target.version ?? 0,
              ciphertextHash: null,
            }
          : null,
        patient ?? (head ? this.patientOf(head) : null),
        actor.purpose,
        'deny',
        reason,
      ),
    );
  }

  /** Log a sign-in or failed sign-in. */
  async login(actorId: string, ok: boolean, reason: string): Promise<void> {
    await this.log.append(
      entry(actorId, ok ? 'login' : 'login-failed', null, null, 'none', ok ? 'permit' : 'deny', reason),
    );
  }

  /** Break-glass entries of this log, newest first (the admin alert feed). */
  breakGlassAlerts(limit = 100): { index: number; leaf: Uint8Array }[] {
    return this.log.entriesWithAction('break-glass', limit);
  }
}
