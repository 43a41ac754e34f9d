/**
 * Log entries and their canonical bytes (docs/log-format.md). The bytes are what the Merkle leaf
 * hashes, so encoding is strict and decoding rejects anything non-canonical. Entries hold no names:
 * actors are pseudonymous ids, patients are chain addresses, records are ids and ciphertext hashes.
 */
import type { Address, Hex } from 'viem';
import { InvalidInputError } from '../errors.js';
import { checksumAddress, isChecksummedAddress } from './_checksumAddress.js';

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
  // A patient discovery request (src/federation/discovery.ts): asked, answered, or refused.
  'discover',
  // A drug unit verification request (src/supply/verificationRequester.ts, verificationResponder.ts):
  // at the asking member and at the GTIN's responder; appended last so older entries decode alike.
  'supply-verify',
  // A lot recall by the manufacturer (src/supply/recall.ts).
  'supply-recall',
  // Dispensing a verified drug unit (src/supply/dispense.ts).
  'supply-dispense',
  // Custody through the API (src/supply/commission.ts, ship.ts, shipmentInbox.ts, receive.ts).
  'supply-commission',
  'supply-ship',
  'supply-receive',
  // A saleable return received and verified, or refused (src/supply/saleableReturn.ts).
  'supply-return',
  // Quarantine of suspect drug units (src/supply/investigation.ts).
  'supply-quarantine',
  // The end of an investigation: cleared or illegitimate (src/supply/investigation.ts).
  'supply-investigation',
  // An illegitimate-product notice sent, received or acknowledged (src/supply/notices.ts).
  'supply-notice',
  // Cases packed on a pallet, or unpacked (src/supply/pallet.ts).
  'supply-pack',
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

/** Flags of the ASCII characters in `chars`, by character code. */
function charSet(chars: string): Uint8Array {
  const t = new Uint8Array(128);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
}
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
// The character classes of the free-form fields, checked on every append by a loop over a table
// (a regular expression test cost more): /^[A-Za-z0-9:._@-]{0,64}$/, /^[a-z0-9-]{1,64}$/,
// /^[A-Za-z0-9\-.]{0,64}$/ and /^[A-Za-z]{0,64}$/.
const TOKEN = charSet(`${UPPER}${LOWER}${DIGITS}:._@-`);
const REASON = charSet(`${LOWER}${DIGITS}-`);
const ID = charSet(`${UPPER}${LOWER}${DIGITS}-.`);
const TYPE = charSet(`${UPPER}${LOWER}`);

/** Whether `s` is a string of `min` to 64 characters, each in `chars`. */
function madeOf(s: unknown, chars: Uint8Array, min: number): boolean {
  if (typeof s !== 'string' || s.length < min || s.length > 64) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || chars[c] === 0) return false;
  }
  return true;
}

function bad(msg: string): never {
  throw new InvalidInputError(`log entry: ${msg}`);
}

/** Whether `h` is 0x and 64 lowercase hex digits (/^0x[0-9a-f]{64}$/, a loop: checked on every append). */
function isHashHex(h: string): boolean {
  if (h.length !== 66 || h.charCodeAt(0) !== 48 || h.charCodeAt(1) !== 120) return false;
  for (let i = 2; i < 66; i++) {
    const c = h.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

function checkHash(h: Hex | null, what: string): void {
  if (h !== null && (typeof h !== 'string' || !isHashHex(h)))
    bad(`${what} must be 32 bytes of lowercase hex`);
}

/** Check every field; throws InvalidInputError naming the first bad one. */
export function checkEntry(e: LogEntry): void {
  if (!Number.isSafeInteger(e.index) || e.index < 0) bad('index must be a non-negative integer');
  if (!Number.isSafeInteger(e.time) || e.time < 0) bad('time must be milliseconds since the epoch');
  if (!isChecksummedAddress(e.member)) bad('member must be an address');
  if (!madeOf(e.actor, TOKEN, 1)) bad('actor must be a pseudonymous id (1-64 of A-Za-z0-9:._@-)');
  if (e.patient !== null && !isChecksummedAddress(e.patient)) bad('patient must be an address or null');
  if (!LOG_ACTIONS.includes(e.action)) bad(`unknown action ${String(e.action)}`);
  if (e.target) {
    if (!madeOf(e.target.resourceType, TYPE, 0)) bad('target.resourceType must be letters');
    if (!madeOf(e.target.id, ID, 0)) bad('target.id must be a FHIR id');
    if (!Number.isInteger(e.target.version) || e.target.version < 0 || e.target.version > 0xffffffff)
      bad('target.version out of range');
    checkHash(e.target.ciphertextHash, 'target.ciphertextHash');
  }
  if (!LOG_PURPOSES.includes(e.purpose)) bad(`unknown purpose ${String(e.purpose)}`);
  if (e.outcome !== 'permit' && e.outcome !== 'deny') bad('outcome must be permit or deny');
  if (!madeOf(e.reason, REASON, 1)) bad('reason must be a code (a-z, 0-9, -)');
  checkHash(e.queryHash, 'queryHash');
}

// Entries are encoded and decoded for every append and by the verifier for every entry of the
// log, so both work on one buffer at a time: the writer sizes the entry first, the reader reads
// fields in place (hex straight from the source bytes).

/** Bytes of a `str` field (1-byte length + ASCII). */
const strLen = (s: string) => 1 + s.length;

/**
 * The byte two hex digits make, by (first character code << 7 | second character code), either
 * case; -1 for any other pair: one lookup a byte.
 */
const HEX_PAIR = new Int16Array(1 << 14).fill(-1);
{
  const digits: [number, number][] = [];
  for (let i = 0; i < 16; i++) {
    digits.push([i.toString(16).charCodeAt(0), i]);
    if (i >= 10) digits.push([i.toString(16).toUpperCase().charCodeAt(0), i]);
  }
  for (const [a, hi] of digits) for (const [b, lo] of digits) HEX_PAIR[(a << 7) | b] = (hi << 4) | lo;
}

class Writer {
  private at = 0;
  constructor(private readonly b: Buffer) {}
  u8(n: number) {
    this.b[this.at++] = n;
  }
  u32(n: number) {
    this.b.writeUInt32BE(n, this.at);
    this.at += 4;
  }
  u64(n: number) {
    // Safe integers (< 2^53) split exactly into two 32-bit halves.
    this.b.writeUInt32BE(Math.floor(n / 0x1_0000_0000), this.at);
    this.b.writeUInt32BE(n % 0x1_0000_0000, this.at + 4);
    this.at += 8;
  }
  // Fields are checked (checkEntry) before they are written, so hex is hex and strings are ASCII;
  // written byte by byte here, which for fields this short costs less than a call into Buffer.write.
  hex(h: string) {
    const b = this.b;
    let at = this.at;
    for (let i = 2; i < h.length; i += 2)
      b[at++] = HEX_PAIR[(h.charCodeAt(i) << 7) | h.charCodeAt(i + 1)] as number;
    this.at = at;
  }
  str(s: string) {
    this.u8(s.length);
    const b = this.b;
    const at = this.at;
    for (let i = 0; i < s.length; i++) b[at + i] = s.charCodeAt(i);
    this.at = at + s.length;
  }
  optHex(h: string | null) {
    this.u8(h ? 1 : 0);
    if (h) this.hex(h);
  }
  done(): Uint8Array {
    if (this.at !== this.b.length) throw new Error('internal: entry size miscounted');
    return new Uint8Array(this.b.buffer, this.b.byteOffset, this.b.byteLength);
  }
}

class Reader {
  private at = 0;
  constructor(private readonly b: Buffer) {}
  private take(n: number): number {
    if (this.at + n > this.b.length) bad('truncated');
    const start = this.at;
    this.at += n;
    return start;
  }
  u8(): number {
    return this.b[this.take(1)] as number;
  }
  u32(): number {
    return this.b.readUInt32BE(this.take(4));
  }
  u64(): number {
    const at = this.take(8);
    const hi = this.b.readUInt32BE(at);
    if (hi > 0x1fffff) bad('number too large');
    return hi * 0x1_0000_0000 + this.b.readUInt32BE(at + 4);
  }
  hex(n: number): Hex {
    const at = this.take(n);
    return `0x${this.b.toString('hex', at, at + n)}`;
  }
  str(): string {
    const n = this.u8();
    const at = this.take(n);
    return this.b.toString('ascii', at, at + n);
  }
  optHex(n: number): Hex | null {
    const flag = this.u8();
    if (flag > 1) bad('bad presence flag');
    return flag === 1 ? this.hex(n) : null;
  }
  end() {
    if (this.at !== this.b.length) bad('trailing bytes');
  }
}

/** The canonical bytes of an entry (docs/log-format.md). */
export function encodeEntry(e: LogEntry): Uint8Array {
  checkEntry(e);
  return writeEntry(e);
}

/**
 * Check an entry and write its canonical bytes into the buffer `take(size)` gives (exactly `size`
 * bytes): for the log's group commit, which lays a batch's entries out in one buffer of its own and
 * hands them to SQLite together, instead of a buffer per entry.
 */
export function encodeEntryInto(e: LogEntry, take: (size: number) => Buffer): Uint8Array {
  checkEntry(e);
  return writeEntry(e, take);
}

/** The bytes of an entry already checked, in a buffer of their own or the one `take` gives. */
function writeEntry(e: LogEntry, take: (size: number) => Buffer = Buffer.allocUnsafeSlow): Uint8Array {
  const t = e.target;
  const size =
    1 +
    8 +
    8 +
    20 +
    strLen(e.actor) +
    (e.patient ? 21 : 1) +
    1 +
    1 +
    (t ? strLen(t.resourceType) + strLen(t.id) + 4 + (t.ciphertextHash ? 33 : 1) : 0) +
    1 +
    1 +
    strLen(e.reason) +
    (e.queryHash ? 33 : 1);
  // By default not from the shared pool: the bytes are kept (and hashed) on their own.
  const w = new Writer(take(size));
  w.u8(ENTRY_FORMAT_VERSION);
  w.u64(e.index);
  w.u64(e.time);
  w.hex(e.member);
  w.str(e.actor);
  w.optHex(e.patient);
  w.u8(LOG_ACTIONS.indexOf(e.action));
  w.u8(t ? 1 : 0);
  if (t) {
    w.str(t.resourceType);
    w.str(t.id);
    w.u32(t.version);
    w.optHex(t.ciphertextHash);
  }
  w.u8(LOG_PURPOSES.indexOf(e.purpose));
  w.u8(e.outcome === 'permit' ? 1 : 2);
  w.str(e.reason);
  w.optHex(e.queryHash);
  return w.done();
}

export interface DecodeOptions {
  /**
   * Give addresses in lowercase instead of EIP-55 form. The checks are the same (the bytes of an
   * address have one encoding either way); it saves a keccak per address, for the verifier, which
   * decodes every entry of the log and shows no address.
   */
  lowercaseAddresses?: boolean;
}

/** Parse canonical entry bytes; throws InvalidInputError on anything else. */
export function decodeEntry(bytes: Uint8Array, opts: DecodeOptions = {}): LogEntry {
  const address = opts.lowercaseAddresses ? (a: Hex) => a as Address : checksumAddress;
  const source = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const r = new Reader(source);
  if (r.u8() !== ENTRY_FORMAT_VERSION) bad('unknown format version');
  const index = r.u64();
  const time = r.u64();
  const member = address(r.hex(20));
  const actor = r.str();
  const p = r.optHex(20);
  const action = LOG_ACTIONS[r.u8()] ?? bad('unknown action');
  const hasTarget = r.u8();
  if (hasTarget > 1) bad('bad presence flag');
  let target: LogTarget | null = null;
  if (hasTarget === 1) {
    const resourceType = r.str();
    const id = r.str();
    const version = r.u32();
    const ciphertextHash = r.optHex(32);
    target = { resourceType, id, version, ciphertextHash };
  }
  const purpose = LOG_PURPOSES[r.u8()] ?? bad('unknown purpose');
  const o = r.u8();
  if (o !== 1 && o !== 2) bad('bad outcome');
  const reason = r.str();
  const queryHash = r.optHex(32);
  r.end();
  const e: LogEntry = {
    index,
    time,
    member,
    actor,
    patient: p ? address(p) : null,
    action,
    target,
    purpose,
    outcome: o === 1 ? 'permit' : 'deny',
    reason,
    queryHash,
  };
  checkEntry(e);
  // Canonical: re-encoding must give the same bytes.
  const again = writeEntry(e);
  if (!Buffer.from(again.buffer, again.byteOffset, again.byteLength).equals(source)) bad('not canonical');
  return e;
}
