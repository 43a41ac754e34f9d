/**
 * GS1 product identifiers of a saleable pharmaceutical unit (GTIN, serial, lot, expiry) read from
 * and written to the two forms a pharmacy scans: GS1 element strings (GS1 General Specifications
 * §3 and §7.8, the content of a GS1 DataMatrix) and GS1 Digital Link URIs (GS1 Digital Link URI
 * Syntax 1.2). Strict on purpose: a variable-length lot or serial that is not ended by its <GS>
 * separator, a wrong check digit or an unknown AI is an error, never a guess.
 *
 * Hand-written rather than on a library: the npm parsers looked at (gs1-barcode-parser-mod 1.2.1,
 * bark-js 1.2.1, digital-link.js 1.4.3) check no check digit, accept characters outside GS1's
 * character set 82, and either take a 25-character lot or a 12-digit GTIN without complaint, or
 * leave Digital Link values percent-encoded. See docs/supply-chain.md.
 */
import { parseGtin, parseSscc } from './gs1CheckDigit.js';
import { Gs1SyntaxError } from './supplyErrors.js';

/** The ASCII group separator that stands for FNC1 between fields of an element string. */
export const GS = '\u001d';

/** What identifies one unit: GTIN-14 and, when known, serial, lot and expiry (YYMMDD). */
export interface ProductIdentifier {
  gtin: string;
  serial?: string;
  lot?: string;
  /** GS1 date YYMMDD (DD = 00: the last day of the month, §7.12). */
  expiry?: string;
}

/** A pack's full product identifier (DSCSA: product identifier = GTIN, serial, lot and expiry). */
export type PackIdentifier = Required<ProductIdentifier>;

/** One element (AI and value) of an element string, in the order read. */
export interface Gs1Element {
  ai: string;
  value: string;
}

interface AiSpec {
  name: string;
  /** Fixed length, or undefined for variable length up to `max`. */
  fixed?: number;
  max: number;
  kind: 'N' | 'X';
  /** In the predefined-length table (§7.8.5, Figure 7.8.5-2): no <GS> needed after it. */
  predefined: boolean;
  check?: 'GTIN' | 'SSCC';
  date?: boolean;
}

/**
 * The AIs a medicine pack carries (§3.2, Figure 3.2-1), plus the national healthcare reimbursement
 * numbers 710-715. Any other AI is refused by name: without its definition its length is a guess.
 */
const AIS: Readonly<Record<string, AiSpec>> = {
  '00': { name: 'SSCC', fixed: 18, max: 18, kind: 'N', predefined: true, check: 'SSCC' },
  '01': { name: 'GTIN', fixed: 14, max: 14, kind: 'N', predefined: true, check: 'GTIN' },
  '10': { name: 'BATCH/LOT', max: 20, kind: 'X', predefined: false },
  '11': { name: 'PROD DATE', fixed: 6, max: 6, kind: 'N', predefined: true, date: true },
  '17': { name: 'USE BY OR EXPIRY', fixed: 6, max: 6, kind: 'N', predefined: true, date: true },
  '21': { name: 'SERIAL', max: 20, kind: 'X', predefined: false },
  '30': { name: 'VAR. COUNT', max: 8, kind: 'N', predefined: false },
  '710': { name: 'NHRN PZN', max: 20, kind: 'X', predefined: false },
  '711': { name: 'NHRN CIP', max: 20, kind: 'X', predefined: false },
  '712': { name: 'NHRN CN', max: 20, kind: 'X', predefined: false },
  '713': { name: 'NHRN DRN', max: 20, kind: 'X', predefined: false },
  '714': { name: 'NHRN AIM', max: 20, kind: 'X', predefined: false },
  '715': { name: 'NHRN NDC', max: 20, kind: 'X', predefined: false },
};

/** GS1 AI encodable character set 82 (§7.11, Figure 7.11-1). */
const CSET82 = /^[!"%&'()*+,\-./0-9:;<=>?A-Z_a-z]+$/;
/** Symbology identifiers of the GS1 carriers (§5.1.2): GS1-128, DataBar, DataMatrix, QR, DotCode. */
const SYMBOLOGY_ID = /^\](C1|e0|d2|Q3|J1)/;

const show = (s: string) => JSON.stringify(s.replaceAll(GS, '<GS>'));

function checkValue(ai: string, spec: AiSpec, value: string): string {
  const label = `${spec.name} (${ai})`;
  if (value.length === 0) throw new Gs1SyntaxError(`${label} is empty`);
  if (value.length > spec.max) {
    throw new Gs1SyntaxError(
      `${label} ${show(value)} is ${value.length} characters, at most ${spec.max}: the <GS> separator that ends it is missing`,
    );
  }
  if (spec.kind === 'N' && !/^\d+$/.test(value))
    throw new Gs1SyntaxError(`${label} has digits only: ${show(value)}`);
  if (spec.kind === 'X' && !CSET82.test(value)) {
    throw new Gs1SyntaxError(`${label} ${show(value)} has a character outside GS1 character set 82`);
  }
  if (spec.check === 'GTIN') parseGtin(value);
  if (spec.check === 'SSCC') parseSscc(value);
  if (spec.date) checkGs1Date(value, label);
  return value;
}

/** Checks a GS1 date YYMMDD (§7.12): month 01-12, day 01 to the month's last, or 00. */
function checkGs1Date(value: string, label: string): void {
  if (!/^\d{6}$/.test(value)) throw new Gs1SyntaxError(`${label} is a date YYMMDD, not ${show(value)}`);
  const mm = Number(value.slice(2, 4));
  const dd = Number(value.slice(4, 6));
  // The longest a month can be; the year is only known relative to "now" (see gs1DateEnd).
  const longest = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mm - 1];
  if (longest === undefined || dd > longest)
    throw new Gs1SyntaxError(`${label} ${show(value)} is not a date`);
}

/**
 * The end (exclusive, ms since the epoch, UTC) of the day a GS1 date YYMMDD names, its century
 * chosen by the §7.12 sliding window around `now`; DD = 00 is the month's last day.
 */
export function gs1DateEnd(yymmdd: string, now: Date): number {
  checkGs1Date(yymmdd, 'date');
  const yy = Number(yymmdd.slice(0, 2));
  const current = now.getUTCFullYear();
  const diff = yy - (current % 100);
  let century = Math.floor(current / 100);
  if (diff >= 51) century -= 1;
  else if (diff <= -50) century += 1;
  const year = century * 100 + yy;
  const month = Number(yymmdd.slice(2, 4)) - 1;
  const day = Number(yymmdd.slice(4, 6));
  // Day 00 means the whole month: its end is the first instant of the next month.
  if (day === 0) return Date.UTC(year, month + 1, 1);
  const end = Date.UTC(year, month, day + 1);
  if (new Date(end - 1).getUTCMonth() !== month)
    throw new Gs1SyntaxError(`${yymmdd} is not a date in ${year}`);
  return end;
}

function readAi(s: string, at: number): [string, AiSpec] {
  for (const len of [2, 3, 4]) {
    const ai = s.slice(at, at + len);
    const spec = AIS[ai];
    if (spec) return [ai, spec];
  }
  throw new Gs1SyntaxError(
    `unknown or unsupported AI at position ${at} in ${show(s)} (supported: ${Object.keys(AIS).join(', ')})`,
  );
}

/**
 * Split a GS1 element string (optionally with its symbology identifier, e.g. `]d2`, and with
 * <GS> (ASCII 29) for FNC1) into its elements, checking each value, length and check digit.
 */
export function parseElements(input: string): Gs1Element[] {
  let s = input;
  if (s.startsWith(']')) {
    if (!SYMBOLOGY_ID.test(s))
      throw new Gs1SyntaxError(`${show(s.slice(0, 3))} is not a GS1 symbology identifier`);
    s = s.slice(3);
  }
  if (s.startsWith(GS)) s = s.slice(1);
  if (s.length === 0) throw new Gs1SyntaxError('the element string is empty');
  const out: Gs1Element[] = [];
  const seen = new Map<string, string>();
  let at = 0;
  while (at < s.length) {
    const [ai, spec] = readAi(s, at);
    at += ai.length;
    let value: string;
    if (spec.fixed !== undefined) {
      value = s.slice(at, at + spec.fixed);
      if (value.length < spec.fixed) {
        throw new Gs1SyntaxError(
          `${spec.name} (${ai}) has ${spec.fixed} digits; the string ends after ${show(value)}`,
        );
      }
      at += spec.fixed;
      if (!spec.predefined && at < s.length && s[at] !== GS) {
        throw new Gs1SyntaxError(`${spec.name} (${ai}) must be followed by <GS> or end the string`);
      }
    } else {
      const end = s.indexOf(GS, at);
      value = s.slice(at, end === -1 ? s.length : end);
      at += value.length;
    }
    checkValue(ai, spec, value);
    if (s[at] === GS) {
      at += 1;
      if (at === s.length) throw new Gs1SyntaxError('the element string ends with a <GS>');
    }
    const before = seen.get(ai);
    if (before !== undefined && before !== value) {
      throw new Gs1SyntaxError(`${spec.name} (${ai}) appears twice with different values`);
    }
    if (before === undefined) out.push({ ai, value });
    seen.set(ai, value);
  }
  return out;
}

const PACK_AIS = [
  ['01', 'gtin'],
  ['21', 'serial'],
  ['10', 'lot'],
  ['17', 'expiry'],
] as const;

/**
 * A pack's full identifier from its element string: GTIN (01), serial (21), lot (10) and expiry
 * (17) must all be there. When one is missing but its AI digits sit inside a variable-length value
 * (`10ABC12321SER42`), the <GS> after that value is missing, and it is reported as such.
 */
export function parseElementString(input: string): PackIdentifier {
  const elements = parseElements(input);
  const byAi = new Map(elements.map((e) => [e.ai, e.value]));
  const missing = PACK_AIS.filter(([ai]) => !byAi.has(ai));
  if (missing.length > 0) {
    for (const [ai] of missing) {
      for (const e of elements) {
        const spec = AIS[e.ai] as AiSpec;
        if (spec.fixed === undefined && e.value.slice(1).includes(ai)) {
          throw new Gs1SyntaxError(
            `${spec.name} (${e.ai}) ${show(e.value)} seems to run into (${ai}): the <GS> separator after it is missing`,
          );
        }
      }
    }
    throw new Gs1SyntaxError(
      `a pack's element string needs (01) GTIN, (21) serial, (10) lot and (17) expiry; missing ${missing.map(([ai]) => `(${ai})`).join(', ')}`,
    );
  }
  return {
    gtin: byAi.get('01') as string,
    serial: byAi.get('21') as string,
    lot: byAi.get('10') as string,
    expiry: byAi.get('17') as string,
  };
}

/**
 * The element string of a pack: fixed-length fields first (01, 17), then the lot with its <GS>,
 * the serial last (§7.8.6: no separator after the last field). `symbologyId` prefixes `]d2`.
 */
export function writeElementString(p: PackIdentifier, opts: { symbologyId?: boolean } = {}): string {
  const gtin = checkValue('01', AIS['01'] as AiSpec, p.gtin);
  const expiry = checkValue('17', AIS['17'] as AiSpec, p.expiry);
  const lot = checkValue('10', AIS['10'] as AiSpec, p.lot);
  const serial = checkValue('21', AIS['21'] as AiSpec, p.serial);
  return `${opts.symbologyId ? ']d2' : ''}01${gtin}17${expiry}10${lot}${GS}21${serial}`;
}

/** Qualifiers of AI 01 in a Digital Link path, in the order the URI syntax requires (§4.4). */
const QUALIFIERS = ['22', '10', '21'] as const;
const QUALIFIER_FIELD = { '10': 'lot', '21': 'serial' } as const;

function decodeSegment(segment: string, label: string): string {
  try {
    return decodeURIComponent(segment);
  } catch (cause) {
    throw new Gs1SyntaxError(`${label} ${show(segment)} is not valid percent-encoding`, { cause });
  }
}

/**
 * A unit's identifier from a GS1 Digital Link URI (any domain, an optional path prefix before
 * `/01/`, or a bare path such as `/01/{gtin}/10/{lot}/21/{serial}?exp=YYMMDD`); expiry from the
 * `17` query attribute or its short name `exp`. Values are percent-decoded and checked like AIs.
 */
export function parseDigitalLink(uri: string): ProductIdentifier {
  // Not WHATWG URL: it would resolve a lot or serial "." or "%2E" as a dot segment and drop it.
  const m = /^(?:([A-Za-z][A-Za-z0-9+.-]*):\/\/[^/?#]*)?(\/[^?#]*)(?:\?([^#]*))?(?:#.*)?$/.exec(uri);
  if (!m) throw new Gs1SyntaxError(`${show(uri)} is not a GS1 Digital Link URI or path`);
  const [, scheme, pathname = '', search = ''] = m;
  if (scheme !== undefined && !/^https?$/i.test(scheme)) {
    throw new Gs1SyntaxError(`a GS1 Digital Link is an http(s) URI, not ${scheme}:`);
  }
  const segments = pathname.split('/').slice(1);
  const start = segments.indexOf('01');
  if (start === -1) throw new Gs1SyntaxError(`${show(uri)} has no /01/{gtin} in its path`);
  const rest = segments.slice(start);
  if (rest.length % 2 !== 0) throw new Gs1SyntaxError(`${show(pathname)} has an AI without a value`);
  const gtinValue = decodeSegment(rest[1] as string, 'GTIN (01)');
  const id: ProductIdentifier = { gtin: parseGtin(gtinValue) };
  let order = -1;
  for (let i = 2; i < rest.length; i += 2) {
    const ai = rest[i] as string;
    const index = (QUALIFIERS as readonly string[]).indexOf(ai);
    if (index === -1)
      throw new Gs1SyntaxError(`(${ai}) is not a key qualifier of a GTIN in a Digital Link path`);
    if (index <= order)
      throw new Gs1SyntaxError(`key qualifiers must come in the order 22, 10, 21; (${ai}) is out of place`);
    order = index;
    if (ai === '22') throw new Gs1SyntaxError('consumer product variant (22) is not supported');
    const spec = AIS[ai] as AiSpec;
    const value = checkValue(ai, spec, decodeSegment(rest[i + 1] as string, `${spec.name} (${ai})`));
    id[QUALIFIER_FIELD[ai as '10' | '21']] = value;
  }
  const query = new URLSearchParams(search);
  const exp17 = query.getAll('17');
  const expShort = query.getAll('exp');
  const expiries = new Set([...exp17, ...expShort]);
  if (expiries.size > 1) throw new Gs1SyntaxError('the Digital Link gives two different expiry dates');
  const [expiry] = expiries;
  if (expiry !== undefined) id.expiry = checkValue('17', AIS['17'] as AiSpec, expiry);
  return id;
}

/** Percent-encode all but RFC 3986 unreserved characters, as GS1 Digital Link §4.9 allows. */
function encodeSegment(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * The GS1 Digital Link URI of a unit: `{domain}/01/{gtin}[/10/{lot}][/21/{serial}][?17=YYMMDD]`,
 * on the canonical resolver `https://id.gs1.org` unless another domain is given.
 */
export function writeDigitalLink(p: ProductIdentifier, opts: { domain?: string } = {}): string {
  const domain = (opts.domain ?? 'https://id.gs1.org').replace(/\/+$/, '');
  let path = `/01/${parseGtin(p.gtin)}`;
  if (p.lot !== undefined) path += `/10/${encodeSegment(checkValue('10', AIS['10'] as AiSpec, p.lot))}`;
  if (p.serial !== undefined) path += `/21/${encodeSegment(checkValue('21', AIS['21'] as AiSpec, p.serial))}`;
  const query = p.expiry === undefined ? '' : `?17=${checkValue('17', AIS['17'] as AiSpec, p.expiry)}`;
  return `${domain}${path}${query}`;
}

/**
 * The pack identifier in a request body whose `gtin`, `serial`, `lot` and `expiry` the caller has
 * checked are strings, held to GS1 rules (check digit, lengths, character set, date; a Gs1SyntaxError if not).
 */
export function packIdentifierOf(b: Record<string, unknown>): PackIdentifier {
  const id = {
    gtin: b.gtin as string,
    serial: b.serial as string,
    lot: b.lot as string,
    expiry: b.expiry as string,
  };
  writeDigitalLink(id);
  return id;
}

/** Either form a scanner may deliver: a Digital Link (starts with http or /) or an element string. */
export function parseScan(input: string): ProductIdentifier {
  const s = input.trim();
  return /^(https?:\/\/|\/)/i.test(s) ? parseDigitalLink(s) : parseElementString(s);
}
