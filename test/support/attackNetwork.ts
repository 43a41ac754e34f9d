/**
 * Test support for the adversarial suite (test/attacks): one embedded chain and four member nodes
 * (hospital, clinic, lab, insurer, with those Registry roles) served over real sockets on
 * 127.0.0.1, a user of every role at each, and one custodian (the lab) holding the records of two
 * patients (and of a third, used only as a control of the federation wire).
 *
 * Helpers act as a member's staff (sign-in and FHIR over HTTP), as a malicious member node
 * (requests signed with that member's own chain key), as a patient (consent signed with the
 * patient's key and relayed to the chain), and as the consortium (Registry votes).
 *
 * The request bodies of /federation/search and /federation/replica/search are built in
 * `federationSearchBody` and `replicaSearchBody` only, and the record ids of such an answer are
 * read in `federationRecordIds` only: when the wire changes, change those three and nothing else.
 */
import http from 'node:http';
import path from 'node:path';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { type Address, getAddress } from 'viem';
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import { reasonHash } from '../../src/access/accessLog.js';
import type { Actor } from '../../src/access/gatekeeper.js';
import { memberAuthHeader } from '../../src/access/memberAuth.js';
import { patientAuthHeader } from '../../src/access/patientAuth.js';
import { USER_ROLES, type UserRole } from '../../src/access/roles.js';
import { type ChainWallet, walletFor } from '../../src/chain/clients.js';
import { signGrant, signRevoke } from '../../src/chain/consentSignatures.js';
import { consortiumContracts } from '../../src/chain/contracts.js';
import { consentAbi, registryAbi } from '../../src/chain/generated/index.js';
import type { DeploymentManifest } from '../../src/chain/manifest.js';
import {
  type Category,
  categoriesToMask,
  type MemberRole,
  type Purpose,
  purposesToMask,
  rolesToMask,
} from '../../src/chain/scopes.js';
import { writeAndWait } from '../../src/chain/transact.js';
import type { ConsortiumKey } from '../../src/crypto/consortiumKey.js';
import { discoveryTokens } from '../../src/crypto/discoveryToken.js';
import { replicasOf } from '../../src/federation/replicaRing.js';
import { demographicsOf, matchKeys } from '../../src/fhir/demographics.js';
import type { ResourceType } from '../../src/fhir/resourceTypes.js';
import { distributeConsortiumKey } from '../../src/node/consortiumSetup.js';
import { currentConsortiumKey, type MemberIdentity } from '../../src/node/memberIdentity.js';
import {
  keyFileOf,
  type MemberNode,
  openMemberNode,
  type RunningNode,
  serveMemberNode,
} from '../../src/node/memberNode.js';
import {
  addUsers,
  createMemberIdentities,
  deployGenesis,
  hashPasswords,
  publishEndpoint,
} from './memberSetup.js';
import { startTestChain, type TestChain } from './testChain.js';

/** The key-file passphrase of every member. */
export const PASSPHRASE = 'attack network passphrase';
/** The password of the user named `username` at every node (users are named after their role). */
export const passwordOf = (username: string) => `${username} password 123`;

/** The members, each with the Registry role of its name. */
export const MEMBER_NAMES = ['hospital', 'clinic', 'lab', 'insurer'] as const;
export type MemberName = (typeof MEMBER_NAMES)[number];
const ROLE_OF: Record<MemberName, MemberRole> = {
  hospital: 'HOSPITAL',
  clinic: 'CLINIC',
  lab: 'LAB',
  insurer: 'INSURER',
};

const SNOMED = 'http://snomed.info/sct';
const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
/** Codes of the seeded records, and one that no record anywhere carries. */
export const CODES = {
  /** Depressive disorder: the Condition labelled PSY only. */
  psy: `${SNOMED}|35489007`,
  /** HIV infection: the Condition labelled PSY and HIV. */
  psyHiv: `${SNOMED}|86406008`,
  /** A code nobody has. */
  unused: `${SNOMED}|999999999999999`,
} as const;
/** A break-glass reason the nodes accept (10 to 500 characters). */
export const VALID_BREAK_GLASS_REASON = 'patient unconscious in the ER, suspected overdose';

const OPERATOR: Actor = { id: 'operator:attack-seed', role: 'operator', purpose: 'operations' };
/** How long one HTTP request may take: generous for a loaded 2-core machine shared with other test runs. */
export const DEADLINE_MS = 120_000;

// ---------------------------------------------------------------- HTTP

/** An HTTP answer: status, lower-cased headers, and the body (parsed JSON when it is JSON, else text). */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** How to send one request. */
export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /**
   * Send from this loopback source address (e.g. 127.0.0.2) to act as another client; the nodes
   * listen on 127.0.0.1 and loopback accepts any 127/8 source. (undici is not a dependency, so
   * this path uses node:http with `localAddress`.)
   */
  from?: string;
}

function parseBody(text: string, contentType: string | undefined): unknown {
  if (text.length > 0 && /json/.test(contentType ?? '')) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/** One HTTP request over a real socket; fetch, or node:http when `from` is set. */
export async function request(url: string, opts: RequestOptions = {}): Promise<Answer> {
  const method = opts.method ?? 'GET';
  const headers = {
    ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
    ...opts.headers,
  };
  if (!opts.from) {
    const r = await fetch(url, {
      method,
      headers,
      ...(opts.body !== undefined ? { body: opts.body } : {}),
      signal: AbortSignal.timeout(DEADLINE_MS),
    });
    const text = await r.text();
    const h: Record<string, string> = {};
    r.headers.forEach((v, k) => {
      h[k] = v;
    });
    return { status: r.status, headers: h, body: parseBody(text, h['content-type']) };
  }
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: `${u.pathname}${u.search}`,
        method,
        headers,
        localAddress: opts.from,
        agent: false,
        timeout: DEADLINE_MS,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => {
          const h: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h[k] = String(v);
          resolve({ status: res.statusCode ?? 0, headers: h, body: parseBody(text, h['content-type']) });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${DEADLINE_MS} ms`)));
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

export { waitFor } from './waitFor.js';

// ---------------------------------------------------------------- the discovery wire (ONE place)

/** What a (possibly malicious) member asks at /federation/discover: tokens of these demographics. */
export interface DiscoveryProbe {
  who: { family: string; given: string; birthDate: string; gender?: 'male' | 'female' };
  purpose: Purpose | 'emergency';
  userRole: UserRole;
  /** Another consortium key id than the one the tokens are made under. */
  kid?: string;
  /** More people whose tokens ride in the same request (guesses stuffed into one discovery). */
  alsoWho?: readonly DiscoveryProbe['who'][];
}

/** The body of a /federation/discover request (src/federation/wire.ts): {kid, tokens, purpose, userRole}. */
export function discoveryBody(ck: ConsortiumKey, p: DiscoveryProbe): string {
  const keysOf = (w: DiscoveryProbe['who']) =>
    matchKeys(demographicsOf({ name: [{ family: w.family, given: [w.given] }], ...w }));
  const tokens = [...new Set(discoveryTokens(ck.key, [p.who, ...(p.alsoWho ?? [])].flatMap(keysOf)))].sort();
  return JSON.stringify({ kid: p.kid ?? ck.id, tokens, purpose: p.purpose, userRole: p.userRole });
}

// ---------------------------------------------------------------- the federation wire (ONE place)

/** What a (possibly malicious) member asks a custodian at /federation/search. */
export interface FederationProbe {
  patient: Address;
  resourceType: ResourceType;
  purpose: Purpose | 'emergency';
  /** The role of the user the caller says it asks for. */
  userRole: UserRole;
  /** A break-glass read with this reason (sent as its SHA-256). */
  breakGlassReason?: string;
  /**
   * Search parameters a malicious caller tries to filter with (e.g. a code, to probe whether a
   * hidden record matches). The fixed wire carries none; a fixed custodian ignores or refuses them.
   */
  params?: Record<string, string[]>;
}

/**
 * The body of a /federation/search request (src/federation/wire.ts): {patient, resourceTypes,
 * purpose, userRole, breakGlass}. A probe's filter `params` are sent as an attacker would send
 * them (the custodian must refuse them, the same way whatever it holds). `wireControl` shows at
 * once if a body is not understood.
 */
export function federationSearchBody(p: FederationProbe): string {
  return JSON.stringify({
    patient: p.patient,
    resourceTypes: [p.resourceType],
    ...(p.params ? { params: p.params } : {}),
    purpose: p.purpose,
    userRole: p.userRole,
    breakGlass: p.breakGlassReason ? reasonHash(p.breakGlassReason) : null,
  });
}

/** What a member asks a replica at /federation/replica/search. */
export interface ReplicaProbe {
  custodian: Address;
  patient: Address;
  resourceType: ResourceType;
  purpose: Purpose;
  userRole: UserRole;
}

/** The body of a /federation/replica/search request: the custodian, and the same fields as a search. */
export function replicaSearchBody(p: ReplicaProbe): string {
  return JSON.stringify({
    custodian: p.custodian,
    patient: p.patient,
    resourceTypes: [p.resourceType],
    purpose: p.purpose,
    userRole: p.userRole,
    breakGlass: null,
  });
}

/** The ids of the records in a /federation/search or /federation/replica/search answer (none unless 2xx). */
export function federationRecordIds(a: Answer): string[] {
  if (a.status < 200 || a.status >= 300) return [];
  const records = (a.body as { records?: { id?: unknown }[] } | undefined)?.records ?? [];
  return records.map((r) => String(r.id));
}

// ---------------------------------------------------------------- reading FHIR answers

/** The resources of a searchset answer's `match` entries (none unless 2xx). */
export function matches(a: Answer): Resource[] {
  if (a.status < 200 || a.status >= 300) return [];
  return ((a.body as Bundle).entry ?? [])
    .filter((e: BundleEntry) => e.search?.mode === 'match')
    .map((e) => e.resource as Resource);
}

/** The texts of a searchset's `outcome` entries, or of an OperationOutcome answer's issues. */
export function outcomeTexts(a: Answer): string[] {
  const b = a.body as Omit<Bundle, 'resourceType'> & {
    resourceType?: string;
    issue?: { details?: { text?: string }; diagnostics?: string }[];
  };
  if (b?.resourceType === 'OperationOutcome')
    return (b.issue ?? []).map((i) => i.details?.text ?? i.diagnostics ?? '');
  return (b?.entry ?? [])
    .filter((e) => e.search?.mode === 'outcome')
    .flatMap((e) =>
      ((e.resource as { issue?: { details?: { text?: string } }[] }).issue ?? []).map(
        (i) => i.details?.text ?? '',
      ),
    );
}

const VOLATILE_KEYS = new Set(['lastUpdated', 'timestamp', 'time', 'fullUrl', 'enc', 'wrapped']);

/**
 * An answer with what legitimately varies between two calls taken out, so that two answers can be
 * compared for equality of status, shape, totals and outcome entries: the ids and meta of
 * Bundles and OperationOutcomes (built fresh per answer), timestamps, link URLs (they echo the
 * query), full URLs, per-answer key material (HPKE enc/wrapped), and any id in `freshIds`
 * (records created between the calls).
 */
export function normalize(a: Answer, freshIds: readonly string[] = []): { status: number; body: unknown } {
  const fresh = new Set(freshIds);
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== 'object') return typeof v === 'string' && fresh.has(v) ? '<fresh>' : v;
    const o = v as Record<string, unknown>;
    const built = o.resourceType === 'Bundle' || o.resourceType === 'OperationOutcome';
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) {
      if (VOLATILE_KEYS.has(k)) continue;
      if (built && (k === 'id' || k === 'meta')) continue;
      if (k === 'link' && Array.isArray(x)) {
        out.link = x.map((l) => (l as { relation?: string }).relation);
        continue;
      }
      out[k] = walk(x);
    }
    return out;
  };
  return { status: a.status, body: walk(a.body) };
}

/** Every key path in `v` whose name matches `re` (e.g. a count of denied records). */
export function keysMatching(v: unknown, re: RegExp, at = '$'): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => keysMatching(x, re, `${at}[${i}]`));
  if (v === null || typeof v !== 'object') return [];
  return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => [
    ...(re.test(k) ? [`${at}.${k}`] : []),
    ...keysMatching(x, re, `${at}.${k}`),
  ]);
}

// ---------------------------------------------------------------- the network

/** One member: its folder, keys, store and (while running) its served node. */
export interface AttackMember {
  name: MemberName;
  dir: string;
  identity: MemberIdentity;
  /** The member's own chain account: what a malicious node signs with. */
  account: PrivateKeyAccount;
  wallet: ChainWallet;
  node: MemberNode;
  /** Undefined while the member's node is stopped. */
  running: RunningNode | undefined;
}

/** Who a seeded patient is (held at the lab only, in its Patient record). */
export interface PatientDemographics {
  family: string;
  given: string;
  birthDate: string;
  gender: 'male' | 'female';
}

/** The seeded patients' demographics (patient discovery finds them by these). */
export const DEMOGRAPHICS = {
  A: { family: 'Lindqvist-Åberg', given: 'Signe', birthDate: '1961-07-14', gender: 'female' },
  B: { family: 'Okonkwo', given: 'Chidi', birthDate: '1979-11-02', gender: 'male' },
  control: { family: 'Marchetti', given: 'Paolo', birthDate: '1990-03-30', gender: 'male' },
} as const satisfies Record<string, PatientDemographics>;

/** A patient whose records the lab holds; ids are the records' ids at the lab. */
export interface SeededPatient {
  account: PrivateKeyAccount;
  address: Address;
  patientId: string;
  labObservation: string;
  psyCondition: string;
  psyHivCondition: string;
  medicationRequest: string;
  /** The value of the lab Observation (distinct per patient). */
  labValue: number;
}

/** The validity window of a grant, in seconds relative to now. */
export interface GrantOptions {
  /** Seconds from now (default -60). */
  validFrom?: number;
  /** Seconds from now (default 3600). */
  expiry?: number;
}

/** The network of one attack file: start it in `before`, close it in `after`. */
export class AttackNetwork {
  readonly members = {} as Record<MemberName, AttackMember>;
  patientA!: SeededPatient;
  patientB!: SeededPatient;
  /** A patient with one lab result, granted to the clinic (labs, treatment): see `wireControl`. */
  control!: SeededPatient;
  private readonly tokens = new Map<string, string>();
  private relayer!: ChainWallet;

  private constructor(
    readonly t: TestChain,
    readonly manifest: DeploymentManifest,
  ) {}

  /** One chain, four members, users of every role, and the lab's seeded records. */
  static async start(): Promise<AttackNetwork> {
    const t = await startTestChain({ memberCount: 1 });
    let net: AttackNetwork | undefined;
    try {
      const ids = createMemberIdentities(t.dir, MEMBER_NAMES, PASSPHRASE);
      // Patient discovery: the consortium key, made once and sealed to every member (as `medchain up`).
      const withKey = await distributeConsortiumKey(
        MEMBER_NAMES.map((n) => ({ file: keyFileOf(path.join(t.dir, n)), identity: ids[n] })),
        PASSPHRASE,
      );
      for (const [i, n] of MEMBER_NAMES.entries()) ids[n] = withKey[i] as MemberIdentity;
      const deployer = walletFor(t.conn, ids.hospital.chainKey);
      const manifest = await deployGenesis(
        t.conn,
        deployer,
        ids,
        MEMBER_NAMES.map((name) => ({ name, roles: rolesToMask([ROLE_OF[name]]) })),
        { quorumPercent: 51, manifestFile: path.join(t.dir, 'consortium.json') },
      );
      net = new AttackNetwork(t, manifest);
      // Relays patient signatures (the Consent contract takes relays from members only). The
      // hospital is never removed, and no node sends from its key unless a test ticks its anchorer.
      net.relayer = walletFor(t.conn, ids.hospital.chainKey);
      const hashes = await hashPasswords(USER_ROLES, passwordOf);
      for (const n of MEMBER_NAMES) {
        const dir = path.join(t.dir, n);
        const node = openMemberNode(dir, PASSPHRASE, { manifest });
        addUsers(node, hashes);
        const account = privateKeyToAccount(ids[n].chainKey);
        net.members[n] = {
          name: n,
          dir,
          identity: ids[n],
          account,
          wallet: walletFor(t.conn, ids[n].chainKey),
          node,
          running: undefined,
        };
        await net.startMember(n);
      }
      await net.seed();
      return net;
    } catch (err) {
      if (net) await net.close();
      else await t.close();
      throw err;
    }
  }

  private async seed(): Promise<void> {
    this.patientA = await this.seedPatient(13.2, DEMOGRAPHICS.A);
    this.patientB = await this.seedPatient(7.7, DEMOGRAPHICS.B);
    this.control = await this.seedPatient(4.4, DEMOGRAPHICS.control);
    await this.grant(this.control, 'clinic', ['labs'], ['treatment']);
  }

  private async seedPatient(labValue: number, who: PatientDemographics): Promise<SeededPatient> {
    const account = privateKeyToAccount(generatePrivateKey());
    const g = this.members.lab.node.gate;
    const p = await g.create(OPERATOR, 'Patient', {
      resourceType: 'Patient',
      identifier: [{ system: 'urn:medchain:patient', value: account.address }],
      name: [{ family: who.family, given: [who.given] }],
      birthDate: who.birthDate,
      gender: who.gender,
    });
    const subject = { reference: `Patient/${p.id}` };
    const coding = (token: string) => {
      const [system, code] = token.split('|');
      return { coding: [{ system, code }] };
    };
    const obs = await g.create(OPERATOR, 'Observation', {
      resourceType: 'Observation',
      status: 'final',
      category: [
        {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' },
          ],
        },
      ],
      code: { coding: [{ system: 'http://loinc.org', code: '718-7', display: 'Hemoglobin' }] },
      valueQuantity: { value: labValue, unit: 'g/dL' },
      subject,
    });
    const psy = await g.create(OPERATOR, 'Condition', {
      resourceType: 'Condition',
      meta: { security: [{ system: ACT_CODE, code: 'PSY' }] },
      code: { ...coding(CODES.psy), text: 'depressive disorder' },
      subject,
    });
    const psyHiv = await g.create(OPERATOR, 'Condition', {
      resourceType: 'Condition',
      meta: {
        security: [
          { system: ACT_CODE, code: 'PSY' },
          { system: ACT_CODE, code: 'HIV' },
        ],
      },
      code: { ...coding(CODES.psyHiv), text: 'HIV infection' },
      subject,
    });
    const med = await g.create(OPERATOR, 'MedicationRequest', {
      resourceType: 'MedicationRequest',
      status: 'active',
      intent: 'order',
      medicationCodeableConcept: {
        coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '197361' }],
        text: 'amlodipine 5 mg',
      },
      subject,
    });
    return {
      account,
      address: account.address,
      patientId: p.id as string,
      labObservation: obs.id as string,
      psyCondition: psy.id as string,
      psyHivCondition: psyHiv.id as string,
      medicationRequest: med.id as string,
      labValue,
    };
  }

  /** A readable name for a seeded record id ("A.psyCondition"), for failure messages. */
  label(id: string): string {
    for (const [who, p] of [
      ['A', this.patientA],
      ['B', this.patientB],
      ['control', this.control],
    ] as const) {
      for (const k of [
        'patientId',
        'labObservation',
        'psyCondition',
        'psyHivCondition',
        'medicationRequest',
      ] as const)
        if (p[k] === id) return `${who}.${k}`;
    }
    return id;
  }

  /** `label` of each id, comma-separated. */
  labels(ids: readonly string[]): string {
    return ids.map((id) => this.label(id)).join(', ');
  }

  /** The chain address of a member. */
  address(name: MemberName): Address {
    return this.members[name].identity.address;
  }

  /** The base URL of a running member node. */
  url(name: MemberName): string {
    const r = this.members[name].running;
    if (!r) throw new Error(`${name} is stopped`);
    return r.url;
  }

  /** `meta.source` of records a member sent (src/federation/federation.ts openSent). */
  source(name: MemberName): string {
    return `urn:medchain:member:${this.address(name)}`;
  }

  /** Start (or restart) a member's node and publish its endpoint in the Registry. */
  async startMember(name: MemberName): Promise<void> {
    const m = this.members[name];
    if (m.running) return;
    m.running = await serveMemberNode(m.node, {
      rpcUrl: this.t.chain.rpcUrl,
      // Anchoring and replication run only when a test ticks them: no background transactions race
      // the test's own, and what a replica holds is what the test arranged.
      anchor: { intervalMs: 3_600_000 },
      replicate: false,
    });
    await publishEndpoint(this.t.conn, m.wallet, this.manifest, m.running.url);
    for (const k of [...this.tokens.keys()]) if (k.startsWith(`${name}/`)) this.tokens.delete(k);
  }

  /** Stop a member's node (its Registry endpoint stays: readers find it unreachable). */
  async stopMember(name: MemberName): Promise<void> {
    const m = this.members[name];
    await m.running?.close();
    m.running = undefined;
  }

  /** The custodian anchors its log on chain, then pushes records, wraps and log to its replicas. */
  async anchorAndReplicate(name: MemberName): Promise<void> {
    const r = this.members[name].running;
    if (!r?.anchorer || !r.replicator) throw new Error(`${name} is not running with a chain`);
    await r.anchorer.tick(true);
    await r.replicator.tick();
    await r.replicator.tick();
  }

  /** The members holding replicas of `name`'s records. */
  async replicasOf(name: MemberName): Promise<MemberName[]> {
    const c = consortiumContracts(this.t.conn, this.manifest);
    const all = await c.registry.read.memberAccounts();
    const infos = [];
    for (const a of all) {
      const m = await c.registry.read.getMember([a]);
      infos.push({
        address: getAddress(a),
        name: m.name,
        endpoint: m.endpoint,
        encryptionKey: new Uint8Array(),
        active: m.active,
      });
    }
    const active = infos.filter((i) => i.active);
    return replicasOf(this.address(name), active).map((i) => i.name as MemberName);
  }

  // ------------------------------------------------------------ staff

  /** Sign in at a member (POST /auth/login), optionally from another client address. */
  signIn(name: MemberName, username: string, password: string, from?: string): Promise<Answer> {
    return request(`${this.url(name)}/auth/login`, {
      method: 'POST',
      body: JSON.stringify({ username, password }),
      ...(from ? { from } : {}),
    });
  }

  /** A bearer token of the user `role` at `name` (signed in once from 127.0.0.1). */
  async token(name: MemberName, role: UserRole): Promise<string> {
    const k = `${name}/${role}`;
    const known = this.tokens.get(k);
    if (known) return known;
    const r = await this.signIn(name, role, passwordOf(role));
    const token = (r.body as { access_token?: string }).access_token;
    if (r.status !== 200 || !token) throw new Error(`${role} at ${name} could not sign in: ${r.status}`);
    this.tokens.set(k, token);
    return token;
  }

  /** GET /fhir/<type>?<params> at `name` as its user `role`. */
  async fhirSearch(
    name: MemberName,
    role: UserRole,
    type: ResourceType,
    params: Record<string, string>,
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    const q = new URLSearchParams(params).toString();
    return request(`${this.url(name)}/fhir/${type}${q ? `?${q}` : ''}`, {
      headers: { authorization: `Bearer ${await this.token(name, role)}`, ...headers },
    });
  }

  /** A GET (or other) request at `name` as its user `role`. */
  async asUser(name: MemberName, role: UserRole, pathAndQuery: string, opts: RequestOptions = {}) {
    return request(`${this.url(name)}${pathAndQuery}`, {
      ...opts,
      headers: { authorization: `Bearer ${await this.token(name, role)}`, ...opts.headers },
    });
  }

  // ------------------------------------------------------------ a member node acting on its own

  /** The MedchainMember Authorization header `attacker` signs (with its own chain key) for one request. */
  memberHeader(
    attacker: MemberName,
    target: MemberName,
    method: string,
    pathAndQuery: string,
    body = '',
  ): Promise<string> {
    return memberAuthHeader(this.members[attacker].account, this.address(target), method, pathAndQuery, body);
  }

  /** A request from `attacker`'s node to `target`'s, signed with `attacker`'s own chain key. */
  async memberRequest(
    attacker: MemberName,
    target: MemberName,
    method: string,
    pathAndQuery: string,
    body?: string,
  ): Promise<Answer> {
    const authorization = await this.memberHeader(attacker, target, method, pathAndQuery, body ?? '');
    return request(`${this.url(target)}${pathAndQuery}`, {
      method,
      headers: { authorization },
      ...(body !== undefined ? { body } : {}),
    });
  }

  /** `attacker`'s node asks `target` directly at /federation/discover, with tokens under its consortium key. */
  discover(attacker: MemberName, target: MemberName, p: DiscoveryProbe): Promise<Answer> {
    const ck = currentConsortiumKey(this.members[attacker].identity);
    if (!ck) throw new Error(`${attacker} holds no consortium key`);
    return this.memberRequest(attacker, target, 'POST', '/federation/discover', discoveryBody(ck, p));
  }

  /** `attacker` asks custodian `target` directly at /federation/search. */
  federationSearch(attacker: MemberName, target: MemberName, p: FederationProbe): Promise<Answer> {
    return this.memberRequest(attacker, target, 'POST', '/federation/search', federationSearchBody(p));
  }

  /** `attacker` asks `replica` directly at /federation/replica/search. */
  replicaSearch(attacker: MemberName, replica: MemberName, p: ReplicaProbe): Promise<Answer> {
    return this.memberRequest(attacker, replica, 'POST', '/federation/replica/search', replicaSearchBody(p));
  }

  /**
   * The harness's own check that a custodian understands `federationSearchBody`: the clinic asks
   * the lab for the control patient's lab result, which that patient granted to the clinic for
   * treatment. Call it in tests whose attack only shows as an absence in a raw answer, so a wire the
   * custodian refuses cannot make them pass.
   */
  async wireControl(): Promise<void> {
    const a = await this.federationSearch('clinic', 'lab', {
      patient: this.control.address,
      resourceType: 'Observation',
      purpose: 'treatment',
      userRole: 'clinician',
    });
    const ids = federationRecordIds(a);
    if (!ids.includes(this.control.labObservation))
      throw new Error(
        `harness: the lab did not answer a consented raw federation search (status ${a.status}, ${JSON.stringify(a.body).slice(0, 300)}); update federationSearchBody/federationRecordIds to the wire`,
      );
  }

  // ------------------------------------------------------------ the patient

  /** A MedchainPatient header for one request to `member` (it covers the method, path and body). */
  patientHeader(
    patient: SeededPatient,
    member: MemberName,
    request: { method: string; pathAndQuery: string; body?: string },
    timestamp = Date.now(),
  ): Promise<string> {
    return patientAuthHeader(
      patient.account,
      this.address(member),
      request.method,
      request.pathAndQuery,
      request.body ?? '',
      timestamp,
    );
  }

  private nonce(patient: Address): Promise<bigint> {
    return consortiumContracts(this.t.conn, this.manifest).consent.read.nonces([patient]);
  }

  /** The patient signs a grant (which replaces any earlier one to that grantee), relayed to the chain. */
  async grant(
    patient: Pick<SeededPatient, 'account' | 'address'>,
    /** A member of this network, or the account of one admitted later (test/support/claimsNetwork.ts). */
    grantee: MemberName | Address,
    categories: Category[],
    purposes: Purpose[],
    opts: GrantOptions = {},
  ): Promise<void> {
    const now = BigInt(Math.floor(Date.now() / 1000));
    const c = consortiumContracts(this.t.conn, this.manifest);
    const to = (MEMBER_NAMES as readonly string[]).includes(grantee)
      ? this.address(grantee as MemberName)
      : (grantee as Address);
    const g = {
      patient: patient.address,
      grantee: to,
      // The patient consents to the grantee's current admission in the Registry.
      granteeAdmission: await c.registry.read.admissionOf([to]),
      categories: categoriesToMask(categories),
      purposes: purposesToMask(purposes),
      validFrom: now + BigInt(opts.validFrom ?? -60),
      expiry: now + BigInt(opts.expiry ?? 3600),
      nonce: await this.nonce(patient.address),
      deadline: now + 600n,
    };
    await writeAndWait(this.t.conn, this.relayer, {
      address: this.manifest.contracts.Consent,
      abi: consentAbi,
      functionName: 'grantWithSig',
      args: [g, await signGrant(patient.account, this.manifest, g)],
    });
  }

  /** The patient signs a revoke of whatever `grantee` holds (a no-op on chain when it holds nothing). */
  async revoke(patient: SeededPatient, grantee: MemberName): Promise<void> {
    const r = {
      patient: patient.address,
      grantee: this.address(grantee),
      nonce: await this.nonce(patient.address),
      deadline: BigInt(Math.floor(Date.now() / 1000) + 600),
    };
    await writeAndWait(this.t.conn, this.relayer, {
      address: this.manifest.contracts.Consent,
      abi: consentAbi,
      functionName: 'revokeWithSig',
      args: [r, await signRevoke(patient.account, this.manifest, r)],
    });
  }

  /** Revoke every grant the patient gave to any member. */
  async revokeAll(patient: SeededPatient): Promise<void> {
    const c = consortiumContracts(this.t.conn, this.manifest);
    for (const n of MEMBER_NAMES) {
      const g = await c.consent.read.getGrant([patient.address, this.address(n)]);
      if (g.categories !== 0) await this.revoke(patient, n);
    }
  }

  // ------------------------------------------------------------ governance

  private async registryWrite(
    who: MemberName,
    functionName: 'proposeRemoval' | 'proposeAdmission' | 'vote',
    args: readonly unknown[],
  ): Promise<void> {
    await writeAndWait(this.t.conn, this.members[who].wallet, {
      address: this.manifest.contracts.Registry,
      abi: registryAbi,
      functionName,
      args: args as never,
    });
  }

  private async lastProposal(): Promise<bigint> {
    return (await consortiumContracts(this.t.conn, this.manifest).registry.read.proposalCount()) - 1n;
  }

  /** `proposer` proposes removing `target`; returns the proposal id (the proposer's vote counts). */
  async proposeRemoval(proposer: MemberName, target: MemberName): Promise<bigint> {
    await this.registryWrite(proposer, 'proposeRemoval', [this.address(target)]);
    return this.lastProposal();
  }

  /** `proposer` proposes (re-)admitting `candidate` with its own address, key and role. */
  async proposeAdmission(proposer: MemberName, candidate: MemberName): Promise<bigint> {
    const m = this.members[candidate];
    await this.registryWrite(proposer, 'proposeAdmission', [
      {
        account: m.identity.address,
        roles: rolesToMask([ROLE_OF[candidate]]),
        encryptionKey: m.identity.encryptionPublicKey,
        name: candidate,
        endpoint: m.running?.url ?? 'http://127.0.0.1:1',
      },
    ]);
    return this.lastProposal();
  }

  /** `voter` votes for a proposal (it executes once enough members voted). */
  async vote(voter: MemberName, proposal: bigint): Promise<void> {
    await this.registryWrite(voter, 'vote', [proposal]);
  }

  /** Whether the Registry lists `name` as an active member. */
  isActive(name: MemberName): Promise<boolean> {
    return consortiumContracts(this.t.conn, this.manifest).registry.read.isActiveMember([this.address(name)]);
  }

  /** Stop every node, close the stores, stop the chain and remove the folder. */
  async close(): Promise<void> {
    for (const n of MEMBER_NAMES) {
      const m = this.members[n];
      if (!m) continue;
      await m.running?.close().catch(() => undefined);
      m.node.close();
    }
    await this.t.close();
  }
}

/** One JSON-RPC call: the HTTP status and the call's result or error, as answered. */
export async function rpc(
  url: string,
  method: string,
  params: unknown[] = [],
): Promise<{ status: number; result?: unknown; error?: unknown }> {
  const a = await request(url, {
    method: 'POST',
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const b = (typeof a.body === 'object' && a.body !== null ? a.body : {}) as {
    result?: unknown;
    error?: unknown;
  };
  return {
    status: a.status,
    ...('result' in b ? { result: b.result } : {}),
    ...('error' in b ? { error: b.error } : {}),
  };
}
