/**
 * Log entries and their canonical bytes (docs/log-format.md). The bytes are what the Merkle leaf
 * hashes, so encoding is strict and decoding rejects anything non-canonical. Entries hold no names:
 * actors are pseudonymous ids, patients are chain addresses, records are ids and ciphertext hashes.
 */
import { type Address, getAddress, type Hex, isAddress } from 'viem';
import { InvalidInputError } from '../errors.js';

export const ENTRY_FORMAT_VERSION = 1;

export const LOG_ACTIONS = [
  'create',
  'read',
  'vread',
  'search',
  'update',
  'delete',
  'history',
  'export',
  'consent-grant',
  'consent-revoke',
  'break-glass',
  'login',
  'login-failed',
  'audit-read',
  'verify',
] as const;
export type LogAction = (typeof LOG_ACTIONS)[number];

/** Purposes of use (HL7 v3 PurposeOfUse: TREAT, HPAYMT, HOPERAT, HRESCH, ETREAT). */
export const LOG_PURPOSES = ['none', 'treatment', 'payment', 'operations', 'research', 'emergency'] as const;
export type LogPurpose = (typeof LOG_PURPOSES)[number];

export interface LogTarget {
  resourceType: string;
  id: string;
  /** 0 when the action concerns no particular version (e.g. a search of a type). */
  version: number;
  /** SHA-256 of the stored ciphertext of that version, when there is one. */
  ciphertextHash: Hex | null;
}

export interface LogEntry {
  index: number;
  /** Milliseconds since the Unix epoch. */
  time: number;
  member: Address;
  /** Pseudonymous actor: a user's UUID, "anonymous", "member:0x...", "patient:0x...", "anon:<hmac>". */
  actor: string;
  patient: Address | null;
  action: LogAction;
  target: LogTarget | null;
  purpose: LogPurpose;
  outcome: 'permit' | 'deny';
  /** Reason code, e.g. "ok", "role", "not-found", "unauthenticated", "bad-request". */
  reason: string;
  /** SHA-256 of the normalized search query, for searches. */
  queryHash: Hex | null;
}

const TOKEN = /^[A-Za-z0-9:._@-]{0,64}$/;
const REASON = /^[a-z0-9-]{1,64}$/;
const ID = /^[A-Za-z0-9\-.]{0,64}$/;
const TYPE = /^[A-Za-z]{0,64}$/;

function bad(msg: string): never {
  throw new InvalidInputError(`log entry: ${msg}`);
}

function checkHash(h: Hex | null, what: string): void {
  if (h !== null && !/^0x[0-9a-f]{64}$/.test(h)) bad(`${what} must be 32 bytes of lowercase hex`);
}

/** Check every field; throws InvalidInputError naming the first bad one. */
export function checkEntry(e: LogEntry): void {
  if (!Number.isSafeInteger(e.index) || e.index < 0) bad('index must be a non-negative integer');
  if (!Number.isSafeInteger(e.time) || e.time < 0) bad('time must be milliseconds since the epoch');
  if (!isAddress(e.member)) bad('member must be an address');
  if (!TOKEN.test(e.actor) || e.actor.length === 0)
    bad('actor must be a pseudonymous id (1-64 of A-Za-z0-9:._@-)');
  if (e.patient !== null && !isAddress(e.patient)) bad('patient must be an address or null');
  if (!LOG_ACTIONS.includes(e.action)) bad(`unknown action ${String(e.action)}`);
  if (e.target) {
    if (!TYPE.test(e.target.resourceType)) bad('target.resourceType must be letters');
    if (!ID.test(e.target.id)) bad('target.id must be a FHIR id');
    if (!Number.isInteger(e.target.version) || e.target.version < 0 || e.target.version > 0xffffffff)
      bad('target.version out of range');
    checkHash(e.target.ciphertextHash, 'target.ciphertextHash');
  }
  if (!LOG_PURPOSES.includes(e.purpose)) bad(`unknown purpose ${String(e.purpose)}`);
  if (e.outcome !== 'permit' && e.outcome !== 'deny') bad('outcome must be permit or deny');
  if (!REASON.test(e.reason)) bad('reason must be a code (a-z, 0-9, -)');
  checkHash(e.queryHash, 'queryHash');
}

class Writer {
  private readonly parts: Buffer[] = [];
  u8(n: number) {
    this.parts.push(Buffer.of(n));
  }
  u32(n: number) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    this.parts.push(b);
  }
  u64(n: number) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(n));
    this.parts.push(b);
  }
  bytes(b: Uint8Array) {
    this.parts.push(Buffer.from(b));
  }
  str(s: string) {
    const b = Buffer.from(s, 'ascii');
    this.u8(b.length);
    this.parts.push(b);
  }
  opt(b: Uint8Array | null) {
    this.u8(b ? 1 : 0);
    if (b) this.bytes(b);
  }
  done(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.parts));
  }
}

class Reader {
  private at = 0;
  constructor(private readonly b: Buffer) {}
  private take(n: number): Buffer {
    if (this.at + n > this.b.length) bad('truncated');
    const out = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  u8 = () => this.take(1)[0] as number;
  u32 = () => this.take(4).readUInt32BE();
  u64 = () => {
    const v = this.take(8).readBigUInt64BE();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) bad('number too large');
    return Number(v);
  };
  bytes = (n: number) => new Uint8Array(this.take(n));
  str = () => this.take(this.u8()).toString('ascii');
  opt = (n: number) => {
    const flag = this.u8();
    if (flag > 1) bad('bad presence flag');
    return flag === 1 ? this.bytes(n) : null;
  };
  end() {
    if (this.at !== this.b.length) bad('trailing bytes');
  }
}

const hexOf = (b: Uint8Array): Hex => `0x${Buffer.from(b).toString('hex')}`;
const addrBytes = (a: Address) => Buffer.from(a.slice(2), 'hex');
const hashBytes = (h: Hex) => Buffer.from(h.slice(2), 'hex');

/** The canonical bytes of an entry (docs/log-format.md). */
export function encodeEntry(e: LogEntry): Uint8Array {
  checkEntry(e);
  const w = new Writer();
  w.u8(ENTRY_FORMAT_VERSION);
  w.u64(e.index);
  w.u64(e.time);
  w.bytes(addrBytes(e.member));
  w.str(e.actor);
  w.opt(e.patient ? addrBytes(e.patient) : null);
  w.u8(LOG_ACTIONS.indexOf(e.action));
  w.u8(e.target ? 1 : 0);
  if (e.target) {
    w.str(e.target.resourceType);
    w.str(e.target.id);
    w.u32(e.target.version);
    w.opt(e.target.ciphertextHash ? hashBytes(e.target.ciphertextHash) : null);
  }
  w.u8(LOG_PURPOSES.indexOf(e.purpose));
  w.u8(e.outcome === 'permit' ? 1 : 2);
  w.str(e.reason);
  w.opt(e.queryHash ? hashBytes(e.queryHash) : null);
  return w.done();
}

/** Parse canonical entry bytes; throws InvalidInputError on anything else. */
export function decodeEntry(bytes: Uint8Array): LogEntry {
  const r = new Reader(Buffer.from(bytes));
  if (r.u8() !== ENTRY_FORMAT_VERSION) bad('unknown format version');
  const index = r.u64();
  const time = r.u64();
  const member = getAddress(hexOf(r.bytes(20)));
  const actor = r.str();
  const p = r.opt(20);
  const action = LOG_ACTIONS[r.u8()] ?? bad('unknown action');
  const hasTarget = r.u8();
  if (hasTarget > 1) bad('bad presence flag');
  let target: LogTarget | null = null;
  if (hasTarget === 1) {
    const resourceType = r.str();
    const id = r.str();
    const version = r.u32();
    const h = r.opt(32);
    target = { resourceType, id, version, ciphertextHash: h ? hexOf(h) : null };
  }
  const purpose = LOG_PURPOSES[r.u8()] ?? bad('unknown purpose');
  const o = r.u8();
  if (o !== 1 && o !== 2) bad('bad outcome');
  const reason = r.str();
  const q = r.opt(32);
  r.end();
  const e: LogEntry = {
    index,
    time,
    member,
    actor,
    patient: p ? getAddress(hexOf(p)) : null,
    action,
    target,
    purpose,
    outcome: o === 1 ? 'permit' : 'deny',
    reason,
    queryHash: q ? hexOf(q) : null,
  };
  checkEntry(e);
  // Canonical: re-encoding must give the same bytes.
  if (!Buffer.from(encodeEntry(e)).equals(Buffer.from(bytes))) bad('not canonical');
  return e;
}
