/**
 * The portal's calls to this member's drug supply routes (docs/api.md "Drug supply chain"), and
 * the verification answer put in words. Routes still being built elsewhere (alerts, returns,
 * commissioning, shipping) may be missing at an older node: their calls resolve to
 * `NOT_AVAILABLE` instead of failing, so a view can say so and keep working.
 */
import type { ProductIdentifier } from '../../../src/supply/gs1.js';
import type { AdditionalInfo, Finding, VerificationAnswer } from '../../../src/supply/verify.js';
import { ApiError, call } from './api.js';
import { verifyPath } from './supplyScan.js';

/** A full pack identifier (what dispensing and returns need). */
export type Pack = Required<ProductIdentifier>;

/** `GET /supply/verify/…`: the responder's LMVP answer plus who answered. */
export interface Verification extends VerificationAnswer {
  responder: { address: string; name: string };
}

/** One alert at this node (`GET /supply/alerts`). */
export interface SupplyAlert {
  id: string;
  kind: string;
  gtin: string;
  serial?: string;
  lot?: string;
  /** Who raised it (a member's name or address). */
  from: string;
  receivedAt: number | string;
  deadline: number | string;
  overdue: boolean;
  acknowledged: boolean;
}

/** The route is not served by this node (an older node, or the feature is not built there). */
export const NOT_AVAILABLE = Symbol('not-available');
export type Maybe<T> = T | typeof NOT_AVAILABLE;

/**
 * True when a failure is the node saying it has no such route (its not-found handler answers
 * "no route for …"), not a 404 of the domain ("this member holds no unit of the lot").
 */
export function isRouteMissing(err: unknown): boolean {
  return err instanceof ApiError && err.status === 404 && /\bno route for\b/i.test(err.message);
}

/** Staff credentials and who is called, for messages. */
export interface SupplyCaller {
  token: string;
  /** This member's name ("Main Street Pharmacy"). */
  who: string;
}

const here = () => window.location.origin;

async function optional<T>(f: () => Promise<T>): Promise<Maybe<T>> {
  try {
    return await f();
  } catch (err) {
    if (isRouteMissing(err)) return NOT_AVAILABLE;
    throw err;
  }
}

/** Verify a pack at this node (which asks the GTIN's responder). */
export function verifyPack(c: SupplyCaller, id: ProductIdentifier & { lot: string; serial: string }) {
  return call<Verification>(here(), verifyPath(id), { token: c.token, who: c.who, timeoutMs: 60_000 });
}

/** Dispense a verified, saleable pack (resolves once on chain). */
export function dispensePack(c: SupplyCaller, p: Pack) {
  return call<{ dispensed: true; verification: Verification; txHash: string | null }>(
    here(),
    '/supply/dispense',
    { method: 'POST', token: c.token, body: pick(p), who: c.who, timeoutMs: 90_000 },
  );
}

/** A saleable return: verified before it goes back to stock (`POST /supply/return`). */
export function returnPack(c: SupplyCaller, p: Pack) {
  return optional(() =>
    call<Record<string, unknown>>(here(), '/supply/return', {
      method: 'POST',
      token: c.token,
      body: pick(p),
      who: c.who,
      timeoutMs: 90_000,
    }),
  );
}

/** This node's supply alerts (recalls, illegitimate-product notices…), or NOT_AVAILABLE. */
export function listAlerts(c: SupplyCaller) {
  return optional(async () => {
    const r = await call<{ alerts?: SupplyAlert[] }>(here(), '/supply/alerts', {
      token: c.token,
      who: c.who,
    });
    return r.alerts ?? [];
  });
}

/** Acknowledge one alert. */
export function acknowledgeAlert(c: SupplyCaller, id: string) {
  return optional(() =>
    call<unknown>(here(), `/supply/alerts/${encodeURIComponent(id)}/ack`, {
      method: 'POST',
      token: c.token,
      body: {},
      who: c.who,
    }),
  );
}

/** The manufacturer recalls a lot (resolves once on chain). */
export function recallLot(c: SupplyCaller, gtin: string, lot: string) {
  return call<{ gtin: string; lot: string; recalled: true; txHash: string | null }>(
    here(),
    '/supply/recall',
    { method: 'POST', token: c.token, body: { gtin, lot }, who: c.who, timeoutMs: 90_000 },
  );
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

/** Commission a run of units, or NOT_AVAILABLE. */
export function commissionUnits(c: SupplyCaller, r: CommissionRequest) {
  return optional(() =>
    call<Record<string, unknown>>(here(), '/supply/commission', {
      method: 'POST',
      token: c.token,
      body: r,
      who: c.who,
      timeoutMs: 120_000,
    }),
  );
}

/** What a shipment sends (`POST /supply/ship`): to a member, units by GTIN + serial or cases by SSCC. */
export type ShipRequest =
  | { to: string; units: { gtin: string; serial: string }[] }
  | { to: string; cases: string[] };

/** Ship units or cases to a member, or NOT_AVAILABLE. */
export function shipUnits(c: SupplyCaller, r: ShipRequest) {
  return optional(() =>
    call<Record<string, unknown>>(here(), '/supply/ship', {
      method: 'POST',
      token: c.token,
      body: r,
      who: c.who,
      timeoutMs: 120_000,
    }),
  );
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
