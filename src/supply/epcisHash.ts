/**
 * The EPCIS Event Hash ID (GS1 CBV 2.0 §8.9; reference implementation
 * github.com/RalphTro/epcis-event-hash-generator): a pre-hash string of the event's fields in the
 * canonical property order, values normalised (UTC millisecond times, CBV web URIs, constrained
 * canonical GS1 Digital Links, no trailing zeros), lists sorted; then
 * `ni:///sha-256;{hex}?ver=CBV2.0` (RFC 6920). Two serialisations of one event hash alike.
 *
 * Where the written rules and the reference implementation differ, this follows the reference,
 * whose published hashes are what other parties compare with: parentID comes before epcList;
 * bizTransactionList, sourceList, destinationList, ilmd and extensions are sorted together after
 * bizLocation; in a source or destination the type comes first; and every numeric-looking value
 * loses leading and trailing zeros (so an ILMD lot "0329" pre-hashes as 329).
 * Not supported (refused, not silently hashed wrong): sensorElementList, persistentDisposition,
 * certificationInfo, extensions inside readPoint/bizLocation.
 */
import { createHash } from 'node:crypto';
import { canonicalGs1Uri } from './_gs1Uri.js';
import { EpcisEventError } from './supplyErrors.js';

/** JSON value of an event field as EPCIS 2.0 JSON-LD carries it. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };
/** Any EPCIS 2.0 event in JSON-LD form (the builders in epcisEvents.ts make these). */
export type EpcisEventJson = { type: string; [k: string]: JsonValue };

/** Prefixes of the EPCIS 2.0 JSON-LD context (ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld). */
export const EPCIS_CONTEXT_PREFIXES: Readonly<Record<string, string>> = {
  epcis: 'https://ref.gs1.org/epcis/',
  cbv: 'https://ref.gs1.org/cbv/',
  cbvmda: 'urn:epcglobal:cbv:mda:',
  gs1: 'https://gs1.org/voc/',
  rdfs: 'http://www.w3.org/2000/01/rdf-schema#',
  owl: 'http://www.w3.org/2002/07/owl#',
  xsd: 'http://www.w3.org/2001/XMLSchema#',
  dcterms: 'http://purl.org/dc/terms/',
};

const EPC_LISTS = ['epcList', 'inputEPCList', 'childEPCs'] as const;
const QUANTITY_LISTS = ['quantityList', 'childQuantityList', 'inputQuantityList'] as const;
/** Not part of the event's content (CBV 2.0 §8.9), or JSON-LD bookkeeping. */
const IGNORED = new Set([
  'type',
  'eventID',
  'recordTime',
  'errorDeclaration',
  '@context',
  'comment',
  'rdfs:comment',
]);
const UNSUPPORTED = ['sensorElementList', 'persistentDisposition', 'certificationInfo'];
/** Bare CBV words by field (CBV 2.0 §7): `shipping` is https://ref.gs1.org/cbv/BizStep-shipping. */
const CBV_TERM = {
  bizStep: 'BizStep',
  disposition: 'Disp',
  bizTransaction: 'BTT',
  source: 'SDT',
  destination: 'SDT',
};
const CBV_URN: readonly [string, string][] = [
  ['urn:epcglobal:cbv:bizstep:', 'BizStep-'],
  ['urn:epcglobal:cbv:disp:', 'Disp-'],
  ['urn:epcglobal:cbv:btt:', 'BTT-'],
  ['urn:epcglobal:cbv:sdt:', 'SDT-'],
  ['urn:epcglobal:cbv:er:', 'ER-'],
];

/** Time with millisecond precision in UTC; a 4th decimal of 5-9 rounds the 3rd up (rule 9). */
export function canonicalTime(value: string): string {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(value.trim());
  if (!m) throw new EpcisEventError(`${JSON.stringify(value)} is not an xsd:dateTimeStamp`);
  const [, base, frac = '', zone] = m;
  const seconds = Date.parse(`${base}${zone}`);
  if (Number.isNaN(seconds)) throw new EpcisEventError(`${JSON.stringify(value)} is not a valid time`);
  const ms = Number(frac.padEnd(3, '0').slice(0, 3)) + (Number(frac[3] ?? '0') >= 5 ? 1 : 0);
  return new Date(seconds + ms).toISOString();
}

/** Numbers without leading "+", leading or trailing zeros, as the reference prints them. */
function canonicalNumber(text: string): string | undefined {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? String(n) : undefined;
}

function canonicalValue(raw: string, field?: keyof typeof CBV_TERM): string {
  let text = raw.trim();
  if (field && /^[A-Za-z_]+$/.test(text)) return `https://ref.gs1.org/cbv/${CBV_TERM[field]}-${text}`;
  for (const [urn, term] of CBV_URN) {
    if (text.startsWith(urn)) text = `https://ref.gs1.org/cbv/${term}${text.slice(urn.length)}`;
  }
  text = canonicalNumber(text) ?? text;
  return canonicalGs1Uri(text) ?? text;
}

const scalar = (v: JsonValue, where: string): string => {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new EpcisEventError(`${where} must be a string or a number`);
};

const list = (v: JsonValue | undefined, where: string): JsonValue[] => {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new EpcisEventError(`${where} must be a list`);
  return v;
};

const object = (v: JsonValue, where: string): Record<string, JsonValue> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new EpcisEventError(`${where} must be an object`);
  return v;
};

function keyWithNamespace(key: string, ns: Readonly<Record<string, string>>): string {
  const colon = key.indexOf(':');
  const prefix = colon === -1 ? undefined : ns[key.slice(0, colon)];
  if (prefix === undefined) throw new EpcisEventError(`${key} has no namespace prefix from the @context`);
  return `{${prefix}}${key.slice(colon + 1)}`;
}

/** ILMD and user extensions: `{namespace}local=value`, nested, list items repeated, all sorted. */
function extensionParts(key: string, value: JsonValue, ns: Readonly<Record<string, string>>): string[] {
  const name = keyWithNamespace(key, ns);
  if (Array.isArray(value)) return value.flatMap((item) => extensionParts(key, item, ns));
  if (typeof value === 'object' && value !== null) {
    const inner = Object.entries(value).flatMap(([k, v]) => extensionParts(k, v, ns));
    return [`${name}${inner.sort().join('')}`];
  }
  const text = value === null ? '' : canonicalValue(scalar(value, key));
  return [text === '' ? name : `${name}=${text}`];
}

function typedList(
  event: EpcisEventJson,
  listName: string,
  field: 'bizTransaction' | 'source' | 'destination',
) {
  const items = list(event[listName], listName).map((item, i) => {
    const o = object(item, `${listName}[${i}]`);
    const id = o[field];
    if (id === undefined) throw new EpcisEventError(`${listName}[${i}] has no ${field}`);
    const type = o.type === undefined ? '' : `type=${canonicalValue(scalar(o.type, 'type'), field)}`;
    return `${type}${field}=${canonicalValue(scalar(id, field))}`;
  });
  return items.length === 0 ? '' : `${listName}${items.sort().join('')}`;
}

/**
 * The pre-hash string of one event (CBV 2.0 §8.9). `context` adds the namespace prefixes of the
 * event's EPCIS document (`{"example": "https://ns.example.com/epcis/"}`) to the standard ones.
 */
export function epcisPreHash(event: EpcisEventJson, context: Readonly<Record<string, string>> = {}): string {
  const ns = { ...EPCIS_CONTEXT_PREFIXES, ...context };
  for (const field of UNSUPPORTED) {
    if (field in event) throw new EpcisEventError(`${field} is not supported by this event hash`);
  }
  const used = new Set<string>(IGNORED);
  const take = (k: string) => {
    used.add(k);
    return event[k];
  };
  let out = `eventType=${event.type}`;
  const simple = (k: string, time = false) => {
    const v = take(k);
    if (v === undefined || v === null) return;
    const field = k in CBV_TERM ? (k as keyof typeof CBV_TERM) : undefined;
    const text = time ? canonicalTime(scalar(v, k)) : canonicalValue(scalar(v, k), field);
    if (text !== '') out += `${k}=${text}`;
  };
  const epcs = (k: string) => {
    const items = list(take(k), k).map((e) => `epc=${canonicalValue(scalar(e, k))}`);
    if (items.length > 0) out += `${k}${items.sort().join('')}`;
  };
  const quantities = (k: string) => {
    const items = list(take(k), k).map((q, i) => {
      const o = object(q, `${k}[${i}]`);
      let s = 'quantityElement';
      for (const f of ['epcClass', 'quantity', 'uom']) {
        if (o[f] !== undefined) s += `${f}=${canonicalValue(scalar(o[f] as JsonValue, f))}`;
      }
      return s;
    });
    if (items.length > 0) out += `${k}${items.sort().join('')}`;
  };
  const place = (k: string) => {
    const v = take(k);
    if (v === undefined) return;
    const o = object(v, k);
    if (Object.keys(o).some((f) => f !== 'id'))
      throw new EpcisEventError(`extensions inside ${k} are not supported`);
    if (o.id !== undefined) out += `${k}id=${canonicalValue(scalar(o.id, `${k}.id`))}`;
  };
  simple('eventTime', true);
  simple('eventTimeZoneOffset');
  simple('parentID');
  for (const k of EPC_LISTS) epcs(k);
  for (const k of QUANTITY_LISTS) quantities(k);
  epcs('outputEPCList');
  quantities('outputQuantityList');
  simple('action');
  simple('transformationID');
  simple('bizStep');
  simple('disposition');
  place('readPoint');
  place('bizLocation');
  const rest: string[] = [];
  for (const [k, field] of [
    ['bizTransactionList', 'bizTransaction'],
    ['sourceList', 'source'],
    ['destinationList', 'destination'],
  ] as const) {
    take(k);
    const s = typedList(event, k, field);
    if (s) rest.push(s);
  }
  const ilmd = take('ilmd');
  if (ilmd !== undefined) {
    const parts = Object.entries(object(ilmd, 'ilmd')).flatMap(([k, v]) => extensionParts(k, v, ns));
    if (parts.length > 0) rest.push(`ilmd${parts.sort().join('')}`);
  }
  for (const [k, v] of Object.entries(event)) {
    if (!used.has(k)) rest.push(...extensionParts(k, v, ns));
  }
  return out + rest.sort().join('');
}

/** The EPCIS Event Hash ID `ni:///sha-256;{hex}?ver=CBV2.0` of one event. */
export function epcisEventHash(
  event: EpcisEventJson,
  context: Readonly<Record<string, string>> = {},
): string {
  const hex = createHash('sha256').update(epcisPreHash(event, context), 'utf8').digest('hex');
  return `ni:///sha-256;${hex}?ver=CBV2.0`;
}

/** The 32-byte digest inside an event hash ID (what a Merkle leaf or a chain commitment takes). */
export function eventHashDigest(hashId: string): `0x${string}` {
  const m = /^ni:\/\/\/sha-256;([0-9a-f]{64})\?ver=CBV2\.0$/.exec(hashId);
  if (!m) throw new EpcisEventError(`${hashId} is not an EPCIS event hash ID with sha-256`);
  return `0x${m[1]}`;
}
