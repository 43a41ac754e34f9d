/**
 * The member-signed messages of a drug shipment between trading partners (issue 14), and their
 * strict parsers: any field not listed here is a 400, so nothing rides along.
 *
 *   POST /federation/supply/party     {}  ->  {gln}
 *        the receiver's GLN, which the sender's shipping event names as destination party
 *   POST /federation/supply/shipment  the shipment notice, sent once DrugLedger moved custody:
 *        id        the sender's shipment id (a UUID; also the despatch advice number)
 *        to        the receiver's chain address
 *        fromGln   the sender's GLN (source party of both events)
 *        shippedAt when it left (ISO 8601)
 *        shippingEventHash  the CBV 2.0 hash of the sender's shipping event (on chain with the transfer)
 *        units     [{gtin, serial, lot, expiry, commitment, batch, proof}]: each unit's product
 *                  identifier and how to name it on chain (its keyed commitment, batch, Merkle proof),
 *                  which the receiver needs to check custody now and to ship, dispense or verify later
 *        cases     [{sscc, units: [{gtin, serial}]}]: the aggregation of each case shipped; every
 *                  unit named is in `units`, and in one case at most; units in no case travel loose
 *        pallets   (only when a pallet is shipped) [{sscc, cases: [SSCC]}]: the cases packed on each
 *                  pallet; every case named is in `cases`, and on one pallet at most
 *
 * What the receiver checks against the chain is src/supply/shipmentInbox.ts.
 */
import { type Address, getAddress, type Hex, isAddress } from 'viem';
import { badRequest } from '../errors.js';
import { writeDigitalLink } from '../supply/gs1.js';
import { parseGln, parseSscc } from '../supply/gs1CheckDigit.js';

/** One unit as it travels. */
export interface WireShippedUnit {
  gtin: string;
  serial: string;
  lot: string;
  expiry: string;
  commitment: Hex;
  batch: number;
  proof: Hex[];
}

/** One case as it travels: its SSCC and what was packed in it. */
export interface WireCase {
  sscc: string;
  units: { gtin: string; serial: string }[];
}

/** One pallet as it travels: its SSCC and the cases packed on it. */
export interface WirePallet {
  sscc: string;
  cases: string[];
}

export interface ShipmentNotice {
  id: string;
  to: Address;
  fromGln: string;
  shippedAt: string;
  shippingEventHash: string;
  units: WireShippedUnit[];
  cases: WireCase[];
  /** Absent when no pallet is shipped (a notice without pallets reads as before they existed). */
  pallets?: WirePallet[];
}

/** At most this many units per shipment (each carries its Merkle proof: about 1 KB on the wire). */
export const MAX_SHIPMENT_UNITS = 2_000;
const MAX_PROOF = 32;
const HASH = /^0x[0-9a-f]{64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const EVENT_HASH = /^ni:\/\/\/sha-256;[0-9a-f]{64}\?ver=CBV2\.0$/;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function onlyKeys(
  v: Record<string, unknown>,
  allowed: readonly string[],
  at: string,
  optional: readonly string[] = [],
): void {
  for (const k of Object.keys(v))
    if (!allowed.includes(k) && !optional.includes(k))
      throw badRequest(`${at}: "${k.slice(0, 40)}" is not part of a shipment notice`);
  for (const k of allowed) if (!(k in v)) throw badRequest(`${at}: ${k} is missing`);
}

const str = (v: unknown, at: string): string => {
  if (typeof v !== 'string') throw badRequest(`${at} must be a string`);
  return v;
};

const hash = (v: unknown, at: string): Hex => {
  if (typeof v !== 'string' || !HASH.test(v))
    throw badRequest(`${at} must be 32 bytes, lower-case hex with 0x`);
  return v as Hex;
};

/** A unit key {gtin, serial} by the GS1 rules (check digit, character set). */
function unitKey(v: unknown, at: string): { gtin: string; serial: string } {
  if (!isObject(v)) throw badRequest(`${at} must be {gtin, serial}`);
  onlyKeys(v, ['gtin', 'serial'], at);
  const gtin = str(v.gtin, `${at}.gtin`);
  const serial = str(v.serial, `${at}.serial`);
  writeDigitalLink({ gtin, serial });
  if (gtin.length !== 14) throw badRequest(`${at}.gtin must be a GTIN-14`);
  return { gtin, serial };
}

const keyOf = (u: { gtin: string; serial: string }) => `${u.gtin}/${u.serial}`;

/** The body of `POST /federation/supply/shipment`. */
export const shipmentNoticeBody = (n: ShipmentNotice): string =>
  JSON.stringify({
    id: n.id,
    to: n.to,
    fromGln: n.fromGln,
    shippedAt: n.shippedAt,
    shippingEventHash: n.shippingEventHash,
    units: n.units.map((u) => ({
      gtin: u.gtin,
      serial: u.serial,
      lot: u.lot,
      expiry: u.expiry,
      commitment: u.commitment,
      batch: u.batch,
      proof: u.proof,
    })),
    cases: n.cases.map((c) => ({
      sscc: c.sscc,
      units: c.units.map((u) => ({ gtin: u.gtin, serial: u.serial })),
    })),
    ...(n.pallets && n.pallets.length > 0
      ? { pallets: n.pallets.map((p) => ({ sscc: p.sscc, cases: [...p.cases] })) }
      : {}),
  });

/** Parse a shipment notice; 400 naming the first bad field. */
export function parseShipmentNotice(body: unknown): ShipmentNotice {
  if (!isObject(body))
    throw badRequest('send a shipment notice {id, to, fromGln, shippedAt, shippingEventHash, units, cases}');
  onlyKeys(body, ['id', 'to', 'fromGln', 'shippedAt', 'shippingEventHash', 'units', 'cases'], 'shipment', [
    'pallets',
  ]);
  const id = str(body.id, 'shipment.id');
  if (!UUID.test(id)) throw badRequest('shipment.id must be a lower-case UUID');
  const to = str(body.to, 'shipment.to');
  if (!isAddress(to, { strict: false })) throw badRequest('shipment.to must be a chain address');
  const fromGln = parseGln(str(body.fromGln, 'shipment.fromGln'));
  const shippedAt = str(body.shippedAt, 'shipment.shippedAt');
  if (Number.isNaN(Date.parse(shippedAt))) throw badRequest('shipment.shippedAt must be an ISO 8601 time');
  const shippingEventHash = str(body.shippingEventHash, 'shipment.shippingEventHash');
  if (!EVENT_HASH.test(shippingEventHash))
    throw badRequest('shipment.shippingEventHash must be a CBV 2.0 event hash (ni:///sha-256;…?ver=CBV2.0)');
  if (!Array.isArray(body.units) || body.units.length === 0 || body.units.length > MAX_SHIPMENT_UNITS)
    throw badRequest(`shipment.units must list 1 to ${MAX_SHIPMENT_UNITS} units`);
  const seen = new Set<string>();
  const units = body.units.map((u, i): WireShippedUnit => {
    const at = `shipment.units[${i}]`;
    if (!isObject(u)) throw badRequest(`${at} must be an object`);
    onlyKeys(u, ['gtin', 'serial', 'lot', 'expiry', 'commitment', 'batch', 'proof'], at);
    const p = {
      gtin: str(u.gtin, `${at}.gtin`),
      serial: str(u.serial, `${at}.serial`),
      lot: str(u.lot, `${at}.lot`),
      expiry: str(u.expiry, `${at}.expiry`),
    };
    writeDigitalLink(p);
    if (p.gtin.length !== 14) throw badRequest(`${at}.gtin must be a GTIN-14`);
    if (seen.has(keyOf(p))) throw badRequest(`${at} is listed twice`);
    seen.add(keyOf(p));
    if (!Number.isSafeInteger(u.batch) || (u.batch as number) < 0 || (u.batch as number) >= 2 ** 32)
      throw badRequest(`${at}.batch must be a batch number`);
    if (!Array.isArray(u.proof) || u.proof.length > MAX_PROOF)
      throw badRequest(`${at}.proof must be a list of at most ${MAX_PROOF} hashes`);
    return {
      ...p,
      commitment: hash(u.commitment, `${at}.commitment`),
      batch: u.batch as number,
      proof: u.proof.map((h, k) => hash(h, `${at}.proof[${k}]`)),
    };
  });
  if (!Array.isArray(body.cases) || body.cases.length > MAX_SHIPMENT_UNITS)
    throw badRequest('shipment.cases must be a list');
  const packed = new Set<string>();
  const ssccs = new Set<string>();
  const cases = body.cases.map((c, i): WireCase => {
    const at = `shipment.cases[${i}]`;
    if (!isObject(c)) throw badRequest(`${at} must be an object`);
    onlyKeys(c, ['sscc', 'units'], at);
    const sscc = parseSscc(str(c.sscc, `${at}.sscc`));
    if (ssccs.has(sscc)) throw badRequest(`${at}: SSCC ${sscc} is listed twice`);
    ssccs.add(sscc);
    if (!Array.isArray(c.units) || c.units.length === 0)
      throw badRequest(`${at}.units must list the units packed`);
    const inCase = c.units.map((u, k) => {
      const key = unitKey(u, `${at}.units[${k}]`);
      if (!seen.has(keyOf(key))) throw badRequest(`${at}.units[${k}] is not among shipment.units`);
      if (packed.has(keyOf(key))) throw badRequest(`${at}.units[${k}] is packed in two cases`);
      packed.add(keyOf(key));
      return key;
    });
    return { sscc, units: inCase };
  });
  const pallets = body.pallets === undefined ? undefined : parsePallets(body.pallets, ssccs);
  return {
    id,
    to: getAddress(to),
    fromGln,
    shippedAt,
    shippingEventHash,
    units,
    cases,
    ...(pallets ? { pallets } : {}),
  };
}

/** The pallets of a notice: each an SSCC of its own holding cases listed in the notice, once each. */
function parsePallets(raw: unknown, caseSsccs: ReadonlySet<string>): WirePallet[] {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_SHIPMENT_UNITS)
    throw badRequest('shipment.pallets must list the pallets shipped (or be left out)');
  const onPallet = new Set<string>();
  const palletSsccs = new Set<string>();
  return raw.map((p, i): WirePallet => {
    const at = `shipment.pallets[${i}]`;
    if (!isObject(p)) throw badRequest(`${at} must be an object`);
    onlyKeys(p, ['sscc', 'cases'], at);
    const sscc = parseSscc(str(p.sscc, `${at}.sscc`));
    if (caseSsccs.has(sscc) || palletSsccs.has(sscc)) throw badRequest(`${at}: SSCC ${sscc} is listed twice`);
    palletSsccs.add(sscc);
    if (!Array.isArray(p.cases) || p.cases.length === 0)
      throw badRequest(`${at}.cases must list the cases packed on it`);
    const cases = p.cases.map((c, k) => {
      const inner = parseSscc(str(c, `${at}.cases[${k}]`));
      if (!caseSsccs.has(inner)) throw badRequest(`${at}.cases[${k}] is not among shipment.cases`);
      if (onPallet.has(inner)) throw badRequest(`${at}.cases[${k}] is on two pallets`);
      onPallet.add(inner);
      return inner;
    });
    return { sscc, cases };
  });
}

/** Parse the (empty) body of a party request. */
export function parsePartyRequest(body: unknown): void {
  if (!isObject(body) || Object.keys(body).length > 0)
    throw badRequest('a party request has an empty body {}');
}

/** Check a party answer {gln} (untrusted input). */
export function parsePartyAnswer(body: unknown): { gln: string } {
  if (!isObject(body) || Object.keys(body).some((k) => k !== 'gln') || typeof body.gln !== 'string')
    throw badRequest('the party answer is not {gln}');
  return { gln: parseGln(body.gln) };
}
