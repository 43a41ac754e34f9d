/**
 * The constrained canonical GS1 Digital Link of an EPC URI or a Digital Link, as the EPCIS event
 * hash needs it (CBV 2.0 §8.9 rules 17-18): `https://id.gs1.org`, no query, only the finest level
 * of identification (01+21, 01+10, 01, 00, 414(+254), 417, 253). Undefined for any other value.
 * Only the GS1 keys medchain's events use are converted; others pass through unchanged.
 */
import { gs1CheckDigit } from './gs1CheckDigit.js';

const ID = 'https://id.gs1.org';

/** EPC URIs escape no more than RFC 3986 needs; Digital Link also wants these encoded (DL Table 7-1). */
const encodeEpcSerial = (s: string) =>
  s.replace(/[!()*+,:]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function fromEpcUri(uri: string): string | undefined {
  let m = /^urn:epc:id:sgtin:(\d{6,12})\.(\d{1,7})\.(.{1,60})$/.exec(uri);
  if (m && (m[1] as string).length + (m[2] as string).length === 13) {
    const [, cp = '', ir = '', serial = ''] = m;
    const raw = `${ir.slice(0, 1)}${cp}${ir.slice(1)}`;
    return `${ID}/01/${raw}${gs1CheckDigit(raw)}/21/${encodeEpcSerial(serial)}`;
  }
  m = /^urn:epc:class:lgtin:(\d{6,12})\.(\d{1,7})\.(.{1,60})$/.exec(uri);
  if (m && (m[1] as string).length + (m[2] as string).length === 13) {
    const [, cp = '', ir = '', lot = ''] = m;
    const raw = `${ir.slice(0, 1)}${cp}${ir.slice(1)}`;
    return `${ID}/01/${raw}${gs1CheckDigit(raw)}/10/${encodeEpcSerial(lot)}`;
  }
  m = /^urn:epc:idpat:sgtin:(\d{6,12})\.(\d{1,7})\.\*$/.exec(uri);
  if (m && (m[1] as string).length + (m[2] as string).length === 13) {
    const [, cp = '', ir = ''] = m;
    const raw = `${ir.slice(0, 1)}${cp}${ir.slice(1)}`;
    return `${ID}/01/${raw}${gs1CheckDigit(raw)}`;
  }
  m = /^urn:epc:id:sscc:(\d{6,12})\.(\d{5,11})$/.exec(uri);
  if (m && (m[1] as string).length + (m[2] as string).length === 17) {
    const [, cp = '', sr = ''] = m;
    const raw = `${sr.slice(0, 1)}${cp}${sr.slice(1)}`;
    return `${ID}/00/${raw}${gs1CheckDigit(raw)}`;
  }
  m = /^urn:epc:id:(sgln|pgln):(\d{6,12})\.(\d{0,6})(?:\.(.{1,20}))?$/.exec(uri);
  if (m && (m[2] as string).length + (m[3] as string).length === 12) {
    const [, kind, cp = '', ref = '', ext] = m;
    const raw = `${cp}${ref}`;
    const gln = `${raw}${gs1CheckDigit(raw)}`;
    if (kind === 'pgln') return ext === undefined ? `${ID}/417/${gln}` : undefined;
    if (ext === undefined) return undefined;
    return ext === '0' ? `${ID}/414/${gln}` : `${ID}/414/${gln}/254/${encodeEpcSerial(ext)}`;
  }
  m = /^urn:epc:id:gdti:(\d{6,12})\.(\d{0,6})\.(.{0,17})$/.exec(uri);
  if (m && (m[1] as string).length + (m[2] as string).length === 12) {
    const [, cp = '', dt = '', serial = ''] = m;
    const raw = `${cp}${dt}`;
    return `${ID}/253/${raw}${gs1CheckDigit(raw)}${encodeEpcSerial(serial)}`;
  }
  return undefined;
}

/** A Digital Link URI (any domain and path prefix) cut down to its finest identification. */
function constrainDigitalLink(uri: string): string | undefined {
  const m = /^https?:\/\/[^/?#]+(?:\/[^?#]*?)?(\/(?:01|00|414|417|253)\/[^?#]*)(?:[?#].*)?$/.exec(uri);
  if (!m) return undefined;
  const segs = (m[1] as string).split('/').slice(1);
  const [key, value = ''] = segs;
  const pairs = new Map<string, string>();
  for (let i = 2; i + 1 < segs.length; i += 2) pairs.set(segs[i] as string, segs[i + 1] as string);
  switch (key) {
    case '01': {
      if (!/^(\d{8}|\d{12,14})$/.test(value)) return undefined;
      const gtin = value.padStart(14, '0');
      const serial = pairs.get('21');
      if (serial !== undefined) return `${ID}/01/${gtin}/21/${serial}`;
      const lot = pairs.get('10');
      return lot !== undefined ? `${ID}/01/${gtin}/10/${lot}` : `${ID}/01/${gtin}`;
    }
    case '00':
      return /^\d{18}$/.test(value) ? `${ID}/00/${value}` : undefined;
    case '414': {
      if (!/^\d{13}$/.test(value)) return undefined;
      const ext = pairs.get('254');
      return ext === undefined ? `${ID}/414/${value}` : `${ID}/414/${value}/254/${ext}`;
    }
    default:
      return `${ID}/${key}/${value}`;
  }
}

/** The constrained canonical Digital Link of `value`, or undefined when it carries no GS1 key. */
export function canonicalGs1Uri(value: string): string | undefined {
  return value.startsWith('urn:epc:') ? fromEpcUri(value) : constrainDigitalLink(value);
}
