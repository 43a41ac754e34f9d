/**
 * What a pharmacist scans or pastes, read in the browser with the node's own GS1 parser
 * (src/supply/gs1.ts, the one module both sides use): a GS1 element string (`01…17…10…<GS>21…`)
 * or a GS1 Digital Link URI. A scanner delivers FNC1 as ASCII 29; typed by hand it may be a
 * visible stand-in (`<GS>`, `\x1d`), which is turned into ASCII 29 first. Pure.
 */
import { GS, type ProductIdentifier, parseScan, writeDigitalLink } from '../../../src/supply/gs1.js';
import { Gs1CheckDigitError } from '../../../src/supply/supplyErrors.js';

/**
 * Visible stand-ins for the <GS> separator people type when they cannot type ASCII 29:
 * `<GS>`, `[GS]`, `{GS}` (any case), and the escapes `\x1d`, `\u001d`, `\035`, `\029`.
 */
const GS_STAND_INS = /<gs>|\[gs\]|\{gs\}|\\x1d|\\u001d|\\035|\\029/gi;

/** The text with every visible <GS> stand-in replaced by ASCII 29, and outer white space trimmed. */
export function normalizeScan(text: string): string {
  return text.trim().replace(GS_STAND_INS, GS);
}

/** A scan read: the identifier, or what is wrong with it in words (`kind` says which rule failed). */
export type ScanReading =
  | { ok: true; id: ProductIdentifier; form: 'element-string' | 'digital-link' }
  | { ok: false; kind: 'empty' | 'check-digit' | 'syntax'; message: string };

/** Read a pasted or scanned pack; never throws. */
export function readScan(text: string): ScanReading {
  const s = normalizeScan(text);
  if (s.length === 0) return { ok: false, kind: 'empty', message: 'Scan or paste the code on the pack.' };
  const form = /^(https?:\/\/|\/)/i.test(s) ? 'digital-link' : 'element-string';
  try {
    const id = parseScan(s);
    if (id.serial === undefined || id.lot === undefined) {
      return {
        ok: false,
        kind: 'syntax',
        message: `This Digital Link has no ${id.lot === undefined ? 'lot (/10/…)' : 'serial (/21/…)'}: a pack is verified by GTIN, lot and serial.`,
      };
    }
    return { ok: true, id, form };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof Gs1CheckDigitError)
      return { ok: false, kind: 'check-digit', message: `Wrong check digit: ${message}.` };
    return { ok: false, kind: 'syntax', message: `${capitalize(message)}.` };
  }
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * The verify route at the pharmacist's own node for a pack: the GS1 Digital Link path
 * `/supply/verify/01/{gtin}/10/{lot}/21/{serial}?exp=YYMMDD` (docs/api.md), values
 * percent-encoded as GS1 Digital Link §4.9 allows.
 */
export function verifyPath(id: ProductIdentifier & { lot: string; serial: string }): string {
  // writeDigitalLink checks each value and writes lot before serial, the order the route wants.
  const path = writeDigitalLink(
    { gtin: id.gtin, lot: id.lot, serial: id.serial },
    { domain: '/supply/verify' },
  );
  return id.expiry === undefined ? path : `${path}?exp=${id.expiry}`;
}

/** A GS1 date YYMMDD as a day people read ("30 Jun 2028"; DD 00 is the month, "Jun 2028"). */
export function gs1DateText(yymmdd: string, now: Date = new Date()): string {
  const yy = Number(yymmdd.slice(0, 2));
  const current = now.getUTCFullYear();
  const diff = yy - (current % 100);
  let century = Math.floor(current / 100);
  if (diff >= 51) century -= 1;
  else if (diff <= -50) century += 1;
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const month = months[Number(yymmdd.slice(2, 4)) - 1] ?? '?';
  const day = Number(yymmdd.slice(4, 6));
  return `${day === 0 ? '' : `${day} `}${month} ${century * 100 + yy}`;
}

/** What is wrong with a GTIN and lot typed for a recall (undefined when both follow GS1 rules). */
export function lotError(gtin: string, lot: string): string | undefined {
  try {
    writeDigitalLink({ gtin: gtin.trim(), lot: lot.trim() });
    return undefined;
  } catch (err) {
    return capitalize(err instanceof Error ? err.message : String(err));
  }
}
