/**
 * The portal's calls to this member's drug supply routes (docs/api.md "Drug supply chain"), and
 * what their answers mean in words: the verification answer (`verdictOf`), a refused receipt's
 * findings (`receiptFindingsOf`), an alert's time left (`timeLeftText`), what was scanned for a
 * shipment or a receipt (`readItemLines`).
 */
import type { ProductIdentifier } from '../../../src/supply/gs1.js';
import type { SupplyAlert } from '../../../src/supply/notices.js';
import type { ShipmentSummary } from '../../../src/supply/shipmentList.js';
import type { AdditionalInfo, Finding, VerificationAnswer } from '../../../src/supply/verify.js';
import { ApiError, call } from './api.js';
import { readScan, verifyPath } from './supplyScan.js';

export type { ShipmentSummary, SupplyAlert };

/** A full pack identifier (what dispensing and returns need). */
export type Pack = Required<ProductIdentifier>;
/** A unit by its key. */
export interface UnitKey {
  gtin: string;
  serial: string;
}

/** `GET /supply/verify/…`: the responder's LMVP answer plus who answered. */
export interface Verification extends VerificationAnswer {
  responder: { address: string; name: string };
}

/** Staff credentials and who is called, for messages. */
export interface SupplyCaller {
  token: string;
  /** This member's name ("Main Street Pharmacy"). */
  who: string;
}

const here = () => window.location.origin;
const post = <T>(c: SupplyCaller, path: string, body: unknown, timeoutMs = 90_000) =>
  call<T>(here(), path, { method: 'POST', token: c.token, body, who: c.who, timeoutMs });

/** Verify a pack at this node (which asks the GTIN's responder). */
export function verifyPack(c: SupplyCaller, id: ProductIdentifier & { lot: string; serial: string }) {
  return call<Verification>(here(), verifyPath(id), { token: c.token, who: c.who, timeoutMs: 60_000 });
}

/** Who a dispense is for (`Patient/{id}`, and optionally that patient's `MedicationRequest/{id}`). */
export interface DispenseTo {
  patient?: string;
  medicationRequest?: string;
}

/** Dispense a verified, saleable pack (resolves once on chain), optionally to a named patient. */
export function dispensePack(c: SupplyCaller, p: Pack, to: DispenseTo = {}) {
  return post<{
    dispensed: true;
    verification: Verification;
    txHash: string | null;
    medicationDispense?: string;
  }>(c, '/supply/dispense', { ...pick(p), ...to });
}

/** A saleable return received here, verified before it goes back to stock (`POST /supply/return`). */
export function returnPack(c: SupplyCaller, p: Pack) {
  return post<{ returned: true; saleable: true; id: string; verification: Verification }>(
    c,
    '/supply/return',
    pick(p),
  );
}

/** This node's open supply alerts (illegitimate-product notices), soonest deadline first. */
export async function listAlerts(c: SupplyCaller): Promise<SupplyAlert[]> {
  const r = await call<{ alerts: SupplyAlert[] }>(here(), '/supply/alerts', { token: c.token, who: c.who });
  return r.alerts;
}

/** A recalled lot this member holds units of (`GET /supply/recalls`). */
export interface RecalledLot {
  gtin: string;
  lot: string;
  expiry: string;
  units: UnitKey[];
}

/** The recalled lots this member holds now, read on chain by its node. */
export async function listRecalledLots(c: SupplyCaller): Promise<RecalledLot[]> {
  const r = await call<{ lots: RecalledLot[] }>(here(), '/supply/recalls', { token: c.token, who: c.who });
  return r.lots;
}

/** Acknowledge one alert (closes it). */
export function acknowledgeAlert(c: SupplyCaller, id: string) {
  return post<{ id: string; acknowledged: true; acknowledgedAt: string }>(
    c,
    `/supply/alerts/${encodeURIComponent(id)}/ack`,
    {},
    20_000,
  );
}

/** The manufacturer recalls a lot (resolves once on chain). */
export function recallLot(c: SupplyCaller, gtin: string, lot: string) {
  return post<{ gtin: string; lot: string; recalled: true; txHash: string | null }>(c, '/supply/recall', {
    gtin,
    lot,
  });
}

/** What a commissioning run asks for (`POST /supply/commission`). */
export interface CommissionRequest {
  gtin: string;
  lot: string;
  /** YYMMDD. */
  expiry: string;
  count: number;
  caseSize?: number;
}

/** What a commissioning run made. */
export interface CommissionResult {
  gtin: string;
  lot: string;
  expiry: string;
  batch: number;
  count: number;
  txHash: string;
  eventHash: string;
  units: Pack[];
  cases: { sscc: string; units: UnitKey[] }[];
}

/** Commission a run of units (resolves once on chain). */
export function commissionUnits(c: SupplyCaller, r: CommissionRequest) {
  return post<CommissionResult>(c, '/supply/commission', r, 120_000);
}

/** What a shipment sends (`POST /supply/ship`): to a member, units by GTIN + serial and/or cases by SSCC. */
export interface ShipRequest {
  to: string;
  units?: UnitKey[];
  cases?: string[];
}

/** What the node answered for a shipment. */
export interface ShipResult {
  shipment: string;
  to: { address: string; name: string };
  units: number;
  cases: string[];
  /** The pallets shipped (their cases are in `cases`). */
  pallets?: string[];
  txHashes: string[];
  delivered: boolean;
  message?: string;
}

/** Ship units or cases to a member (custody moves on chain; the receiver gets the notice). */
export function shipUnits(c: SupplyCaller, r: ShipRequest) {
  return post<ShipResult>(c, '/supply/ship', r, 120_000);
}

/** What the node answered when a shipment notice was sent again. */
export interface ResendResult {
  shipment: string;
  to: { address: string; name: string };
  delivered: boolean;
  message?: string;
}

/** Send a shipment's notice to its receiver again (one it did not take). */
export function resendShipment(c: SupplyCaller, shipment: string) {
  return post<ResendResult>(c, `/supply/shipments/${encodeURIComponent(shipment)}/resend`, {}, 60_000);
}

/** This member's shipments of one direction, newest first. */
export async function listShipments(c: SupplyCaller, direction: 'in' | 'out'): Promise<ShipmentSummary[]> {
  const r = await call<{ shipments: ShipmentSummary[] }>(here(), `/supply/shipments?direction=${direction}`, {
    token: c.token,
    who: c.who,
  });
  return r.shipments;
}

/** A receipt: everything announced (`shipment` alone), or what was scanned. */
export interface ReceiveRequest {
  shipment?: string;
  cases?: string[];
  units?: UnitKey[];
}

/** Receive a shipment; a mismatch throws an ApiError whose findings `receiptFindingsOf` reads. */
export function receiveShipment(c: SupplyCaller, r: ReceiveRequest) {
  return post<{ received: true; shipment: string; units: number; cases: string[] }>(c, '/supply/receive', r);
}

/** A quarantine, clearance or illegitimate determination: one unit (serial) or a lot. */
export interface IncidentRequest {
  gtin: string;
  serial?: string;
  lot?: string;
  reason: string;
}

/** What the node answered for an incident step. */
export interface IncidentResult {
  id: string;
  gtin: string;
  lot: string;
  serials: string[];
  status: string;
  txHash: string | null;
  notice?: { id: string; deadline: string };
  notified?: { member: string; name: string; delivered: boolean; error?: string }[];
}

/** Mark a held pack (or lot) Suspect; clear it; or declare it illegitimate (the manufacturer). */
export function incidentStep(
  c: SupplyCaller,
  step: 'quarantine' | 'clear' | 'illegitimate',
  r: IncidentRequest,
) {
  return post<IncidentResult>(c, `/supply/${step}`, r);
}

const pick = (p: Pack): Pack => ({ gtin: p.gtin, serial: p.serial, lot: p.lot, expiry: p.expiry });

/** What the LMVP failure reasons mean, for the pharmacist. */
const REASON_WORDS: Record<string, string> = {
  No_match_GTIN_Serial: 'this GTIN and serial were never commissioned by the manufacturer',
  No_match_GTIN_Serial_Lot: 'the lot on the pack is not the lot of this serial',
  No_match_GTIN_Serial_Expiry: 'the expiry on the pack is not the expiry of this serial',
  No_match_GTIN_Serial_Lot_Expiry: 'neither the lot nor the expiry on the pack match this serial',
  'Not_for_re-distribution': 'the pack must not be sold or dispensed',
};

const FINDING_WORDS: Record<Finding, string> = {
  'not-commissioned': 'never commissioned',
  'lot-mismatch': 'lot does not match',
  'expiry-mismatch': 'expiry does not match',
  illegitimate: 'determined illegitimate',
  suspect: 'marked suspect',
  destroyed: 'recorded as destroyed',
  'already-dispensed': 'already dispensed (this may be a copy of a genuine code)',
  'seen-at-two-places': 'scanned at two places',
  'not-shipped-to-requester': 'not shipped to this member',
  recalled: 'its lot is recalled',
  expired: 'expired',
};

/** A verification answer in words: one headline, the GS1 codes, and every finding. Pure. */
export interface Verdict {
  tone: 'ok' | 'bad';
  headline: string;
  reason?: { code: string; words: string };
  info?: AdditionalInfo;
  findings: string[];
}

export function verdictOf(v: VerificationAnswer): Verdict {
  const findings = v.findings.map((f) => FINDING_WORDS[f] ?? f);
  const reasonCode = v.data.verificationFailureReason;
  const reason = reasonCode ? { code: reasonCode, words: REASON_WORDS[reasonCode] ?? reasonCode } : undefined;
  const info = v.data.additionalInfo;
  const base = { ...(reason ? { reason } : {}), ...(info ? { info } : {}), findings };
  if (v.saleable) return { tone: 'ok', headline: 'Verified: genuine and saleable', ...base };
  if (v.data.verified)
    return {
      tone: 'bad',
      headline: `Verified, but ${info ?? 'not saleable'}: do not dispense`,
      ...base,
    };
  return {
    tone: 'bad',
    headline: `Not verified${info ? ` (${info})` : ''}: do not dispense; set the pack aside`,
    ...base,
  };
}

/** One finding of a refused receipt (docs/api.md: one OperationOutcome issue per finding). */
export interface ReceiptFinding {
  /** `case-contents`, `case-missing`, `unit-missing`, `diverted`, … */
  code: string;
  /** The code in words. */
  title: string;
  /** What to do, as the node said it. */
  text: string;
  /** The SSCC or `gtin/serial` it is about. */
  item: string;
  /** For an opened case: unit Digital Links missing, unexpected, scanned twice. */
  missing: string[];
  unexpected: string[];
  duplicates: string[];
}

const RECEIPT_SYSTEM = 'https://medchain.example/supply-receipt';

const RECEIPT_WORDS: Record<string, string> = {
  'case-contents': 'Case contents differ from its packing record',
  'case-missing': 'Case announced but not scanned',
  'case-not-in-shipment': 'Case not in this shipment',
  'unit-missing': 'Unit announced but not scanned',
  'unit-not-in-shipment': 'Unit not in this shipment',
  diverted: 'Diverted: this unit was not shipped to you',
  'not-commissioned': 'Never commissioned by its manufacturer',
  'not-in-custody': 'The chain shows another custodian',
};

const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];

/**
 * The findings of a refused receipt (a 409 OperationOutcome from `POST /supply/receive`), or
 * null when `err` is some other failure. Pure.
 */
export function receiptFindingsOf(err: unknown): ReceiptFinding[] | null {
  if (!(err instanceof ApiError) || err.status !== 409) return null;
  const o = err.body as
    | {
        resourceType?: string;
        issue?: {
          details?: { coding?: { system?: string; code?: string }[]; text?: string };
          expression?: string[];
          diagnostics?: string;
        }[];
      }
    | undefined;
  if (o?.resourceType !== 'OperationOutcome' || !Array.isArray(o.issue)) return null;
  const out: ReceiptFinding[] = [];
  for (const i of o.issue) {
    const coding = i.details?.coding?.find((c) => c.system === RECEIPT_SYSTEM);
    if (!coding?.code) continue;
    let d: Record<string, unknown> = {};
    try {
      d = i.diagnostics ? (JSON.parse(i.diagnostics) as Record<string, unknown>) : {};
    } catch {
      d = {};
    }
    out.push({
      code: coding.code,
      title: RECEIPT_WORDS[coding.code] ?? coding.code,
      text: i.details?.text ?? '',
      item: i.expression?.[0] ?? '',
      missing: strings(d.missing),
      unexpected: strings(d.unexpected),
      duplicates: strings(d.duplicates),
    });
  }
  return out.length > 0 ? out : null;
}

const HOUR = 3_600_000;
const MINUTE = 60_000;
const span = (ms: number) => {
  const h = Math.floor(ms / HOUR);
  const m = Math.floor((ms % HOUR) / MINUTE);
  return h > 0 ? `${h} h ${m} min` : `${m} min`;
};

/** An alert's time left ("23 h 59 min left"), or how long it is overdue ("overdue by 2 h 5 min"). Pure. */
export function timeLeftText(deadline: string, nowMs: number): { text: string; overdue: boolean } {
  const left = Date.parse(deadline) - nowMs;
  if (Number.isNaN(left)) return { text: 'no deadline', overdue: false };
  if (left > 0) return { text: `${span(left)} left`, overdue: false };
  return { text: `overdue by ${span(-left)}`, overdue: true };
}

/**
 * What was scanned for a shipment or a receipt, one item a line: an 18-digit SSCC (a case label)
 * or a unit's code (GS1 element string or Digital Link, read by the node's own parser). Blank
 * lines are skipped; the first line that does not read is named. Pure.
 */
export function readItemLines(
  text: string,
): { ok: true; cases: string[]; units: UnitKey[] } | { ok: false; message: string } {
  const cases: string[] = [];
  const units: UnitKey[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line) continue;
    if (/^(00)?\d{18}$/.test(line)) {
      cases.push(line.slice(-18));
      continue;
    }
    const r = readScan(line);
    if (!r.ok || r.id.serial === undefined)
      return {
        ok: false,
        message: `Line ${i + 1}: ${r.ok ? 'the code has no serial number' : r.message.replace(/\.$/, '')}`,
      };
    units.push({ gtin: r.id.gtin, serial: r.id.serial });
  }
  if (cases.length === 0 && units.length === 0)
    return { ok: false, message: 'Scan at least one case or unit' };
  return { ok: true, cases, units };
}

/** Why a typed `Patient/{id}` or `MedicationRequest/{id}` reference is not one, or undefined. Pure. */
export function referenceError(v: string, type: 'Patient' | 'MedicationRequest'): string | undefined {
  if (v === '') return undefined;
  return new RegExp(`^${type}/[A-Za-z0-9\\-.]{1,64}$`).test(v)
    ? undefined
    : `Give the ${type === 'Patient' ? 'patient' : 'prescription'} as ${type}/{id}`;
}
