/**
 * The verification answer of a GTIN's responder (the manufacturer that commissioned it), shaped
 * as the GS1 Lightweight Messaging Standard for Verification of Product Identifiers (LMVP 1.x,
 * with the DSCSA implementation guideline's codes): `verified` says whether GTIN + serial (and the
 * lot and expiry asked about) match a commissioned unit; `verificationFailureReason` why not;
 * `additionalInfo` what the responder knows (Recalled, Expired, Suspect, Illegitimate).
 *
 * Pure: the unit record, the query and the time in, the answer out. Where LMVP has one
 * additionalInfo, every finding is also listed (`findings`) and `saleable` says whether the unit
 * may be dispensed or resold now; the portal and the dispense path act on that, not on `verified`.
 */
import { gs1DateEnd } from './gs1.js';

/** A unit's status as the ledger records it (DrugLedger.sol `Status`). */
export type UnitStatus = 'active' | 'dispensed' | 'recalled' | 'suspect' | 'illegitimate' | 'destroyed';

/** LMVP verificationFailureReason codes used here. */
export type VerificationFailureReason =
  | 'No_match_GTIN_Serial'
  | 'No_match_GTIN_Serial_Lot'
  | 'No_match_GTIN_Serial_Expiry'
  | 'No_match_GTIN_Serial_Lot_Expiry'
  | 'Not_for_re-distribution';

/** LMVP additionalInfo codes used here. */
export type AdditionalInfo = 'Recalled' | 'Expired' | 'Suspect' | 'Illegitimate';

/** Each rule that can fire, in the order the rule table checks them. */
export type Finding =
  | 'not-commissioned'
  | 'lot-mismatch'
  | 'expiry-mismatch'
  | 'illegitimate'
  | 'suspect'
  | 'destroyed'
  | 'already-dispensed'
  | 'seen-at-two-places'
  | 'not-shipped-to-requester'
  | 'recalled'
  | 'expired';

/** What the responder knows of one commissioned unit. */
export interface UnitRecord {
  gtin: string;
  serial: string;
  lot: string;
  /** GS1 date YYMMDD. */
  expiry: string;
  status: UnitStatus;
  /** The unit's lot is recalled (DrugLedger lot recall), whatever the unit's own status. */
  lotRecalled: boolean;
  /** The member that holds the unit now. */
  custodian: string;
  /** The member an open shipment is going to, until it receives it. */
  shippedTo?: string;
  /** Recent verification requests for this unit: who asked and when (ms since the epoch). */
  recentScans?: readonly { by: string; at: number }[];
}

/** A verification request (LMVP request: GTIN, serial, optionally lot and expiry) and who sends it. */
export interface VerificationQuery {
  gtin: string;
  serial: string;
  lot?: string;
  expiry?: string;
  /** The trading partner asking (a member; requests are member-signed). */
  requester: string;
  corrUUID?: string;
}

/** An LMVP verification response, plus medchain's `saleable` and `findings`. */
export interface VerificationAnswer {
  responderGLN: string;
  verificationTimestamp: string;
  corrUUID?: string;
  data: {
    verified: boolean;
    verificationFailureReason?: VerificationFailureReason;
    additionalInfo?: AdditionalInfo;
  };
  saleable: boolean;
  findings: Finding[];
}

export interface VerifyOptions {
  responderGLN: string;
  /** How far back a scan by a member outside the unit's custody makes it suspect. Default 30 days. */
  cloneWindowMs?: number;
}

const DAY = 86_400_000;

/** Findings that make a unit Suspect (the identifier is genuine, the physical pack is doubtful). */
const SUSPECT: readonly Finding[] = [
  'suspect',
  'destroyed',
  'already-dispensed',
  'seen-at-two-places',
  'not-shipped-to-requester',
];

/**
 * The rule table: answer `query` about `unit` (undefined when the GTIN + serial was never
 * commissioned) at `now`.
 */
export function verify(
  unit: UnitRecord | undefined,
  query: VerificationQuery,
  now: Date,
  opts: VerifyOptions,
): VerificationAnswer {
  const answer = (
    verified: boolean,
    findings: Finding[],
    reason?: VerificationFailureReason,
    info?: AdditionalInfo,
  ): VerificationAnswer => ({
    responderGLN: opts.responderGLN,
    verificationTimestamp: now.toISOString(),
    ...(query.corrUUID === undefined ? {} : { corrUUID: query.corrUUID }),
    data: {
      verified,
      ...(reason === undefined ? {} : { verificationFailureReason: reason }),
      ...(info === undefined ? {} : { additionalInfo: info }),
    },
    saleable: verified && findings.length === 0,
    findings,
  });

  if (!unit || unit.gtin !== query.gtin || unit.serial !== query.serial) {
    return answer(false, ['not-commissioned'], 'No_match_GTIN_Serial');
  }
  const lotBad = query.lot !== undefined && query.lot !== unit.lot;
  const expBad = query.expiry !== undefined && query.expiry !== unit.expiry;
  if (lotBad || expBad) {
    const findings: Finding[] = [
      ...(lotBad ? ['lot-mismatch' as const] : []),
      ...(expBad ? ['expiry-mismatch' as const] : []),
    ];
    const reason =
      lotBad && expBad
        ? 'No_match_GTIN_Serial_Lot_Expiry'
        : lotBad
          ? 'No_match_GTIN_Serial_Lot'
          : 'No_match_GTIN_Serial_Expiry';
    return answer(false, findings, reason);
  }

  const findings: Finding[] = [];
  if (unit.status === 'illegitimate') findings.push('illegitimate');
  if (unit.status === 'suspect') findings.push('suspect');
  if (unit.status === 'destroyed') findings.push('destroyed');
  if (unit.status === 'dispensed') findings.push('already-dispensed');
  const holders = new Set([unit.custodian, ...(unit.shippedTo === undefined ? [] : [unit.shippedTo])]);
  const window = opts.cloneWindowMs ?? 30 * DAY;
  const elsewhere = (unit.recentScans ?? []).some(
    (s) => !holders.has(s.by) && now.getTime() - s.at <= window,
  );
  if (elsewhere) findings.push('seen-at-two-places');
  if (!holders.has(query.requester)) findings.push('not-shipped-to-requester');
  if (unit.status === 'recalled' || unit.lotRecalled) findings.push('recalled');
  if (now.getTime() >= gs1DateEnd(unit.expiry, now)) findings.push('expired');

  if (findings.includes('illegitimate'))
    return answer(false, findings, 'Not_for_re-distribution', 'Illegitimate');
  if (findings.some((f) => SUSPECT.includes(f)))
    return answer(false, findings, 'Not_for_re-distribution', 'Suspect');
  // The identifier is genuine: verified, with what the holder must know before dispensing.
  if (findings.includes('recalled')) return answer(true, findings, undefined, 'Recalled');
  if (findings.includes('expired')) return answer(true, findings, undefined, 'Expired');
  return answer(true, findings);
}

/** How the contents scanned out of a case compare with what its aggregation event put in. */
export interface CaseCheck {
  matches: boolean;
  /** Aggregated into the case but not found in it. */
  missing: string[];
  /** Found in the case but never aggregated into it. */
  unexpected: string[];
  /** Scanned more than once (the same serial twice in one case is a clone). */
  duplicates: string[];
}

/** Compare a case's scanned contents (unit EPCs) with its aggregation (the childEPCs packed into it). */
export function checkCaseContents(aggregated: readonly string[], scanned: readonly string[]): CaseCheck {
  const packed = new Set(aggregated);
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const epc of scanned) {
    if (seen.has(epc)) duplicates.add(epc);
    seen.add(epc);
  }
  const missing = [...packed].filter((e) => !seen.has(e)).sort();
  const unexpected = [...seen].filter((e) => !packed.has(e)).sort();
  const dup = [...duplicates].sort();
  return {
    matches: missing.length + unexpected.length + dup.length === 0,
    missing,
    unexpected,
    duplicates: dup,
  };
}
