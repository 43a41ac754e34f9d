/**
 * The one wire shape for records sent between members, and the requests that ask for them. A
 * request names only the patient, the resource types, the purpose, the user role acted for and a
 * break-glass reason hash: never a search filter, so a custodian cannot be probed with codes or
 * dates (the requester applies its own filters to what consent releases). Everything received is
 * validated here, once, before anything else looks at it.
 *
 *   record:   {resourceType, id, version, patientRef, categories, nonce, ciphertext, ciphertextHash,
 *              key, evidence?}
 *   key:      {kind: 'response', wrapped}   data key under the answer's response key (AES-256-GCM)
 *             {kind: 'hpke', enc, wrapped}  data key sealed to the reader (replicas: made by the custodian)
 *   evidence: {entryIndex, entry, path}     the custodian's create/update entry and its inclusion proof
 *                                           to the head it anchored (replica answers)
 *   answer:   {custodian, patient, responseKey, records, refusals, truncated, anchoredSize?}
 *
 * Patient discovery (`POST /federation/discover`, src/federation/discovery.ts) carries no
 * demographics, only HMAC tokens under the consortium key, and answers only chain addresses:
 *
 *   request:  {kid, tokens, purpose, userRole}
 *   answer:   {member, kid, matches}            matches: chain addresses, sorted, at most 10
 */
import { type Address, getAddress, type Hex, isAddress } from 'viem';
import type { DiscoveryQuery, ReleaseRequest } from '../access/gatekeeper.js';
import type { AccessPurpose } from '../access/purposeOfUse.js';
import { isUserRole } from '../access/roles.js';
import { CATEGORIES, type Category } from '../chain/scopes.js';
import { badRequest, InvalidInputError } from '../errors.js';
import { isResourceType, RESOURCE_TYPES, type ResourceType } from '../fhir/resourceTypes.js';
import { FHIR_ID } from '../fhir/validate.js';
import { writeDigitalLink } from '../supply/gs1.js';
import type { VerificationAnswer } from '../supply/verify.js';

export const b64 = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
export const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
export const hexBytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/^0x/, ''), 'hex'));

/** A record version as it travels: ciphertext and what binds it, never plaintext. */
export interface WireCiphertext {
  resourceType: string;
  id: string;
  version: number;
  patientRef: string;
  /** Consent category mask decided by the custodian at write time. */
  categories: number;
  nonce: string;
  ciphertext: string;
  ciphertextHash: string;
}

export type WireKey = { kind: 'response'; wrapped: string } | { kind: 'hpke'; enc: string; wrapped: string };

export interface WireEvidence {
  entryIndex: number;
  entry: string;
  path: Hex[];
}

export interface SentRecord extends WireCiphertext {
  key: WireKey;
  evidence?: WireEvidence;
}

export interface WireRefusal {
  resourceType: string;
  categories: Category[];
  reason: string;
}

export interface RecordsAnswer {
  custodian: Address;
  patient: Address;
  /** The response key sealed to the requester (HPKE), when any record uses it. */
  responseKey: { enc: string; wrapped: string } | null;
  records: SentRecord[];
  refusals: WireRefusal[];
  /** True when more records of a type exist than one answer carries. */
  truncated: boolean;
  /** Replica answers: the custodian's anchored tree size the evidence is proven against. */
  anchoredSize?: number;
}

const PURPOSES: readonly string[] = ['treatment', 'payment', 'operations', 'research', 'emergency'];

/** The request body of `POST /federation/search` (and, with `custodian`, of the replica search). */
export function releaseRequestBody(q: ReleaseRequest, custodian?: Address): string {
  return JSON.stringify({
    ...(custodian ? { custodian } : {}),
    patient: q.patient,
    resourceTypes: q.resourceTypes,
    purpose: q.purpose,
    userRole: q.userRole,
    breakGlass: q.breakGlass,
  });
}

/** Parse a member's request for records; 400 naming the first bad field. Filters are refused. */
export function parseReleaseRequest(body: unknown): ReleaseRequest {
  const b = body as Record<string, unknown> | undefined;
  if (!b || typeof b !== 'object' || Array.isArray(b))
    throw badRequest('send {patient, resourceTypes, purpose, userRole, breakGlass}');
  for (const k of Object.keys(b)) {
    if (!['patient', 'resourceTypes', 'purpose', 'userRole', 'breakGlass', 'custodian'].includes(k))
      throw badRequest(
        `"${k.slice(0, 40)}" is not part of a request between members (they name only the patient and resource types; filters are applied by the requester)`,
      );
  }
  if (typeof b.patient !== 'string' || !isAddress(b.patient))
    throw badRequest('patient must be a chain address');
  const types = b.resourceTypes;
  if (
    !Array.isArray(types) ||
    types.length === 0 ||
    types.length > RESOURCE_TYPES.length ||
    types.some((t) => typeof t !== 'string' || !isResourceType(t)) ||
    new Set(types).size !== types.length
  )
    throw badRequest(
      `resourceTypes must be a list of distinct supported types (${RESOURCE_TYPES.join(', ')})`,
    );
  if (typeof b.purpose !== 'string' || !PURPOSES.includes(b.purpose))
    throw badRequest(`purpose must be one of ${PURPOSES.join(', ')}`);
  if (typeof b.userRole !== 'string' || !isUserRole(b.userRole))
    throw badRequest('userRole must be a user role');
  const bg = b.breakGlass ?? null;
  if (bg !== null && (typeof bg !== 'string' || !/^0x[0-9a-f]{64}$/.test(bg)))
    throw badRequest('breakGlass must be the SHA-256 of the reason');
  if ((b.purpose === 'emergency') !== (bg !== null))
    throw badRequest('purpose emergency goes with breakGlass, and only with it');
  return {
    patient: getAddress(b.patient),
    resourceTypes: types as ResourceType[],
    purpose: b.purpose as AccessPurpose,
    userRole: b.userRole,
    breakGlass: bg as Hex | null,
  };
}

const isB64 = (s: unknown, max = 8 * 1024 * 1024): s is string =>
  typeof s === 'string' && s.length <= max && /^[A-Za-z0-9+/]*={0,2}$/.test(s);
const isHash = (s: unknown): s is string => typeof s === 'string' && /^[0-9a-f]{64}$/.test(s);

function bad(what: string): never {
  throw new InvalidInputError(`a member's answer is malformed: ${what}`);
}

/** Check one received ciphertext's fields (shared by answers and replica pushes). */
export function checkWireCiphertext(r: unknown): asserts r is WireCiphertext {
  const x = r as Record<string, unknown>;
  if (!x || typeof x !== 'object') bad('record is not an object');
  if (typeof x.resourceType !== 'string' || !isResourceType(x.resourceType)) bad('record resourceType');
  if (typeof x.id !== 'string' || !FHIR_ID.test(x.id)) bad('record id');
  if (!Number.isSafeInteger(x.version) || (x.version as number) < 1) bad('record version');
  if (typeof x.patientRef !== 'string' || x.patientRef.length > 80) bad('record patientRef');
  if (!Number.isInteger(x.categories) || (x.categories as number) < 1 || (x.categories as number) > 0xff)
    bad('record categories');
  if (!isB64(x.nonce, 32) || !isB64(x.ciphertext)) bad('record nonce or ciphertext');
  if (!isHash(x.ciphertextHash)) bad('record ciphertextHash');
}

function checkKey(k: unknown): asserts k is WireKey {
  const x = k as Record<string, unknown>;
  if (!x || typeof x !== 'object') bad('record key');
  if (x.kind === 'response' && isB64(x.wrapped, 200)) return;
  if (x.kind === 'hpke' && isB64(x.enc, 100) && isB64(x.wrapped, 200)) return;
  bad('record key');
}

/** Validate an answer from a custodian or a replica (untrusted input). */
export function parseRecordsAnswer(body: unknown): RecordsAnswer {
  const a = body as Record<string, unknown>;
  if (!a || typeof a !== 'object') bad('not an object');
  if (typeof a.custodian !== 'string' || !isAddress(a.custodian)) bad('custodian');
  if (typeof a.patient !== 'string' || !isAddress(a.patient)) bad('patient');
  if (!Array.isArray(a.records) || !Array.isArray(a.refusals)) bad('records and refusals must be lists');
  const rk = a.responseKey as Record<string, unknown> | null;
  if (rk !== null && (typeof rk !== 'object' || !isB64(rk.enc, 100) || !isB64(rk.wrapped, 200)))
    bad('responseKey');
  for (const r of a.records as unknown[]) {
    checkWireCiphertext(r);
    checkKey((r as SentRecord).key);
    const e = (r as SentRecord).evidence;
    if (
      e !== undefined &&
      (!Number.isSafeInteger(e.entryIndex) ||
        !isB64(e.entry, 4096) ||
        !Array.isArray(e.path) ||
        e.path.length > 64 ||
        e.path.some((p) => typeof p !== 'string' || !/^0x[0-9a-f]{64}$/.test(p)))
    )
      bad('record evidence');
  }
  for (const f of a.refusals as unknown[]) {
    const x = f as Record<string, unknown>;
    if (
      !x ||
      typeof x.resourceType !== 'string' ||
      !isResourceType(x.resourceType) ||
      !Array.isArray(x.categories) ||
      x.categories.some((c) => !(CATEGORIES as readonly unknown[]).includes(c)) ||
      typeof x.reason !== 'string' ||
      !/^[a-z-]{1,40}$/.test(x.reason)
    )
      bad('refusal');
  }
  if (a.anchoredSize !== undefined && !Number.isSafeInteger(a.anchoredSize)) bad('anchoredSize');
  return {
    custodian: getAddress(a.custodian),
    patient: getAddress(a.patient),
    responseKey: rk as RecordsAnswer['responseKey'],
    records: a.records as SentRecord[],
    refusals: a.refusals as WireRefusal[],
    truncated: a.truncated === true,
    ...(a.anchoredSize !== undefined ? { anchoredSize: a.anchoredSize as number } : {}),
  };
}

/** Most tokens in one discovery request (one person: a few name parts, src/fhir/demographics.ts). */
export const MAX_DISCOVERY_TOKENS = 24;
/** Most chain addresses in one discovery answer. */
export const MAX_DISCOVERY_MATCHES = 10;

/** An answer to a discovery request: which patients this member may hold records of, nothing more. */
export interface DiscoveryAnswer {
  member: Address;
  kid: string;
  matches: Address[];
}

const KID = /^[0-9a-f]{16}$/;
const TOKEN = /^[0-9a-f]{64}$/;

/** The body of `POST /federation/discover`. */
export const discoveryRequestBody = (q: DiscoveryQuery): string =>
  JSON.stringify({ kid: q.kid, tokens: q.tokens, purpose: q.purpose, userRole: q.userRole });

/** Parse a member's discovery request; 400 naming the first bad field. Anything but tokens is refused. */
export function parseDiscoveryRequest(body: unknown): DiscoveryQuery {
  const b = body as Record<string, unknown> | undefined;
  if (!b || typeof b !== 'object' || Array.isArray(b))
    throw badRequest('send {kid, tokens, purpose, userRole}');
  for (const k of Object.keys(b))
    if (!['kid', 'tokens', 'purpose', 'userRole'].includes(k))
      throw badRequest(
        `"${k.slice(0, 40)}" is not part of a discovery request (it carries discovery tokens only, never demographics)`,
      );
  if (typeof b.kid !== 'string' || !KID.test(b.kid)) throw badRequest('kid must be a consortium key id');
  const t = b.tokens;
  if (
    !Array.isArray(t) ||
    t.length === 0 ||
    t.length > MAX_DISCOVERY_TOKENS ||
    t.some((x) => typeof x !== 'string' || !TOKEN.test(x)) ||
    new Set(t).size !== t.length
  )
    throw badRequest(`tokens must be 1 to ${MAX_DISCOVERY_TOKENS} distinct discovery tokens (64 hex digits)`);
  if (typeof b.purpose !== 'string' || !PURPOSES.includes(b.purpose))
    throw badRequest(`purpose must be one of ${PURPOSES.join(', ')}`);
  if (typeof b.userRole !== 'string' || !isUserRole(b.userRole))
    throw badRequest('userRole must be a user role');
  return {
    kid: b.kid,
    tokens: [...(t as string[])].sort(),
    purpose: b.purpose as AccessPurpose,
    userRole: b.userRole,
  };
}

/** Validate a discovery answer (untrusted input). */
export function parseDiscoveryAnswer(body: unknown): DiscoveryAnswer {
  const a = body as Record<string, unknown>;
  if (!a || typeof a !== 'object') bad('not an object');
  for (const k of Object.keys(a))
    if (!['member', 'kid', 'matches'].includes(k)) bad(`unexpected field ${k.slice(0, 40)}`);
  if (typeof a.member !== 'string' || !isAddress(a.member)) bad('member');
  if (typeof a.kid !== 'string' || !KID.test(a.kid)) bad('kid');
  const m = a.matches;
  if (
    !Array.isArray(m) ||
    m.length > MAX_DISCOVERY_MATCHES ||
    m.some((x) => typeof x !== 'string' || !isAddress(x))
  )
    bad('matches');
  return {
    member: getAddress(a.member),
    kid: a.kid,
    matches: [...new Set((m as string[]).map((x) => getAddress(x)))],
  };
}

/**
 * A drug unit verification request between trading partners (`POST /federation/supply/verify`,
 * GS1 LMVP request): the product identifier read off the pack and a correlation id, nothing else.
 */
export interface SupplyVerifyRequest {
  gtin: string;
  serial: string;
  lot?: string;
  /** YYMMDD. */
  expiry?: string;
  corrUUID: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The body of `POST /federation/supply/verify`. */
export const supplyVerifyRequestBody = (q: SupplyVerifyRequest): string =>
  JSON.stringify({
    gtin: q.gtin,
    serial: q.serial,
    ...(q.lot === undefined ? {} : { lot: q.lot }),
    ...(q.expiry === undefined ? {} : { expiry: q.expiry }),
    corrUUID: q.corrUUID,
  });

/** Parse a verification request; 400 naming the first bad field (GS1 rules: src/supply/gs1.ts). */
export function parseSupplyVerifyRequest(body: unknown): SupplyVerifyRequest {
  const b = body as Record<string, unknown> | undefined;
  if (!b || typeof b !== 'object' || Array.isArray(b))
    throw badRequest('send {gtin, serial, lot?, expiry?, corrUUID}');
  for (const k of Object.keys(b))
    if (!['gtin', 'serial', 'lot', 'expiry', 'corrUUID'].includes(k))
      throw badRequest(`"${k.slice(0, 40)}" is not part of a verification request`);
  for (const k of ['gtin', 'serial'] as const)
    if (typeof b[k] !== 'string') throw badRequest(`${k} must be a string`);
  for (const k of ['lot', 'expiry'] as const)
    if (b[k] !== undefined && typeof b[k] !== 'string') throw badRequest(`${k} must be a string`);
  if (typeof b.corrUUID !== 'string' || !UUID.test(b.corrUUID)) throw badRequest('corrUUID must be a UUID');
  const q: SupplyVerifyRequest = {
    gtin: b.gtin as string,
    serial: b.serial as string,
    ...(b.lot === undefined ? {} : { lot: b.lot as string }),
    ...(b.expiry === undefined ? {} : { expiry: b.expiry as string }),
    corrUUID: b.corrUUID,
  };
  // Writing the Digital Link checks every value by the GS1 rules (check digit, lengths, charset).
  writeDigitalLink(q);
  return q;
}

const FAILURE_REASONS: readonly string[] = [
  'No_match_GTIN_Serial',
  'No_match_GTIN_Serial_Lot',
  'No_match_GTIN_Serial_Expiry',
  'No_match_GTIN_Serial_Lot_Expiry',
  'Not_for_re-distribution',
];
const ADDITIONAL_INFO: readonly string[] = ['Recalled', 'Expired', 'Suspect', 'Illegitimate'];
const FINDINGS: readonly string[] = [
  'not-commissioned',
  'lot-mismatch',
  'expiry-mismatch',
  'illegitimate',
  'suspect',
  'destroyed',
  'already-dispensed',
  'seen-at-two-places',
  'not-shipped-to-requester',
  'recalled',
  'expired',
];

/** Validate a responder's verification answer (untrusted input). */
export function parseSupplyVerifyAnswer(body: unknown): VerificationAnswer {
  const a = body as Record<string, unknown>;
  if (!a || typeof a !== 'object') bad('not an object');
  for (const k of Object.keys(a))
    if (!['responderGLN', 'verificationTimestamp', 'corrUUID', 'data', 'saleable', 'findings'].includes(k))
      bad(`unexpected field ${k.slice(0, 40)}`);
  if (typeof a.responderGLN !== 'string' || !/^\d{13}$/.test(a.responderGLN)) bad('responderGLN');
  if (typeof a.verificationTimestamp !== 'string' || Number.isNaN(Date.parse(a.verificationTimestamp)))
    bad('verificationTimestamp');
  if (a.corrUUID !== undefined && (typeof a.corrUUID !== 'string' || !UUID.test(a.corrUUID))) bad('corrUUID');
  const d = a.data as Record<string, unknown>;
  if (!d || typeof d !== 'object' || typeof d.verified !== 'boolean') bad('data.verified');
  for (const k of Object.keys(d))
    if (!['verified', 'verificationFailureReason', 'additionalInfo'].includes(k))
      bad(`unexpected data.${k.slice(0, 40)}`);
  if (
    d.verificationFailureReason !== undefined &&
    !FAILURE_REASONS.includes(d.verificationFailureReason as string)
  )
    bad('data.verificationFailureReason');
  if (d.additionalInfo !== undefined && !ADDITIONAL_INFO.includes(d.additionalInfo as string))
    bad('data.additionalInfo');
  if (typeof a.saleable !== 'boolean') bad('saleable');
  if (!Array.isArray(a.findings) || a.findings.some((f) => !FINDINGS.includes(f as string))) bad('findings');
  return a as unknown as VerificationAnswer;
}

/**
 * An illegitimate-product notice between trading partners (`POST /federation/supply/notice`,
 * member signed; DSCSA §582(b)(4)(B): notify every partner who handled the product within 24
 * hours of the determination). Sent by the member that determined it (the GTIN's responder or a
 * regulator) to every member in the units' custody history. Strict: these fields and no other.
 */
export interface SupplyNotice {
  /** The determining member's id of this notice (a UUID); the receiver stores it once. */
  noticeId: string;
  kind: 'illegitimate';
  gtin: string;
  lot: string;
  /** The serials determined illegitimate (distinct, at most 1,000). */
  serials: string[];
  /** Why, as the determining member wrote it (1-500 characters). */
  reason: string;
  /** When it was determined (ISO 8601). */
  determinedAt: string;
}

/** Whether `s` holds an ASCII control character (C0 or DEL). */
export const hasControlCharacter = (s: string): boolean =>
  [...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

/** The most serials one notice names (a lot of a commissioning run fits). */
export const MAX_NOTICE_SERIALS = 1000;

/** The body of `POST /federation/supply/notice`. */
export const supplyNoticeBody = (n: SupplyNotice): string =>
  JSON.stringify({
    noticeId: n.noticeId,
    kind: n.kind,
    gtin: n.gtin,
    lot: n.lot,
    serials: n.serials,
    reason: n.reason,
    determinedAt: n.determinedAt,
  });

/** Parse a notice; 400 naming the first bad field (GS1 rules for the identifiers). */
export function parseSupplyNotice(body: unknown): SupplyNotice {
  const b = body as Record<string, unknown> | undefined;
  const FIELDS = ['noticeId', 'kind', 'gtin', 'lot', 'serials', 'reason', 'determinedAt'];
  if (!b || typeof b !== 'object' || Array.isArray(b)) throw badRequest(`send {${FIELDS.join(', ')}}`);
  for (const k of Object.keys(b))
    if (!FIELDS.includes(k)) throw badRequest(`"${k.slice(0, 40)}" is not part of a supply notice`);
  if (typeof b.noticeId !== 'string' || !UUID.test(b.noticeId)) throw badRequest('noticeId must be a UUID');
  if (b.kind !== 'illegitimate') throw badRequest('kind must be "illegitimate"');
  for (const k of ['gtin', 'lot', 'reason', 'determinedAt'] as const)
    if (typeof b[k] !== 'string') throw badRequest(`${k} must be a string`);
  const reason = b.reason as string;
  if (reason.length === 0 || reason.length > 500 || hasControlCharacter(reason))
    throw badRequest('reason must be 1-500 characters without control characters');
  const determinedAt = b.determinedAt as string;
  if (
    !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$/.test(determinedAt) ||
    Number.isNaN(Date.parse(determinedAt))
  )
    throw badRequest('determinedAt must be an ISO 8601 UTC time (…Z)');
  const s = b.serials;
  if (
    !Array.isArray(s) ||
    s.length === 0 ||
    s.length > MAX_NOTICE_SERIALS ||
    s.some((x) => typeof x !== 'string') ||
    new Set(s).size !== s.length
  )
    throw badRequest(`serials must be 1-${MAX_NOTICE_SERIALS} distinct strings`);
  const n: SupplyNotice = {
    noticeId: b.noticeId,
    kind: 'illegitimate',
    gtin: b.gtin as string,
    lot: b.lot as string,
    serials: [...(s as string[])],
    reason,
    determinedAt,
  };
  for (const serial of n.serials) writeDigitalLink({ gtin: n.gtin, lot: n.lot, serial });
  return n;
}
